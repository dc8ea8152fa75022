import pytest


def test_an_unknown_api_path_answers_404_in_the_error_shape(client, db):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_an_unknown_page_is_a_plain_404(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing/", "/api/v1/no-such-thing", "/api/v1/", "/api/"])
@pytest.mark.parametrize("debug", [True, False])
def test_an_unknown_api_path_is_a_json_404_with_or_without_debug(client, db, settings, path, debug):
    settings.DEBUG = debug  # make run's default is on: Django's debug 404 page would be HTML
    for method in (client.get, client.post, client.delete):
        response = method(path)
        assert (response.status_code, response.json()["code"]) == (404, "not_found"), (method, path)


def test_a_known_api_path_without_its_slash_still_redirects(client, db):
    response = client.get("/api/v1/health")
    assert (response.status_code, response["Location"]) == (301, "/api/v1/health/")


def test_an_unknown_object_keeps_its_own_json_404(api, bob):
    response = api.as_user(bob).get("/api/v1/assets/NOPE/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
