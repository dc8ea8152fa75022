"""KYC documents: stored privately under names of ours, checked by content (not by name), within the
size limit, refused with a clear error when the name carries a path; served only to compliance and
auditors, every download in the access log. A refused upload stores nothing: no row, no file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from borrowdesk.access.models import AccessLog
from borrowdesk.errors import InvalidState, PermissionDeniedError
from compliance.errors import DocumentRefused
from compliance.models import KycDocument, KycProfile
from compliance.services import upload_kyc_document

URL = "/api/v1/compliance/kyc/ACME/documents/"

PDF = b"%PDF-1.7\n1 0 obj <</Type /Catalog>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
    b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
EXE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    + b"\x00" * 64
    + b"This program cannot be run"
)


@pytest.fixture(autouse=True)
def document_dir(settings, tmp_path) -> Path:
    settings.KYC_DOCUMENT_DIR = tmp_path / "kyc-documents"
    return settings.KYC_DOCUMENT_DIR


@pytest.fixture
def acme_kyc(acme):
    return KycProfile.objects.create(
        counterparty=acme,
        status="approved",
        risk_rating="low",
        expires_on=(timezone.now() + timedelta(days=365)).date(),
    )


def stored_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def _multipart(file_name: str, content: bytes, kind: str = "identity") -> tuple[bytes, str]:
    """A multipart body written by hand, so the file name goes out exactly as given (Django's test
    client would send only its last path part)."""
    boundary = "----kycboundary7MA4YWxkTrZu0gW"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\n{kind}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def _upload(api, user, name="passport.pdf", content=PDF, kind="identity", **extra):
    return api.as_user(user).post(
        URL, {"kind": kind, "file": SimpleUploadedFile(name, content), **extra}, format="multipart"
    )


# --- what is accepted, and how it is kept ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "content_type", "extension"),
    [
        ("passport.pdf", PDF, "application/pdf", "pdf"),
        ("utility bill.png", PNG, "image/png", "png"),
        ("register extract.JPG", JPEG, "image/jpeg", "jpg"),
        ("no-extension", PDF, "application/pdf", "pdf"),  # the content decides, not the name
    ],
)
def test_compliance_uploads_a_document_kept_under_a_random_name(
    api, carl, acme_kyc, document_dir, name, content, content_type, extension
):
    response = _upload(api, carl, name=name, content=content, description="Director's passport")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["original_name"], body["content_type"], body["size"], body["uploaded_by"]) == (
        name,
        content_type,
        len(content),
        "carl",
    )
    document = KycDocument.objects.get()
    (stored,) = stored_files(document_dir)
    assert stored.read_bytes() == content
    assert stored.suffix == f".{extension}" and name.split(".")[0] not in stored.name
    assert len(stored.stem) == 32  # a random hex name of ours
    assert stored.resolve().is_relative_to(document_dir.resolve())
    assert document.file.name == stored.relative_to(document_dir).as_posix()


def test_the_document_is_not_served_by_static_or_media_urls(carl, acme_kyc, document_dir, settings):
    document = upload_kyc_document(
        actor=carl,
        counterparty=acme_kyc.counterparty,
        kind="identity",
        upload=SimpleUploadedFile("a.pdf", PDF),
    )
    with pytest.raises(ValueError, match="no URL"):
        document.file.url  # noqa: B018
    for served in (settings.STATIC_ROOT, settings.MEDIA_ROOT or settings.BASE_DIR / "media"):
        assert not Path(document_dir).resolve().is_relative_to(Path(served).resolve())


# --- bad uploads: a clear error, nothing stored --------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("invoice.pdf", EXE, "unsupported_file_type"),  # an .exe renamed .pdf
        ("photo.png", b"<html><script>alert(1)</script></html>", "unsupported_file_type"),
        ("scan.jpg", b"GIF89a\x01\x00\x01\x00", "unsupported_file_type"),
        ("empty.pdf", b"", "empty_file"),
    ],
)
def test_wrong_content_is_refused_and_nothing_is_stored(
    api, carl, acme_kyc, document_dir, name, content, code
):
    response = _upload(api, carl, name=name, content=content)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert "file" in response.json()["fields"] and response.json()["detail"]
    assert not KycDocument.objects.exists()
    assert stored_files(document_dir) == []


def test_a_file_over_the_size_limit_is_refused_and_nothing_is_stored(
    api, carl, acme_kyc, document_dir, settings
):
    settings.KYC_DOCUMENT_MAX_BYTES = 1000
    response = _upload(api, carl, content=PDF + b"0" * (1001 - len(PDF)))
    assert (response.status_code, response.json()["code"]) == (400, "file_too_large")
    assert "larger than 1,000 bytes" in response.json()["detail"]
    assert not KycDocument.objects.exists() and stored_files(document_dir) == []
    # At the limit exactly, it is kept.
    assert _upload(api, carl, content=PDF + b"0" * (1000 - len(PDF))).status_code == 201


@pytest.mark.parametrize(
    "name", ["../../etc/passwd.pdf", "..\\..\\windows\\system.pdf", "/etc/passwd.pdf", "a/../../b.pdf"]
)
def test_a_path_traversal_name_is_refused_over_the_api_and_nothing_is_stored(
    api, carl, acme_kyc, document_dir, name
):
    body, content_type = _multipart(name, PDF)
    response = api.as_user(carl).generic("POST", URL, body, content_type=content_type)
    assert (response.status_code, response.json()["code"]) == (400, "unsafe_file_name"), response.content
    assert "path" in response.json()["detail"]
    assert not KycDocument.objects.exists() and stored_files(document_dir) == []


def test_a_path_traversal_name_is_refused_on_the_page_and_nothing_is_stored(carl, acme_kyc, document_dir):
    client = Client(enforce_csrf_checks=False)
    client.force_login(carl)
    body, content_type = _multipart("../../etc/passwd.pdf", PDF)
    response = client.generic(
        "POST", reverse("compliance:kyc_upload", args=["ACME"]), body, content_type=content_type
    )
    assert response.status_code == 200
    assert "The file name contains a path" in response.content.decode()
    assert not KycDocument.objects.exists() and stored_files(document_dir) == []


@pytest.mark.parametrize("name", ["../../etc/passwd.pdf", "C:\\boot.pdf", ".htaccess", "bad\x00name.pdf", ""])
def test_the_service_refuses_unsafe_names_itself(carl, acme_kyc, document_dir, name):
    with pytest.raises(DocumentRefused) as refused:
        upload_kyc_document(
            actor=carl,
            counterparty=acme_kyc.counterparty,
            kind="identity",
            upload=SimpleUploadedFile("x.pdf", PDF),
            file_name=name,
        )
    assert refused.value.code in ("unsafe_file_name",)
    assert not KycDocument.objects.exists() and stored_files(document_dir) == []


def test_the_page_refuses_wrong_content_with_a_form_error(login, carl, acme_kyc, document_dir):
    response = login(carl).post(
        reverse("compliance:kyc_upload", args=["ACME"]),
        {"kind": "identity", "file": SimpleUploadedFile("invoice.pdf", EXE)},
    )
    assert response.status_code == 200
    assert "not a PDF, PNG or JPEG" in response.content.decode()
    assert not KycDocument.objects.exists() and stored_files(document_dir) == []


def test_a_counterparty_without_kyc_takes_no_document(api, carl, acme, document_dir):
    response = _upload(api, carl)
    assert (response.status_code, response.json()["code"]) == (409, "invalid_state")
    assert not KycDocument.objects.exists() and stored_files(document_dir) == []
    with pytest.raises(InvalidState):
        upload_kyc_document(
            actor=carl, counterparty=acme, kind="identity", upload=SimpleUploadedFile("a.pdf", PDF)
        )


def test_a_failed_row_write_removes_the_stored_file(carl, acme_kyc, document_dir, monkeypatch):
    def refuse(**kwargs):
        raise RuntimeError("the database refused the row")

    monkeypatch.setattr(KycDocument.objects, "create", refuse)
    with pytest.raises(RuntimeError):
        upload_kyc_document(
            actor=carl,
            counterparty=acme_kyc.counterparty,
            kind="identity",
            upload=SimpleUploadedFile("a.pdf", PDF),
        )
    assert stored_files(document_dir) == []


@pytest.mark.parametrize("who", ["bob", "rita", "audrey", "mona", "alice"])
def test_only_compliance_uploads(api, personas, acme_kyc, document_dir, who):
    response = _upload(api, personas[who])
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    assert not KycDocument.objects.exists() and stored_files(document_dir) == []
    with pytest.raises(PermissionDeniedError):
        upload_kyc_document(
            actor=personas[who],
            counterparty=acme_kyc.counterparty,
            kind="identity",
            upload=SimpleUploadedFile("a.pdf", PDF),
        )


# --- downloads: permitted readers only, each in the access log ----------------------------------------


@pytest.fixture
def passport(carl, acme_kyc):
    return upload_kyc_document(
        actor=carl,
        counterparty=acme_kyc.counterparty,
        kind="identity",
        upload=SimpleUploadedFile("passport.pdf", PDF),
    )


@pytest.mark.parametrize("who", ["carl", "audrey"])
def test_compliance_and_auditors_download_and_each_download_is_logged(api, personas, passport, who):
    url = f"{URL}{passport.pk}/"
    before = AccessLog.objects.count()
    response = api.as_user(personas[who]).get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="ACME-identity-{passport.pk}.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    log = AccessLog.objects.order_by("-id").first()
    assert AccessLog.objects.count() == before + 1
    assert (log.user, log.path, log.view_name) == (personas[who], url, "kyc-download-document")
    assert f"document_id={passport.pk}" in log.object_ref


def test_the_page_download_is_logged_too(login, audrey, passport):
    url = reverse("compliance:kyc_document", args=["ACME", passport.pk])
    response = login(audrey).get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF
    log = AccessLog.objects.order_by("-id").first()
    assert (log.user, log.path, log.view_name) == (audrey, url, "compliance:kyc_document")


@pytest.mark.parametrize("who", ["bob", "olivia", "rita", "mona", "tess", "alice", "adam"])
def test_other_roles_cannot_download_and_nothing_is_logged(api, login, personas, passport, who):
    before = AccessLog.objects.count()
    assert api.as_user(personas[who]).get(f"{URL}{passport.pk}/").status_code == 403
    assert (
        login(personas[who]).get(reverse("compliance:kyc_document", args=["ACME", passport.pk])).status_code
        == 403
    )
    assert AccessLog.objects.count() == before


def test_a_document_is_not_found_under_another_counterparty(api, carl, passport, globex):
    KycProfile.objects.create(
        counterparty=globex, status="pending", risk_rating="medium", expires_on=timezone.now().date()
    )
    assert api.as_user(carl).get(f"/api/v1/compliance/kyc/GLOBEX/documents/{passport.pk}/").status_code == 404
    assert api.as_user(carl).get(f"{URL}99999999999999999999/").status_code == 404


def test_anonymous_is_refused(client, passport):
    from rest_framework.test import APIClient

    assert APIClient().get(f"{URL}{passport.pk}/").status_code == 401
    response = client.get(reverse("compliance:kyc_document", args=["ACME", passport.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_documents_list_shows_what_was_kept(api, carl, audrey, passport):
    body = api.as_user(audrey).get(URL).json()
    assert [(d["id"], d["kind"], d["original_name"], d["uploaded_by"]) for d in body] == [
        (passport.pk, "identity", "passport.pdf", "carl")
    ]
    assert body[0]["download"] == f"{URL}{passport.pk}/"


def test_the_kyc_page_lists_documents_for_readers_only(login, carl, bob, audrey, passport):
    page = login(audrey).get(reverse("compliance:kyc_detail", args=["ACME"])).content.decode()
    assert "passport.pdf" in page and "Upload a document" not in page
    page = login(carl).get(reverse("compliance:kyc_detail", args=["ACME"])).content.decode()
    assert "passport.pdf" in page and "Upload a document" in page
    page = login(bob).get(reverse("compliance:kyc_detail", args=["ACME"])).content.decode()
    assert "passport.pdf" not in page and "Documents are read by compliance and auditors" in page


def test_documents_are_append_only_in_the_database(passport):
    from django.db import InternalError, transaction

    with pytest.raises(InternalError), transaction.atomic():
        KycDocument.objects.filter(pk=passport.pk).update(description="changed")
    with pytest.raises(InternalError), transaction.atomic():
        KycDocument.objects.filter(pk=passport.pk).delete()
