"""Cases API: list with filters, create, the actions, the four-eyes closure's 403, who sees cases
(trader and ops 403, auditor read-only, team restriction 404), attachments (bad uploads store nothing,
downloads logged)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from borrowdesk.access.models import AccessLog
from borrowdesk.access.services import create_desk_user
from compliance.cases import services
from compliance.cases.models import Case, CaseAttachment, CaseEvent
from tests.compliance.test_kyc_documents import _multipart as multipart
from tests.conftest import PASSWORD

BASE = "/api/v1/compliance/cases/"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def cora(personas):
    return create_desk_user(username="cora", password=PASSWORD, roles=["compliance"])


@pytest.fixture
def case(acme):
    return services.open_or_join_case(
        kind="aml", counterparty=acme, subject="Notional spike", priority="high"
    )


@pytest.fixture
def attachment_dir(settings, tmp_path):
    settings.CASE_ATTACHMENT_DIR = tmp_path / "attachments"
    settings.CASE_ATTACHMENT_MAX_BYTES = 1000
    return settings.CASE_ATTACHMENT_DIR


def test_officer_creates_a_case(api, carl, acme):
    response = api.as_user(carl).post(
        BASE,
        {"kind": "kyc", "counterparty": "ACME", "subject": "Periodic review", "priority": "low"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["kind"], body["counterparty"], body["status"], body["opened_by"]) == (
        "kyc",
        "ACME",
        "open",
        "carl",
    )
    assert [e["kind"] for e in body["timeline"]] == ["opened"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "fraud", "subject": "S"}, "kind"),
        ({"kind": "aml", "subject": ""}, "subject"),
        ({"kind": "aml", "subject": "S", "counterparty": "NOPE"}, "counterparty"),
        ({"kind": "aml", "subject": "S", "priority": "urgent"}, "priority"),
        ({"kind": "aml", "subject": "x" * 301}, "subject"),
    ],
)
def test_bad_create_is_a_400_and_creates_nothing(api, carl, acme, body, field):
    response = api.as_user(carl).post(BASE, body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and field in response.json()["fields"]
    assert not Case.objects.exists()


def test_list_filters(api, carl, acme, globex):
    overdue = services.open_or_join_case(kind="aml", counterparty=acme, subject="Old", priority="low")
    Case.objects.filter(pk=overdue.pk).update(sla_due_at=timezone.now() - timedelta(hours=1))
    services.open_or_join_case(kind="kyc", counterparty=globex, subject="Fresh", priority="critical")
    client = api.as_user(carl)
    assert [c["subject"] for c in client.get(BASE, {"overdue": "true"}).json()["results"]] == ["Old"]
    assert [c["subject"] for c in client.get(BASE, {"kind": "kyc"}).json()["results"]] == ["Fresh"]
    assert [c["subject"] for c in client.get(BASE, {"priority": "low"}).json()["results"]] == ["Old"]
    assert client.get(BASE, {"status": "closed"}).json()["count"] == 0
    assert client.get(BASE, {"kind": "bogus"}).status_code == 400


def test_list_runs_a_fixed_number_of_queries(api, carl, acme, globex, django_assert_num_queries):
    for cp in (acme, globex):
        for kind in ("aml", "kyc", "sanctions"):
            services.open_or_join_case(kind=kind, counterparty=cp, subject=f"{kind} {cp.code}")
    client = api.as_user(carl)
    client.get(BASE)  # warm the token and the session
    # token + user, roles, count, page of cases (with counterparty, assignee, team, opened_by, proposer)
    with django_assert_num_queries(4):
        assert client.get(BASE).json()["count"] == 6


def test_work_a_case_through_the_api(api, carl, cora, case):
    client = api.as_user(carl)
    url = f"{BASE}{case.pk}/"
    assert client.post(f"{url}assign/", {"user": "carl"}, format="json").json()["status"] == "in_review"
    assert client.post(f"{url}note/", {"text": "Checked the trades"}, format="json").status_code == 200
    escalated = client.post(f"{url}escalate/", {"reason": "Pattern repeats"}, format="json").json()
    assert escalated["status"] == "escalated"
    proposed = client.post(f"{url}close/", {"disposition": "reported", "reason": "SAR"}, format="json")
    assert proposed.status_code == 200
    assert (proposed.json()["status"], proposed.json()["closure_proposed_by"]) == ("escalated", "carl")
    refused = client.post(f"{url}approve-closure/", {}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (403, "segregation_of_duties")
    assert Case.objects.get().status == "escalated"
    approved = api.as_user(cora).post(f"{url}approve-closure/", {"reason": "Agreed"}, format="json")
    assert approved.status_code == 200
    body = approved.json()
    assert (body["status"], body["disposition"], body["closed_by"]) == ("closed", "reported", "cora")
    assert [e["kind"] for e in body["timeline"]] == [
        "opened",
        "assigned",
        "note",
        "escalated",
        "closure_proposed",
        "closure_approved",
        "closed",
    ]


def test_actions_on_a_closed_case_are_409(api, carl, case):
    services.close_case(actor=carl, case=case, disposition="cleared")
    response = api.as_user(carl).post(f"{BASE}{case.pk}/note/", {"text": "late"}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "invalid_state")


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("assign", {"user": "nobody"}),
        ("assign", {"user": "bob"}),
        ("note", {"text": ""}),
        ("escalate", {}),
        ("close", {"disposition": "forgotten"}),
    ],
)
def test_bad_action_input_is_a_400_and_changes_nothing(api, carl, personas, case, action, body):
    response = api.as_user(carl).post(f"{BASE}{case.pk}/{action}/", body, format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert CaseEvent.objects.filter(case=case).count() == 1
    assert Case.objects.get().status == "open"


@pytest.mark.parametrize("persona", ["alice", "bob", "olivia", "rita", "tess", "pete"])
def test_roles_outside_compliance_and_oversight_get_403(api, personas, case, persona):
    client = api.as_user(personas[persona])
    assert client.get(BASE).status_code == 403
    assert client.get(f"{BASE}{case.pk}/").status_code == 403
    assert client.post(f"{BASE}{case.pk}/note/", {"text": "x"}, format="json").status_code == 403


def test_auditor_reads_but_does_not_work(api, audrey, case):
    client = api.as_user(audrey)
    assert client.get(BASE).json()["count"] == 1
    assert client.get(f"{BASE}{case.pk}/").status_code == 200
    for action, body in [
        ("note", {"text": "x"}),
        ("close", {"disposition": "cleared"}),
        ("approve-closure", {}),
    ]:
        assert client.post(f"{BASE}{case.pk}/{action}/", body, format="json").status_code == 403
    assert client.post(BASE, {"kind": "aml", "subject": "S"}, format="json").status_code == 403
    assert CaseEvent.objects.count() == 1


def test_anonymous_is_401(api, case):
    assert api.get(BASE).status_code == 401


def test_a_team_case_is_a_404_outside_the_team(api, carl, cora, audrey, acme):
    team = Group.objects.create(name="compliance-apac")
    cora.groups.add(team)
    case = services.open_or_join_case(kind="aml", counterparty=acme, subject="Team case", team=team)
    assert api.as_user(carl).get(BASE).json()["count"] == 0
    assert api.as_user(carl).get(f"{BASE}{case.pk}/").status_code == 404
    assert api.as_user(carl).post(f"{BASE}{case.pk}/note/", {"text": "x"}, format="json").status_code == 404
    assert api.as_user(cora).get(f"{BASE}{case.pk}/").status_code == 200
    assert api.as_user(audrey).get(f"{BASE}{case.pk}/").status_code == 200


def test_attach_and_download_is_logged(api, carl, audrey, case, attachment_dir):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = api.as_user(carl)
    upload = SimpleUploadedFile("passport scan.pdf", PDF, content_type="image/png")  # the browser's word
    response = client.post(f"{BASE}{case.pk}/attachments/", {"file": upload}, format="multipart")
    assert response.status_code == 201, response.json()
    attachment = CaseAttachment.objects.get()
    assert (attachment.content_type, attachment.original_name) == ("application/pdf", "passport scan.pdf")
    assert attachment.stored_name.endswith(".pdf") and "passport" not in attachment.stored_name
    assert [e["kind"] for e in response.json()["timeline"]][-1] == "attachment"
    before = AccessLog.objects.count()
    download = api.as_user(audrey).get(f"{BASE}{case.pk}/attachments/{attachment.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    assert download["Content-Disposition"].startswith("attachment")
    assert AccessLog.objects.count() == before + 1
    assert api.as_user(carl).get(f"{BASE}{case.pk}/attachments/{attachment.pk + 1}/").status_code == 404


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("big.pdf", b"%PDF-" + b"x" * 1000, "larger than"),
        ("tool.pdf", b"MZ\x90\x00\x03\x00\x00\x00", "judged by their content"),
        ("empty.txt", b"", "empty"),
    ],
)
def test_bad_uploads_are_refused_and_store_nothing(api, carl, case, attachment_dir, name, data, message):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = api.as_user(carl).post(
        f"{BASE}{case.pk}/attachments/", {"file": SimpleUploadedFile(name, data)}, format="multipart"
    )
    assert response.status_code == 400, response.content
    assert message in response.json()["detail"]
    assert not CaseAttachment.objects.exists()
    assert CaseEvent.objects.filter(case=case).count() == 1
    assert not attachment_dir.exists() or not any(attachment_dir.iterdir())


@pytest.mark.parametrize("name", ["../../outside.txt", "..\\..\\outside.txt", "/etc/outside.txt"])
def test_a_path_in_an_uploaded_name_is_refused_and_nothing_reaches_the_disk(
    api, carl, case, attachment_dir, tmp_path, name
):
    """Django's multipart parser trims a name to its last part before any view sees it; the upload
    is refused on the name the client sent (the body written by hand: the test client trims too)."""
    body, content_type = multipart(name, b"hello")
    url = f"{BASE}{case.pk}/attachments/"
    response = api.as_user(carl).generic("POST", url, body, content_type=content_type)
    assert response.status_code == 400, response.content
    assert "path" in response.json()["detail"]
    assert not CaseAttachment.objects.exists()
    assert not attachment_dir.exists() or list(attachment_dir.iterdir()) == []
    assert not (tmp_path / "outside.txt").exists()


def test_a_path_in_an_uploaded_name_is_refused_on_the_case_page(client, carl, case, attachment_dir):
    client.force_login(carl)
    body, content_type = multipart("../../outside.txt", b"hello")
    response = client.generic("POST", f"/compliance/cases/{case.pk}/attach/", body, content_type=content_type)
    assert "The file name contains a path" in response.content.decode()
    assert not CaseAttachment.objects.exists()


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "..\\evil.txt", "a/b.txt", "bad\x00name.txt", "rtl\u202etxt.exe"]
)
def test_the_service_refuses_a_name_with_a_path_or_control_characters(carl, case, attachment_dir, name):
    from borrowdesk.errors import InvalidInput

    with pytest.raises(InvalidInput) as error:
        services.attach(actor=carl, case=case, name=name, data=b"hello")
    assert "file" in error.value.fields
    assert not CaseAttachment.objects.exists()
    assert not attachment_dir.exists() or not any(attachment_dir.iterdir())


def test_restricting_a_case_to_a_team_hides_it_from_other_officers(api, carl, cora, case):
    team = Group.objects.create(name="compliance-emea")
    cora.groups.add(team)
    refused = api.as_user(carl).post(f"{BASE}{case.pk}/team/", {"team": "compliance"}, format="json")
    assert refused.status_code == 400  # a role is not a team
    not_his = api.as_user(carl).post(f"{BASE}{case.pk}/team/", {"team": "compliance-emea"}, format="json")
    assert not_his.status_code == 400 and Case.objects.get().team is None
    done = api.as_user(cora).post(f"{BASE}{case.pk}/team/", {"team": "compliance-emea"}, format="json")
    assert done.status_code == 200 and done.json()["team"] == "compliance-emea"
    assert api.as_user(carl).get(f"{BASE}{case.pk}/").status_code == 404
    lifted = api.as_user(cora).post(f"{BASE}{case.pk}/team/", {"team": ""}, format="json")
    assert lifted.status_code == 200 and lifted.json()["team"] is None
    assert api.as_user(carl).get(f"{BASE}{case.pk}/").status_code == 200
