"""The sanctions lists and matches API (beside POST /compliance/screenings/, tested with screening), and
the demo's list."""

from __future__ import annotations

import pytest

from compliance.models import SanctionsListVersion, SanctionsMatch
from compliance.sanctions.services import rescreen_all
from tests.compliance.conftest import OFACTEST, import_list
from tests.refdata.factories import CounterpartyFactory

LISTS = "/api/v1/compliance/sanctions/lists/"
MATCHES = "/api/v1/compliance/sanctions/matches/"


@pytest.fixture
def held(db, django_capture_on_commit_callbacks):
    CounterpartyFactory(code="SUEXOTC", legal_name="Suex OTC s.r.o.")
    import_list(OFACTEST)
    with django_capture_on_commit_callbacks(execute=True):
        rescreen_all()
    return SanctionsMatch.objects.get()


def test_the_lists_api_shows_each_import_with_its_counts_and_hash(api, audrey, held):
    body = api.as_user(audrey).get(LISTS).json()
    [version] = body["results"]
    assert (version["source_name"], version["entry_count"], version["alias_count"]) == ("OFAC SDN", 17, 13)
    assert (version["address_count"], version["digital_address_count"], version["is_active"]) == (
        24,
        32,
        True,
    )
    assert len(version["content_hash"]) == 64 and version["rescreened_at"] is not None


def test_the_matches_api_lists_and_explains_a_match(api, carl, held):
    body = api.as_user(carl).get(MATCHES + "?status=potential&counterparty=SUEXOTC").json()
    [match] = body["results"]
    assert (match["counterparty"], match["status"], match["uid"], match["entry_name"]) == (
        "SUEXOTC",
        "potential",
        "33151",
        "SUEX OTC, S.R.O.",
    )
    assert match["query"] == "Suex OTC s.r.o." and match["threshold"] == "88.00"
    assert match["parts"]["query_normalized"] == "suex otc" and match["algorithm_version"]
    assert api.as_user(carl).get(MATCHES + "?status=confirmed").json()["count"] == 0
    assert api.as_user(carl).get(f"{MATCHES}{held.pk}/").json()["id"] == held.pk


@pytest.mark.parametrize("who", ["alice", "bob", "rita", "tess"])
def test_the_desk_outside_compliance_and_oversight_does_not_read_matches(api, personas, held, who):
    assert api.as_user(personas[who]).get(MATCHES).status_code == 403


def test_an_auditor_reads_matches_but_cannot_decide(api, audrey, held):
    assert api.as_user(audrey).get(MATCHES).json()["count"] == 1
    response = api.as_user(audrey).post(f"{MATCHES}{held.pk}/confirm/", {"reason": "x"}, format="json")
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    assert SanctionsMatch.objects.get().status == "potential"


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("propose-false-positive", {}, 400, "invalid"),  # no reason
        ("propose-false-positive", {"reason": "x" * 2001}, 400, "invalid"),
        ("confirm-false-positive", {}, 409, "invalid_state"),  # nothing proposed yet
        ("withdraw-false-positive", {"reason": "x"}, 409, "invalid_state"),
        ("confirm", {"reason": ["not", "text"]}, 400, "invalid"),
    ],
)
def test_a_refused_decision_changes_nothing(api, carl, held, path, body, status, code):
    response = api.as_user(carl).post(f"{MATCHES}{held.pk}/{path}/", body, format="json")
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert SanctionsMatch.objects.get().status == "potential"


def test_an_unknown_match_is_a_404(api, carl, db):
    assert api.as_user(carl).get(f"{MATCHES}12345/").status_code == 404
    assert api.as_user(carl).post(f"{MATCHES}abc/confirm/", {"reason": "x"}, format="json").status_code == 404


def test_the_demo_list_is_imported_and_everyone_rescreened_once(db, django_capture_on_commit_callbacks):
    from compliance.sanctions.demo import import_demo_list

    CounterpartyFactory(code="SUEXOTC", legal_name="Suex OTC s.r.o.")
    with django_capture_on_commit_callbacks(execute=True):
        version = import_demo_list()
    assert (version.entry_count, version.is_active, version.source_name) == (17, True, "OFAC SDN")
    assert SanctionsMatch.objects.get().counterparty.code == "SUEXOTC"
    with django_capture_on_commit_callbacks(execute=True):
        assert import_demo_list() == version  # the same files: nothing changes
    assert SanctionsListVersion.objects.count() == 1 and SanctionsMatch.objects.count() == 1
