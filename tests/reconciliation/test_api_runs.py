"""The runs and breaks API: 202 and poll, breaks of a run, resolve / assign / comment / adjust, bad input
(API.md's error shape, nothing changed) and forbidden roles."""

from __future__ import annotations

from decimal import Decimal

import pytest

from borrowdesk.business_day import business_date
from inventory.models import Journal
from reconciliation.models_runs import Break, BreakActivity, ReconciliationRun
from reconciliation.tasks import execute_requested_run
from tests.inventory.factories import desk_asset, firm_account, stock
from tests.reconciliation.run_helpers import run, statement

D = Decimal


@pytest.fixture
def book(desk_config):
    btc, sol = desk_asset("BTC", 8), desk_asset("SOL", 9, "150")
    main = firm_account("INV-MAIN")
    stock(btc, main, "10")
    statement(main, {btc: "9.5", sol: "3"})
    return {"btc": btc, "sol": sol, "main": main}


def test_a_run_is_accepted_queued_then_polled_until_finished(
    book, bob, api, django_capture_on_commit_callbacks
):
    client = api.as_user(bob)
    today = business_date().isoformat()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            "/api/v1/reconciliation/runs/", {"business_date": today, "scope": "all"}, format="json"
        )
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and set(body) == {"id", "status"}
    assert len(callbacks) == 1  # the task goes out after commit
    assert client.get(f"/api/v1/reconciliation/runs/{body['id']}/").json()["status"] == "queued"
    execute_requested_run(body["id"], "tok1")  # what the worker does with the message
    polled = client.get(f"/api/v1/reconciliation/runs/{body['id']}/").json()
    assert polled["status"] == "finished" and polled["counts"]["found"] == 2
    listed = client.get(f"/api/v1/reconciliation/runs/{body['id']}/breaks/").json()
    assert listed["count"] == 2
    row = next(r for r in listed["results"] if r["kind"] == "mismatch")
    shown = ("account", "asset", "internal_quantity", "external_quantity", "difference", "status")
    assert {k: row[k] for k in shown} == {
        "account": "INV-MAIN", "asset": "BTC", "internal_quantity": "10.000000000000000000",
        "external_quantity": "9.500000000000000000", "difference": "-0.500000000000000000", "status": "open",
    }  # fmt: skip
    # The redelivered message of the same request runs nothing twice; a re-run request updates the run.
    execute_requested_run(body["id"], "tok1")
    assert Break.objects.count() == 2 and ReconciliationRun.objects.count() == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({"business_date": "2999-01-01", "scope": "all"}, "business_date"),
        ({"business_date": "2026-02-30", "scope": "all"}, "business_date"),
        ({"business_date": "yesterday", "scope": "all"}, "business_date"),
        ({"business_date": "2026-01-05", "scope": "everything"}, "scope"),
        ({}, "business_date"),
    ],
)
def test_a_bad_run_request_is_a_400_and_queues_nothing(book, bob, api, body, field):
    response = api.as_user(bob).post("/api/v1/reconciliation/runs/", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid" and field in response.json()["fields"]
    assert ReconciliationRun.objects.count() == 0


@pytest.mark.parametrize("who", ["alice", "rita", "carl", "mona", "audrey"])
def test_only_ops_and_treasury_start_runs(book, api, personas, who):
    response = api.as_user(personas[who]).post(
        "/api/v1/reconciliation/runs/", {"business_date": business_date().isoformat()}, format="json"
    )
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert ReconciliationRun.objects.count() == 0


def test_managers_and_auditors_read_breaks_traders_do_not(book, api, mona, audrey, alice):
    run()
    assert api.as_user(mona).get("/api/v1/reconciliation/breaks/").json()["count"] == 2
    assert api.as_user(audrey).get("/api/v1/reconciliation/breaks/?kind=mismatch").json()["count"] == 1
    assert api.as_user(alice).get("/api/v1/reconciliation/breaks/").status_code == 403


def test_resolve_with_a_reason_answers_the_break_after_the_change(book, api, tess):
    run()
    brk = Break.objects.get(kind="mismatch")
    response = api.as_user(tess).post(
        f"/api/v1/reconciliation/breaks/{brk.pk}/resolve/",
        {"reason": "fee", "text": "custody fee"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["reason"], response.json()["resolved_by"]) == (
        "resolved", "fee", "tess",
    )  # fmt: skip
    again = api.as_user(tess).post(
        f"/api/v1/reconciliation/breaks/{brk.pk}/resolve/", {"reason": "fee"}, format="json"
    )
    assert again.status_code == 409 and again.json()["code"] == "invalid_state"


@pytest.mark.parametrize(
    "body",
    [{"reason": "bored"}, {}, {"reason": "other"}, {"reason": "booking_error", "text": "wrong booking"},
     {"reason": "fee", "text": "x" * 2001}],
)  # fmt: skip
def test_a_bad_resolution_is_a_400_and_the_break_stays_open(book, api, bob, body):
    run()
    brk = Break.objects.get(kind="mismatch")
    response = api.as_user(bob).post(f"/api/v1/reconciliation/breaks/{brk.pk}/resolve/", body, format="json")
    assert response.status_code == 400, response.content
    assert (
        response.json()["code"] == "invalid"
        and "reason" in response.json().get("fields", {})
        or "text" in response.json().get("fields", {})
    )
    brk.refresh_from_db()
    assert brk.status == "open" and brk.reason == "" and BreakActivity.objects.filter(brk=brk).count() == 1


def test_assign_and_comment_build_the_timeline(book, api, bob, tess):
    run()
    brk = Break.objects.get(kind="mismatch")
    client = api.as_user(bob)
    assigned = client.post(
        f"/api/v1/reconciliation/breaks/{brk.pk}/assign/", {"owner": "tess"}, format="json"
    )
    assert assigned.status_code == 200 and (assigned.json()["owner"], assigned.json()["status"]) == (
        "tess",
        "assigned",
    )
    bad = client.post(f"/api/v1/reconciliation/breaks/{brk.pk}/assign/", {"owner": "alice"}, format="json")
    assert bad.status_code == 400 and bad.json()["fields"]["owner"]  # a trader does not work breaks
    assert (
        client.post(
            f"/api/v1/reconciliation/breaks/{brk.pk}/comment/", {"text": "asked the custodian"}, format="json"
        ).status_code
        == 200
    )
    assert (
        client.post(
            f"/api/v1/reconciliation/breaks/{brk.pk}/comment/", {"text": ""}, format="json"
        ).status_code
        == 400
    )
    assert list(BreakActivity.objects.filter(brk=brk).values_list("kind", "text")) == [
        ("opened", "Found by the run."), ("assign", "tess"), ("comment", "asked the custodian"),
    ]  # fmt: skip
    assert (
        client.post("/api/v1/reconciliation/breaks/999999/comment/", {"text": "x"}, format="json").status_code
        == 404
    )


def test_a_booking_error_is_fixed_by_an_ops_senior_adjustment_linked_to_the_break(book, api, bob, olivia):
    run()
    brk = Break.objects.get(kind="mismatch")  # book 10, custodian 9.5
    forbidden = api.as_user(bob).post(
        f"/api/v1/reconciliation/breaks/{brk.pk}/adjust/", {"text": "double receipt"}, format="json"
    )
    assert forbidden.status_code == 403 and Journal.objects.filter(kind="adjustment").count() == 0
    response = api.as_user(olivia).post(
        f"/api/v1/reconciliation/breaks/{brk.pk}/adjust/", {"text": "receipt booked twice"}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["reason"]) == ("resolved", "booking_error") and body["adjustment"]
    journal = Journal.objects.get(pk=body["adjustment"])
    assert journal.kind == "adjustment" and f"Break {brk.pk}" in journal.memo
    assert {(e.bucket, e.quantity) for e in journal.entries.all()} == {
        ("available", D("-0.5")),
        ("external", D("0.5")),
    }
    # The next statement agrees with the corrected book: no break.
    statement(book["main"], {book["btc"]: "9.5"})
    later = run(day=business_date())
    assert later.breaks.get(pk=brk.pk).status == "resolved"  # the resolution stands on a re-run


def test_a_gap_cannot_be_adjusted(book, api, olivia):
    from tests.refdata.factories import CustodyAccountFactory, VenueFactory

    cold = CustodyAccountFactory(code="INV-COLD", venue=VenueFactory(code="CUST9"), purpose="inventory")
    stock(book["btc"], cold, "1")
    run()
    gap = Break.objects.get(kind="statement_gap")
    response = api.as_user(olivia).post(
        f"/api/v1/reconciliation/breaks/{gap.pk}/adjust/", {"text": "x"}, format="json"
    )
    assert response.status_code == 400 and Journal.objects.filter(kind="adjustment").count() == 0


def test_the_gate_override_endpoint(book, api, olivia, bob, settings):
    settings.RECONCILIATION_GATE = True
    assert (
        api.as_user(bob)
        .post("/api/v1/reconciliation/gate-overrides/", {"account": "INV-MAIN", "reason": "x"}, format="json")
        .status_code
        == 403
    )
    response = api.as_user(olivia).post(
        "/api/v1/reconciliation/gate-overrides/",
        {"account": "INV-MAIN", "reason": "portal down"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["account"] == "INV-MAIN" and "has not run" in response.json()["held_because"]
    unknown = api.as_user(olivia).post(
        "/api/v1/reconciliation/gate-overrides/", {"account": "NOPE", "reason": "x"}, format="json"
    )
    assert unknown.status_code == 400 and unknown.json()["fields"]["account"]


def test_the_break_list_runs_a_fixed_number_of_queries_whatever_the_rows(book, api, mona):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.refdata.factories import CustodyAccountFactory, VenueFactory

    run()
    client = api.as_user(mona)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/api/v1/reconciliation/breaks/").status_code == 200
        return len(ctx)

    few = queries()
    for i in range(5):  # five more accounts with a gap each
        stock(
            book["btc"],
            CustodyAccountFactory(code=f"INV-X{i}", venue=VenueFactory(code=f"CX{i}"), purpose="inventory"),
            "1",
        )
    run()
    assert Break.objects.count() == 7 and queries() == few
