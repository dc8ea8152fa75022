"""Content-Security-Policy on every page (django-csp): same origin only, no inline script or style.

The templates carry no inline script, handler attribute or style attribute (they would be refused by
the browser), and the one page that needs an inline script (Swagger UI) gets a nonce for it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.mark.parametrize("url", ["/accounts/login/", "/no-such-page/"])
def test_anonymous_pages_carry_the_policy(client, db, url):
    policy = _policy(client.get(url))
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]  # no nonce: this page inlines nothing
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]


@pytest.mark.parametrize("url", ["/", "/refdata/assets/", "/inventory/availability/", "/requests/queue/"])
def test_signed_in_pages_carry_the_policy_without_unsafe_inline(login, bob, url):
    response = login(bob).get(url)
    assert response.status_code == 200
    header = response["Content-Security-Policy"]
    assert "'unsafe-inline'" not in header and "'unsafe-eval'" not in header
    assert _policy(response)["script-src"] == ["'self'"]


def test_the_api_docs_inline_script_and_style_carry_the_headers_nonce(login, bob):
    response = login(bob).get("/api/docs/")
    policy = _policy(response)
    [nonce] = [s for s in policy["script-src"] if s.startswith("'nonce-")]
    assert policy["style-src"] == ["'self'", nonce]
    page = response.content.decode()
    value = nonce.removeprefix("'nonce-").removesuffix("'")
    assert f'<script nonce="{value}">' in page and f'<style nonce="{value}">' in page
    # Every other script is a file.
    assert all("src=" in tag or "nonce=" in tag for tag in re.findall(r"<script\b[^>]*>", page))


def test_each_response_gets_a_fresh_nonce(login, bob):
    client = login(bob)
    first = _policy(client.get("/api/docs/"))["script-src"]
    second = _policy(client.get("/api/docs/"))["script-src"]
    assert first != second


TEMPLATES = [
    p for p in Path(settings.BASE_DIR, "templates").rglob("*.html") if "drf_spectacular" not in p.parts
]
INLINE = {
    "an inline <script>": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>"),
    "a <style> element": re.compile(r"<style\b"),
    "a style attribute": re.compile(r"\sstyle="),
    "an event handler attribute": re.compile(r"\son[a-z]+=", re.IGNORECASE),
    "htmx's hx-on (an inline handler)": re.compile(r"\shx-on"),
    "a javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
}


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(settings.BASE_DIR)))
def test_no_template_inlines_what_the_policy_refuses(template):
    text = template.read_text()
    found = [what for what, pattern in INLINE.items() if pattern.search(text)]
    assert not found, f"{template.name}: {found} (use static/js/borrowdesk.js and data- attributes)"


def test_the_template_scan_finds_what_it_looks_for():
    sample = '<form onsubmit="return confirm(\'x\')"><div style="width:1%"><script>1</script>'
    assert {w for w, p in INLINE.items() if p.search(sample)} >= {
        "an inline <script>",
        "a style attribute",
        "an event handler attribute",
    }
