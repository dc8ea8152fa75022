"""Regulator requests: the log, its overdue flags, evidence files (type by content, size limit, safe
names, permitted downloads logged), the response and closing, and the daily reminder job."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from compliance.regulator import services
from compliance.regulator.models import RegulatorEvidence, RegulatorReminder, RegulatorRequest
from tests.compliance.test_kyc_documents import _multipart as multipart

URL = "/api/v1/compliance/regulator-requests/"
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _evidence_dir(settings, tmp_path):
    settings.REGULATOR_EVIDENCE_DIR = tmp_path / "evidence"


def _body(**kw) -> dict:
    now = timezone.now()
    return {
        "regulator": "FCA",
        "subject": "Travel-rule compliance, Q3",
        "reference": "FCA/2026/118",
        "received_at": (now - timedelta(days=2)).isoformat(),
        "due_at": (now + timedelta(days=5)).isoformat(),
        **kw,
    }


def _log(carl, **kw) -> RegulatorRequest:
    now = timezone.now()
    values = {
        "regulator": "FCA",
        "subject": "Information request",
        "received_at": now - timedelta(days=10),
        "due_at": now + timedelta(days=5),
        **kw,
    }
    return services.log_request(actor=carl, **values)


def test_compliance_logs_a_request_and_it_is_listed_with_its_flags(api, carl):
    response = api.as_user(carl).post(URL, _body(owner="carl"), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["owner"], body["is_overdue"], body["is_drill"]) == (
        "open",
        "carl",
        False,
        False,
    )
    listed = api.as_user(carl).get(URL).json()
    assert [r["id"] for r in listed["results"]] == [body["id"]]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"regulator": ""}, "regulator"),
        ({"subject": ""}, "subject"),
        ({"due_at": (timezone.now() - timedelta(days=30)).isoformat()}, "due_at"),
        ({"received_at": (timezone.now() + timedelta(days=3)).isoformat()}, "received_at"),
        ({"due_at": "2026-02-30T10:00:00Z"}, "due_at"),
        ({"owner": "nobody"}, "owner"),
        ({"owner": "bob"}, "owner"),  # operations may not own a regulator request
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_logged(api, carl, bob, change, field):
    response = api.as_user(carl).post(URL, _body(**change), format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not RegulatorRequest.objects.exists()


@pytest.mark.parametrize(
    ("who", "reads", "writes"),
    [
        ("carl", 200, 201),
        ("audrey", 200, 403),
        ("mona", 200, 403),
        ("adam", 200, 403),
        ("bob", 403, 403),
        ("alice", 403, 403),
        ("tess", 403, 403),
    ],
)
def test_compliance_works_requests_and_oversight_reads_them(api, personas, who, reads, writes):
    client = api.as_user(personas[who])
    assert client.get(URL).status_code == reads
    assert client.post(URL, _body(), format="json").status_code == writes
    assert RegulatorRequest.objects.count() == (1 if writes == 201 else 0)


def test_overdue_requests_are_flagged_on_the_api_the_page_and_home(api, login, carl, mona):
    late = _log(
        carl,
        subject="Overdue thing",
        received_at=timezone.now() - timedelta(days=20),
        due_at=timezone.now() - timedelta(days=1),
    )
    _log(carl, subject="Not yet due")
    assert api.as_user(carl).get(URL, {"overdue": "true"}).json()["results"][0]["id"] == late.pk
    assert api.as_user(carl).get(URL, {"overdue": "false"}).json()["count"] == 1
    page = login(mona).get("/compliance/regulator/?overdue=true").content.decode()
    assert "Overdue thing" in page and "Not yet due" not in page
    home = login(carl).get("/").content.decode()
    assert 'data-testid="regulator-overdue"' in home and "1 overdue" in home


def test_respond_then_close_and_not_the_other_way(api, carl):
    req = _log(carl)
    early = api.as_user(carl).post(f"{URL}{req.pk}/close/")
    assert (early.status_code, early.json()["code"]) == (409, "invalid_state")
    empty = api.as_user(carl).post(f"{URL}{req.pk}/respond/", {"response_text": " "}, format="json")
    assert empty.status_code == 400
    done = api.as_user(carl).post(
        f"{URL}{req.pk}/respond/", {"response_text": "Sent the pack."}, format="json"
    )
    assert (done.json()["status"], done.json()["responded_by"]) == ("responded", "carl")
    assert api.as_user(carl).post(f"{URL}{req.pk}/close/").json()["status"] == "closed"
    again = api.as_user(carl).post(f"{URL}{req.pk}/respond/", {"response_text": "x"}, format="json")
    assert again.status_code == 409


def test_assigning_starts_the_work(api, carl, personas):
    from borrowdesk.access.services import create_desk_user

    cleo = create_desk_user(username="cleo", password="x-long-password-1", roles=["compliance"])
    req = _log(carl)
    response = api.as_user(carl).post(f"{URL}{req.pk}/assign/", {"owner": "cleo"}, format="json")
    assert (response.json()["owner"], response.json()["status"]) == ("cleo", "in_progress")
    assert cleo.pk == RegulatorRequest.objects.get().owner_id


def test_evidence_is_stored_under_a_safe_name_and_downloaded_by_permitted_users(api, carl, audrey, bob):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from borrowdesk.access.models import AccessLog

    req = _log(carl)
    upload = SimpleUploadedFile("letter.pdf", PDF, content_type="application/pdf")
    response = api.as_user(carl).post(f"{URL}{req.pk}/evidence/", {"file": upload}, format="multipart")
    assert response.status_code == 201, response.json()
    [evidence] = response.json()["evidence"]
    assert (evidence["name"], evidence["content_type"], evidence["size"]) == (
        "letter.pdf",
        "application/pdf",
        len(PDF),
    )
    stored = RegulatorEvidence.objects.get()
    assert "letter" not in stored.file.name and stored.file.name.startswith(f"{req.pk}/")
    download = api.as_user(audrey).get(f"{URL}{req.pk}/evidence/{stored.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    assert AccessLog.objects.filter(user=audrey).exists()
    assert api.as_user(bob).get(f"{URL}{req.pk}/evidence/{stored.pk}/").status_code == 403
    assert api.as_user(audrey).get(f"{URL}{req.pk}/evidence/{stored.pk + 1}/").status_code == 404


def test_a_path_in_the_sent_evidence_name_is_refused_over_the_api(api, carl):
    """The name as the client sent it, not Django's trimmed one (the body written by hand: the test
    client would trim it)."""
    req = _log(carl)
    body, content_type = multipart("../../etc/letter.pdf", PDF)
    response = api.as_user(carl).generic("POST", f"{URL}{req.pk}/evidence/", body, content_type=content_type)
    assert response.status_code == 400, response.content
    assert "path" in response.json()["detail"]
    assert not RegulatorEvidence.objects.exists()


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("big.pdf", PDF + b"x" * 2048, "bytes"),
        ("program.pdf", b"MZ\x90\x00\x03\x00\x00\x00", "not accepted"),
        ("empty.pdf", b"", "empty"),
    ],
)
def test_bad_evidence_is_refused_and_nothing_is_stored(settings, api, carl, name, content, why):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.REGULATOR_EVIDENCE_MAX_BYTES = 1024
    req = _log(carl)
    response = api.as_user(carl).post(
        f"{URL}{req.pk}/evidence/", {"file": SimpleUploadedFile(name, content)}, format="multipart"
    )
    assert response.status_code == 400
    assert why in str(response.json()).lower()
    assert not RegulatorEvidence.objects.exists()
    assert not (settings.REGULATOR_EVIDENCE_DIR / str(req.pk)).exists() or not any(
        (settings.REGULATOR_EVIDENCE_DIR / str(req.pk)).iterdir()
    )


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "..\\..\\x.pdf",
        "a/b.pdf",
        "..",
        # Evidence names now go through the shared borrowdesk.filecheck.name_problem, as case
        # attachments and KYC documents do: what clean_name used to trim (a drive, control characters,
        # a leading dot, a name over 200 characters) is refused instead, nothing stored.
        "C:\\letter.pdf",
        "letter\x00.pdf",
        "bad\nname.pdf",
        ".htaccess",
        "x" * 201,
        "   ",
    ],
)
def test_a_path_or_an_unsafe_file_name_is_refused(carl, name):
    from borrowdesk.errors import InvalidInput

    req = _log(carl)
    with pytest.raises(InvalidInput) as refused:
        services.attach_evidence(actor=carl, request=req, name=name, content=PDF)
    assert refused.value.fields == {"file": ["Invalid file name."]}
    assert not RegulatorEvidence.objects.exists()


def test_a_plain_evidence_name_is_kept_as_sent(carl):
    req = _log(carl)
    evidence = services.attach_evidence(actor=carl, request=req, name=" Brief, Q3 – v2.pdf ", content=PDF)
    assert (evidence.original_name, evidence.content_type) == ("Brief, Q3 – v2.pdf", "application/pdf")


def test_reminders_are_recorded_once_per_business_date(carl):
    from compliance.tasks import regulator_reminders

    today = date(2026, 12, 4)
    overdue = _log(
        carl, received_at=timezone.now() - timedelta(days=20), due_at=timezone.now() - timedelta(hours=1)
    )
    soon = _log(carl, due_at=timezone.now() + timedelta(days=1))
    _log(carl, due_at=timezone.now() + timedelta(days=40))  # not due within the window
    drill = _log(carl, due_at=timezone.now() + timedelta(days=2), is_drill=True)
    done = _log(
        carl, due_at=timezone.now() - timedelta(days=1), received_at=timezone.now() - timedelta(days=9)
    )
    services.respond_to_request(actor=carl, request=done, response_text="answered")
    counts = regulator_reminders.work(today)
    assert counts == {"due": 3, "overdue": 1, "reminders": 3}
    kinds = dict(RegulatorReminder.objects.values_list("request_id", "kind"))
    assert kinds == {overdue.pk: "overdue", soon.pk: "due_soon", drill.pk: "due_soon"}
    assert regulator_reminders.work(today) == counts  # a redelivery records nothing new
    assert RegulatorReminder.objects.count() == 3


def test_the_reminder_task_records_a_job_run(carl):
    from borrowdesk.operations.models import JobRun
    from compliance.tasks import regulator_reminders

    _log(carl, due_at=timezone.now() + timedelta(days=1))
    regulator_reminders.apply(kwargs={"business_date": "2026-12-04"})
    regulator_reminders.apply(kwargs={"business_date": "2026-12-04"})
    runs = JobRun.objects.filter(job="compliance.regulator.reminders", business_date=date(2026, 12, 4))
    assert runs.count() >= 1
    assert RegulatorReminder.objects.count() == 1


def test_the_pages_log_work_and_show_a_request(login, carl, audrey):
    client = login(carl)
    now = timezone.localtime()
    response = client.post(
        "/compliance/regulator/new/",
        {
            "regulator": "SEC",
            "subject": "Drill: records request",
            "received_at": now.strftime("%Y-%m-%dT%H:%M"),
            "due_at": (now + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
            "is_drill": "on",
        },
    )
    req = RegulatorRequest.objects.get()
    assert response.status_code == 302 and req.is_drill and req.owner == carl
    bad = client.post("/compliance/regulator/new/", {"regulator": "SEC", "subject": "x", "received_at": "x"})
    assert bad.status_code == 200 and RegulatorRequest.objects.count() == 1
    client.post(f"/compliance/regulator/{req.pk}/respond/", {"response_text": "Rehearsed."})
    req.refresh_from_db()
    assert req.status == "responded"
    page = login(audrey).get(f"/compliance/regulator/{req.pk}/").content.decode()
    assert "Drill" in page and "Rehearsed." in page and "Record the response" not in page


def test_the_compliance_home_counts_overdue_requests(login, carl):
    _log(carl, received_at=timezone.now() - timedelta(days=20), due_at=timezone.now() - timedelta(days=1))
    _log(carl)
    page = login(carl).get("/compliance/").content.decode()
    assert 'data-testid="filings"' in page
    assert ">2 · 1<" in page
