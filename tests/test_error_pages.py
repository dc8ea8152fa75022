def test_an_unknown_api_path_answers_404_in_the_error_shape(client, db):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_an_unknown_page_is_a_plain_404(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_an_unknown_api_path_is_json_with_debug_on_too(client, db, settings):
    settings.DEBUG = True  # make run's default: Django's debug 404 page would be HTML
    response = client.get("/api/v1/no-such-thing/")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    # Without the trailing slash it is redirected first, as every API path is.
    response = client.get("/api/v1/no-such-thing", follow=True)
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_a_known_api_path_without_its_slash_still_redirects(client, db):
    response = client.get("/api/v1/health")
    assert (response.status_code, response["Location"]) == (301, "/api/v1/health/")
