"""Error pages: styled 403 and 404 pages inside the layout with a way back; /api/ keeps the JSON error
shape; a refusal logs one line, not a traceback."""

import logging

import pytest
from django.urls import reverse


def test_an_unknown_api_path_answers_404_in_the_error_shape(client, db):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_an_unknown_page_is_the_desks_404_page_inside_the_layout(login, bob, settings):
    settings.DEBUG = False
    response = login(bob).get("/no-such-page/", HTTP_REFERER="http://testserver/inventory/loans/")
    page = response.content.decode()
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")
    assert 'data-testid="error-page"' in page and "There is nothing here" in page
    assert 'class="navbar-brand"' in page and 'data-testid="whoami"' in page  # inside the layout
    assert f'href="{reverse("home")}">Back to your desk' in page
    assert 'href="http://testserver/inventory/loans/" data-testid="back"' in page
    assert "URLconf" not in page and "urlpatterns" not in page  # never the debug page's URL list


def test_a_missing_object_page_is_the_desks_404_page(login, bob, settings, db):
    settings.DEBUG = False
    response = login(bob).get(reverse("inventory:loan_detail", args=[999999]))
    assert response.status_code == 404 and "There is nothing here" in response.content.decode()


def test_the_way_back_is_never_another_site(login, bob, settings):
    settings.DEBUG = False
    page = login(bob).get("/no-such-page/", HTTP_REFERER="https://evil.example/").content.decode()
    assert "evil.example" not in page and 'data-testid="back"' not in page


def test_with_debug_on_an_unknown_page_is_still_a_404(client, db, settings):
    settings.DEBUG = True  # development: Django's own 404 page (make run leaves DEBUG off)
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("debug", [False, True])
def test_a_refused_page_is_the_desks_403_page_with_or_without_debug(login, alice, settings, debug):
    settings.DEBUG = debug
    response = login(alice).get(reverse("inventory:positions"))  # a trader on the ledger
    page = response.content.decode()
    assert response.status_code == 403 and response["Content-Type"].startswith("text/html")
    assert 'data-testid="error-page"' in page and "Your role does not allow this page" in page
    assert "signed in as <strong>alice</strong>" in page and "Back to your desk" in page
    assert "403 Forbidden" not in page and "Traceback" not in page


@pytest.mark.parametrize("debug", [False, True])
def test_a_refused_api_call_keeps_the_json_error_shape(api, alice, settings, debug):
    settings.DEBUG = debug
    response = api.as_user(alice).get("/api/v1/inventory/positions/")
    assert response.status_code == 403
    assert set(response.json()) >= {"code", "detail"}


@pytest.mark.parametrize("debug", [False, True])
def test_a_missing_api_object_keeps_the_json_error_shape(api, bob, settings, debug):
    settings.DEBUG = debug
    response = api.as_user(bob).get("/api/v1/loans/999999/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_a_refused_page_logs_one_line_not_a_traceback(login, alice, caplog):
    client = login(alice)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        client.get(reverse("inventory:positions"))
    records = [r for r in caplog.records if r.name == "django.request"]
    assert len(records) == 1
    assert records[0].exc_info is None and "Forbidden" in records[0].getMessage()
    assert "Traceback" not in caplog.text


def test_the_layout_links_a_favicon(login, bob, settings):
    from pathlib import Path

    page = login(bob).get(reverse("home")).content.decode()
    assert 'rel="icon" href="/static/favicon.svg"' in page
    assert (Path(settings.BASE_DIR) / "static" / "favicon.svg").read_text().startswith("<svg")


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
