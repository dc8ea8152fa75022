"""The statement pages: list, detail, and the two-step upload (preview, then confirm)."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from reconciliation.models import ExternalStatement, StatementLine
from tests.reconciliation.factories import desk

UPLOAD = "/reconciliation/statements/upload/"
CONFIRM = "/reconciliation/statements/upload/confirm/"
AS_OF = "2026-03-02T17:00:00+00:00"


@pytest.fixture(autouse=True)
def _uploads(settings, tmp_path):
    settings.RECONCILIATION_UPLOAD_DIR = tmp_path / "uploads"


@pytest.fixture
def book(db):
    return desk(("BTC", 8), ("USDC", 6))


def _post(client, text: bytes, **extra):
    data = {
        "format": "csv",
        "as_of": AS_OF,
        "file": SimpleUploadedFile("custodian.csv", text, "text/csv"),
        **extra,
    }
    return client.post(UPLOAD, data)


def test_upload_previews_the_lines_then_confirm_imports_them(login, book, bob, tmp_path):
    client = login(bob)
    response = _post(client, b"account,asset,quantity\nINV-A,BTC,1234.5\nINV-B,USDC,1000000\n")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="preview-lines"' in html and "1,234.5" in html and "1,000,000" in html
    assert ExternalStatement.objects.count() == 0  # a preview stores nothing
    digest = re.search(r'name="content_hash" value="([0-9a-f]{64})"', html).group(1)
    assert (tmp_path / "uploads" / digest).exists()  # kept server-side by its hash, not in the session
    response = client.post(CONFIRM, {"content_hash": digest})
    assert response.status_code == 302
    assert ExternalStatement.objects.filter(source="upload", imported_by=bob).count() == 2
    assert StatementLine.objects.count() == 2
    assert not (tmp_path / "uploads" / digest).exists()


def test_a_bad_file_previews_every_error_and_offers_no_import(login, book, bob):
    response = _post(login(bob), b"account,asset,quantity\nINV-A,BTC,1\nINV-A,DOGE,2\nINV-X,BTC,x\n")
    html = response.content.decode()
    assert 'data-testid="preview-errors"' in html and "3 errors" in html
    assert "Unknown asset &#x27;DOGE&#x27;" in html and "Unknown account &#x27;INV-X&#x27;" in html
    assert 'data-testid="confirm-import"' not in html
    assert ExternalStatement.objects.count() == 0


def test_a_wrong_header_and_a_bad_as_of_are_shown_on_the_form(login, book, bob):
    html = _post(login(bob), b"acct,asset,quantity\nINV-A,BTC,1\n").content.decode()
    assert "The header must begin exactly" in html
    html = _post(login(bob), b"account,asset,quantity\nINV-A,BTC,1\n", as_of="tomorrow-ish").content.decode()
    assert 'data-field="as_of"' in html
    assert ExternalStatement.objects.count() == 0


def test_a_confirm_of_someone_elses_or_an_unknown_preview_imports_nothing(login, book, bob, tess):
    html = _post(login(bob), b"account,asset,quantity\nINV-A,BTC,1\n").content.decode()
    digest = re.search(r'name="content_hash" value="([0-9a-f]{64})"', html).group(1)
    assert login(tess).post(CONFIRM, {"content_hash": digest}).status_code == 302
    assert login(tess).post(CONFIRM, {"content_hash": "../../etc/passwd"}).status_code == 302
    assert ExternalStatement.objects.count() == 0


def test_the_list_and_the_detail_show_the_statement(login, book, bob, mona):
    client = login(bob)
    html = _post(client, b"account,asset,quantity\nINV-A,BTC,0.00000001\n").content.decode()
    digest = re.search(r'name="content_hash" value="([0-9a-f]{64})"', html).group(1)
    client.post(CONFIRM, {"content_hash": digest})
    statement = ExternalStatement.objects.get()
    listing = login(mona).get("/reconciliation/statements/").content.decode()
    assert "INV-A" in listing and "Upload a statement" not in listing  # a manager reads, does not import
    detail = login(mona).get(f"/reconciliation/statements/{statement.pk}/").content.decode()
    assert "0.00000001" in detail and "Upload page" in detail


@pytest.mark.parametrize("persona", ["alice", "rita", "mona", "audrey"])
def test_only_ops_and_treasury_reach_the_upload(login, book, personas, persona):
    assert login(personas[persona]).get(UPLOAD).status_code == 403
