"""``GET /api/v1/dashboard/summary/``: the desk in figures, against a hand-built desk.

The desk: 10 BTC in the firm's INV-MAIN (at CUST1); two approved ACME loans (2 BTC delivered, 1 BTC
whose delivery failed); three open requests (two awaiting approval, one on compliance hold, of
different ages); one open break of today's pre-open run; two AML cases, one past its SLA; a BTC buffer
target at CUST1. Every figure is worked out by hand below.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from borrowdesk.access.roles import ROLES
from borrowdesk.business_day import business_date
from collateral.services.valuation import revalue
from compliance.cases.models import Case
from compliance.cases.services import open_or_join_case
from compliance.models import KycProfile
from requests_app.models import BorrowRequest
from requests_app.services import approve_request, submit_request
from tests.conftest import ROLE_PERSONA
from tests.inventory.factories import desk_asset, firm_account, stock
from tests.reconciliation.run_helpers import run, statement
from tests.refdata.factories import CustodyAccountFactory, VenueFactory
from treasury.models import BufferTarget, SettlementInstruction
from treasury.services import fail_instruction, settle_instruction

URL = "/api/v1/dashboard/summary/"
D = Decimal
ALLOWED = {"ops", "ops_senior", "risk", "manager", "auditor", "admin"}


def _ago(**delta):
    return timezone.now() - timedelta(**delta)


@pytest.fixture
def desk(personas, acme, globex):
    alice, tom, bob, tess = (personas[n] for n in ("alice", "tom", "bob", "tess"))
    btc = desk_asset("BTC", 8, "50000")
    main = firm_account("INV-MAIN")
    stock(btc, main, "10", actor=tess)
    KycProfile.objects.create(
        counterparty=acme,
        status="approved",
        risk_rating="low",
        expires_on=(timezone.now() + timedelta(days=90)).date(),
    )
    # Two loans: 3 BTC held for ACME. The 2 BTC leg settles (on loan), the 1 BTC leg fails (allocated).
    delivered, failed = (
        approve_request(
            actor=bob,
            request=submit_request(actor=alice, counterparty=acme, asset=btc, quantity=D(q)),
            rate_bps=D("400"),
        )
        for q in ("2", "1")
    )
    settle_instruction(actor=tess, instruction=SettlementInstruction.objects.get(loan=delivered.loan))
    failed_leg = SettlementInstruction.objects.get(loan=failed.loan)
    fail_instruction(actor=tess, instruction=failed_leg, reason="custodian offline")
    SettlementInstruction.objects.filter(pk=failed_leg.pk).update(due_at=_ago(hours=1))  # now overdue
    # Open requests: two awaiting approval (one just now, one 2 h old), one on hold (GLOBEX has no KYC).
    fresh = submit_request(actor=alice, counterparty=acme, asset=btc, quantity=D("1"))
    older = submit_request(actor=alice, counterparty=acme, asset=btc, quantity=D("1"))
    held = submit_request(actor=tom, counterparty=globex, asset=btc, quantity=D("1"))
    BorrowRequest.objects.filter(pk=older.pk).update(submitted_at=_ago(hours=2))
    BorrowRequest.objects.filter(pk=held.pk).update(submitted_at=_ago(hours=30))
    # Today's pre-open run: the custodian says 9.5 BTC where the ledger holds 10 (one mismatch).
    statement(main, {btc: "9.5"})
    run()
    # Two AML cases of ACME and GLOBEX; GLOBEX's is past its SLA.
    open_or_join_case(kind="aml", counterparty=acme, subject="Structuring pattern")
    late = open_or_join_case(kind="aml", counterparty=globex, subject="Rapid in and out")
    Case.objects.filter(pk=late.pk).update(opened_at=_ago(days=4), sla_due_at=_ago(hours=3))
    # The revaluation's view of ACME (no collateral pledged against its loans).
    revalue()
    BufferTarget.objects.create(asset=btc, venue=main.venue, min_quantity=D("8"), target_quantity=D("12"))
    return {"btc": btc, "main": main, "fresh": fresh, "older": older, "held": held}


def test_the_summary_reports_the_hand_built_desk(desk, api, mona):
    before = timezone.now()
    response = api.as_user(mona).get(URL)
    assert response.status_code == 200, response.content
    body = response.json()

    as_of = body["as_of"]
    assert as_of.endswith("Z")  # UTC, as every time in the API
    assert before <= timezone.datetime.fromisoformat(as_of) <= timezone.now()
    assert body["business_date"] == business_date().isoformat()

    # 10 BTC: 7 available, 1 allocated (the failed delivery), 2 on loan: (1 + 2) / 10.
    assert body["utilization"] == [
        {
            "asset": "BTC",
            "available": "7.000000000000000000",
            "allocated": "1.000000000000000000",
            "on_loan": "2.000000000000000000",
            "utilization": "0.3000",
        }
    ]

    requests = body["requests"]
    assert requests["open"] == 3
    assert requests["age_buckets"] == ["under_1h", "1h_to_4h", "4h_to_24h", "24h_or_more"]
    by_status = {row["status"]: row for row in requests["by_status"]}
    assert list(by_status) == [
        "submitted", "compliance_hold", "pending_approval", "pending_second_approval", "offered",
    ]  # fmt: skip
    ages = {status: {a["bucket"]: a["count"] for a in row["by_age"]} for status, row in by_status.items()}
    assert by_status["pending_approval"]["count"] == 2
    assert ages["pending_approval"] == {"under_1h": 1, "1h_to_4h": 1, "4h_to_24h": 0, "24h_or_more": 0}
    assert by_status["compliance_hold"]["count"] == 1
    assert ages["compliance_hold"] == {"under_1h": 0, "1h_to_4h": 0, "4h_to_24h": 0, "24h_or_more": 1}
    older = BorrowRequest.objects.get(pk=desk["older"].pk).submitted_at
    assert timezone.datetime.fromisoformat(by_status["pending_approval"]["oldest_submitted_at"]) == older
    assert by_status["submitted"] == {
        "status": "submitted",
        "count": 0,
        "oldest_submitted_at": None,
        "by_age": [{"bucket": b, "count": 0} for b in requests["age_buckets"]],
    }

    # ACME owes 3 BTC × 50,000 with nothing pledged: 150,000 exposure, no collateral, critical.
    coverage = body["coverage"]
    assert coverage["counterparties"] == 1
    assert coverage["exposure_usd"] == "150000.00000000"
    assert coverage["collateral_value_usd"] == "0.00000000"
    assert coverage["coverage_ratio"] == "0.000000"
    assert {row["state"]: row["count"] for row in coverage["by_state"]} == {
        "ok": 0, "warning": 0, "call": 0, "breach": 0, "critical": 1, "needs_review": 0,
    }  # fmt: skip

    # Two attempts (one settle, one fail): half failed; the failed leg waits in the queue, overdue.
    failed_due = SettlementInstruction.objects.get(status="failed").due_at
    assert body["settlements"] == {
        "pending": 0,
        "failed": 1,
        "overdue": 1,
        "oldest_due_at": failed_due.isoformat().replace("+00:00", "Z"),
        "fail_rate": "0.5000",
        "attempts": 2,
        "failed_attempts": 1,
        "window_days": 30,
    }

    assert body["reconciliation"]["open_breaks"] == 1
    assert body["reconciliation"]["pre_open"]["ran"] is True
    assert body["reconciliation"]["pre_open"]["status"] == "finished"

    compliance = body["compliance"]
    assert (compliance["open_cases"], compliance["sla_breaches"]) == (2, 1)
    aml = next(row for row in compliance["by_kind"] if row["kind"] == "aml")
    assert aml == {"kind": "aml", "open": 2, "sla_breaches": 1, "in_review": 0, "escalated": 0}
    assert {row["kind"] for row in compliance["by_kind"]} == {"kyc", "aml", "sanctions", "travel_rule"}

    # CUST1 holds 7 BTC available: below the minimum of 8, 5 short of the target of 12.
    assert body["buffers"] == [
        {
            "asset": "BTC",
            "venue": "CUST1",
            "balance": "7.000000000000000000",
            "min_quantity": "8.000000000000000000",
            "target_quantity": "12.000000000000000000",
            "to_target": "5.000000000000000000",
            "state": "below_min",
        }
    ]


def test_a_leg_that_failed_then_settled_counts_its_failed_attempt(desk, api, tess, bob):
    leg = SettlementInstruction.objects.get(status="failed")
    settle_instruction(actor=tess, instruction=leg)
    body = api.as_user(bob).get(URL).json()["settlements"]
    # Three attempts (settle; fail then settle), one failed; nothing left in the queue.
    assert (body["attempts"], body["failed_attempts"], body["fail_rate"]) == (3, 1, "0.3333")
    assert (body["pending"], body["failed"], body["overdue"], body["oldest_due_at"]) == (0, 0, 0, None)


def test_an_empty_desk_answers_zeros_and_nulls_not_an_error(api, personas):
    body = api.as_user(personas["rita"]).get(URL).json()
    assert body["utilization"] == [] and body["buffers"] == []
    assert body["requests"]["open"] == 0
    assert body["coverage"]["coverage_ratio"] is None and body["coverage"]["exposure_usd"] == "0.00000000"
    assert body["settlements"]["fail_rate"] is None and body["settlements"]["attempts"] == 0
    assert body["reconciliation"]["pre_open"] == {
        "business_date": business_date().isoformat(), "status": "not_run", "ran": False, "finished_at": None,
    }  # fmt: skip
    assert (body["compliance"]["open_cases"], body["compliance"]["sla_breaches"]) == (0, 0)


@pytest.mark.parametrize("role", ROLES)
def test_who_may_read_the_summary(api, personas, role):
    response = api.as_user(personas[ROLE_PERSONA[role]]).get(URL)
    if role in ALLOWED:
        assert response.status_code == 200, response.content
    else:
        assert response.status_code == 403
        assert response.json() == {"code": "permission_denied", "detail": "Your role does not allow this."}


def test_anonymous_is_a_401_in_the_api_error_shape(api, desk_config):
    response = api.get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_the_summary_only_reads(desk, api, mona):
    """A GET changes nothing, and the endpoint takes no writes (405)."""
    from tests.inventory.factories import ledger_state

    before = (ledger_state(), list(SettlementInstruction.objects.order_by("id").values()))
    assert api.as_user(mona).get(URL).status_code == 200
    assert api.as_user(mona).post(URL, {}, format="json").status_code == 405
    assert (ledger_state(), list(SettlementInstruction.objects.order_by("id").values())) == before


def test_a_fixed_number_of_queries_whatever_the_rows(
    desk, api, mona, personas, acme, django_assert_max_num_queries
):
    client = api.as_user(mona)
    with CaptureQueriesContext(connection) as first:
        assert client.get(URL).status_code == 200
    # More of everything: another asset held and targeted at another venue, more requests and cases.
    eth = desk_asset("ETH", 18, "3000")
    other = CustodyAccountFactory(code="INV-TWO", venue=VenueFactory(code="CUST2"))
    stock(eth, other, "50", actor=personas["tess"])
    BufferTarget.objects.create(asset=eth, venue=other.venue, min_quantity=D("10"), target_quantity=D("20"))
    for _ in range(3):
        submit_request(actor=personas["alice"], counterparty=acme, asset=eth, quantity=D("1"))
    open_or_join_case(kind="kyc", counterparty=None, subject="Expiring passport")
    # 11 queries: authentication 2 (the token with its user, the user's roles), then the summary's 9:
    # utilization 1, open requests 1, coverage 2 (states, open calls), settlements 1, the pre-open run
    # and the open breaks 2, cases 1, buffers 1.
    with django_assert_max_num_queries(11) as second:
        body = client.get(URL).json()
    assert len(second.captured_queries) == len(first.captured_queries)
    assert len(body["utilization"]) == 2 and len(body["buffers"]) == 2
    assert body["requests"]["open"] == 6 and body["compliance"]["open_cases"] == 3


def test_the_schema_documents_the_summary(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    operation = schema["paths"]["/api/v1/dashboard/summary/"]["get"]
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    summary = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(summary["properties"]) == {
        "as_of", "business_date", "utilization", "requests", "coverage", "settlements", "reconciliation",
        "compliance", "buffers",
    }  # fmt: skip
    assert summary["properties"]["as_of"]["format"] == "date-time"


def test_a_buffer_is_held_against_the_firms_available_balance_at_its_venue(desk, personas):
    """What is allocated or lent (3 of CUST1's 10 BTC) and what is held at another venue do not count;
    a venue holding none of the asset is at zero."""
    from treasury.selectors import buffer_levels

    elsewhere = CustodyAccountFactory(code="INV-ELSEWHERE", venue=VenueFactory(code="CUST2"))
    stock(desk["btc"], elsewhere, "4", actor=personas["tess"])
    empty = VenueFactory(code="EMPTY", kind="exchange")
    BufferTarget.objects.create(asset=desk["btc"], venue=empty, min_quantity=D("0"), target_quantity=D("1"))
    levels = {(lvl.venue, lvl.asset): (lvl.balance, lvl.state, lvl.to_target) for lvl in buffer_levels()}
    assert levels == {
        ("CUST1", "BTC"): (D("7"), "below_min", D("5")),
        ("EMPTY", "BTC"): (D("0"), "below_target", D("1")),
    }


def test_the_database_refuses_a_buffer_target_below_its_minimum_or_twice(desk):
    btc, venue = desk["btc"], desk["main"].venue
    other = VenueFactory(code="OTHER", kind="exchange")
    with pytest.raises(IntegrityError), transaction.atomic():
        BufferTarget.objects.create(asset=btc, venue=other, min_quantity=D("5"), target_quantity=D("4"))
    with pytest.raises(IntegrityError), transaction.atomic():
        BufferTarget.objects.create(asset=btc, venue=other, min_quantity=D("-1"), target_quantity=D("4"))
    with pytest.raises(IntegrityError), transaction.atomic():
        BufferTarget.objects.create(asset=btc, venue=venue, min_quantity=D("1"), target_quantity=D("2"))
    assert BufferTarget.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_every_figure_is_read_from_one_snapshot(personas, monkeypatch):
    """Outside a transaction (as a request runs), the summary's queries share one read-only,
    repeatable-read transaction: a figure read later sees nothing committed after the first."""
    from borrowdesk.dashboards import selectors

    seen = []
    real_buffers = selectors.buffer_levels

    def buffers_seen_from_the_same_snapshot():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('transaction_isolation'), current_setting('transaction_read_only'),"
                " txid_current_if_assigned() IS NULL, now()"
            )
            seen.append(cursor.fetchone())
        return real_buffers()

    def availability_first():
        with connection.cursor() as cursor:
            cursor.execute("SELECT now()")
            seen.append(cursor.fetchone())
        return []

    monkeypatch.setattr(selectors, "availability", availability_first)
    monkeypatch.setattr(selectors, "buffer_levels", buffers_seen_from_the_same_snapshot)
    assert not connection.in_atomic_block
    selectors.desk_summary()
    (started,), (isolation, read_only, wrote_nothing, at) = seen
    assert (isolation, read_only, wrote_nothing) == ("repeatable read", "on", True)
    assert at == started  # now() is the transaction's start: both queries ran in one transaction
    assert not connection.in_atomic_block
