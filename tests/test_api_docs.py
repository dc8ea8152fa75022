"""The API docs page: Swagger UI from drf-spectacular-sidecar, with every asset served by the app itself.

The desk's pages load nothing from a CDN; the docs page is no exception. Its assets are collected
(``collectstatic``, as the production image does) and served by WhiteNoise, like every static file.
"""

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command

ASSET = re.compile(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"')


@pytest.fixture
def collected_static(settings, tmp_path):
    """The static files collected into a fresh STATIC_ROOT, where WhiteNoise serves them from."""
    settings.STATIC_ROOT = tmp_path / "staticfiles"
    call_command("collectstatic", interactive=False, verbosity=0)
    return settings.STATIC_ROOT


def _docs_page(client) -> str:
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    return response.content.decode()


def test_api_docs_answer_a_logged_in_user_with_swagger_ui(login, bob):
    page = _docs_page(login(bob))
    assert '<div id="swagger-ui"></div>' in page
    assert 'url: "/api/schema/"' in page  # the schema comes from the app too


def test_api_docs_reference_only_local_static_assets(login, bob, settings):
    page = _docs_page(login(bob))
    assert re.findall(r"https?://\S*", page) == []  # no absolute URL at all, so no other host
    assets = ASSET.findall(page)
    assert assets, "the page should load Swagger UI's script and stylesheet"
    static_prefix = f"/{settings.STATIC_URL.strip('/')}/drf_spectacular_sidecar/swagger-ui-dist/"
    assert all(url.startswith(static_prefix) for url in assets), assets


def test_the_sidecar_assets_the_docs_reference_are_served(login, bob, settings, collected_static):
    client = login(bob)
    page = _docs_page(client)
    static_url = f"/{settings.STATIC_URL.strip('/')}/"
    assets = ASSET.findall(page)
    assert any(url.endswith("/swagger-ui-bundle.js") for url in assets)
    for url in assets:
        response = client.get(url)
        assert response.status_code == 200, url
        served = b"".join(response.streaming_content)
        response.close()
        # The very file the sidecar package ships, not an error page or an empty body.
        shipped = finders.find(url.removeprefix(static_url))
        assert shipped is not None, url
        assert served == Path(shipped).read_bytes(), url
