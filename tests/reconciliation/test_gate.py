"""The pre-open gate: final approvals allocating from an unreconciled account are held until today's
pre-open run has finished and the account has no aged open break, or until ops_senior overrides."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from borrowdesk.errors import InvalidInput, InvalidState, PermissionDeniedError
from inventory.models import Loan
from reconciliation.errors import ReconciliationHold
from reconciliation.models_runs import Break, GateOverride
from reconciliation.services.gate import check_preopen_gate, gate_reason, override_gate
from requests_app.models import BorrowRequest
from requests_app.services import approve_request, submit_request
from tests.collateral.test_limits_approval import _clear
from tests.inventory.factories import desk_asset, firm_account, stock
from tests.reconciliation.run_helpers import run, statement

D = Decimal


@pytest.fixture
def desk(desk_config, alice, acme):
    btc = desk_asset("BTC", 8, "50000")
    account = firm_account()
    stock(btc, account, "20")
    _clear(acme)

    def submit(quantity="1"):
        return submit_request(actor=alice, counterparty=acme, asset=btc, quantity=D(quantity))

    return {"btc": btc, "account": account, "submit": submit}


@pytest.fixture
def gate_on(settings):
    settings.RECONCILIATION_GATE = True
    settings.RECONCILIATION_GATE_BREAK_AGE_HOURS = 24
    settings.RECONCILIATION_GATE_BREAK_MIN_QUANTITY = "0.5"


def _approve(bob, req):
    return approve_request(actor=bob, request=req, rate_bps=D("500"))


def test_without_the_setting_the_gate_holds_nothing(desk, bob):
    req = desk["submit"]()
    assert _approve(bob, req).status == "approved"  # no reconciliation at all, and not held


def test_held_when_todays_pre_open_run_has_not_run_nothing_written(desk, bob, gate_on):
    req = desk["submit"]()
    with pytest.raises(ReconciliationHold) as held:
        _approve(bob, req)
    assert held.value.code == "reconciliation_hold" and held.value.status == 409
    assert "has not run" in held.value.detail and "INV-MAIN" in held.value.detail
    req.refresh_from_db()
    assert req.status == "pending_approval" and Loan.objects.count() == 0


def test_held_while_the_run_is_not_finished(desk, bob, gate_on):
    from borrowdesk.business_day import business_date
    from reconciliation.models_runs import ReconciliationRun

    ReconciliationRun.objects.create(business_date=business_date(), scope="all", status="running")
    with pytest.raises(ReconciliationHold, match="is running"):
        _approve(bob, desk["submit"]())


def test_released_once_the_run_finished_clean(desk, bob, gate_on):
    statement(desk["account"], {desk["btc"]: "20"})
    run()
    assert _approve(bob, desk["submit"]()).status == "approved"


def test_held_by_an_aged_open_break_above_the_size_and_not_by_a_young_or_small_one(desk, bob, gate_on):
    statement(desk["account"], {desk["btc"]: "19"})  # a 1 BTC mismatch
    run()
    brk = Break.objects.get()
    assert _approve(bob, desk["submit"]()).status == "approved"  # young: not held yet
    Break.objects.filter(pk=brk.pk).update(opened_at=timezone.now() - timedelta(hours=25))
    with pytest.raises(ReconciliationHold, match="1 open break older than 24 hours"):
        _approve(bob, desk["submit"]())
    Break.objects.filter(pk=brk.pk).update(difference=D("-0.4"))  # below the gate's size
    assert _approve(bob, desk["submit"]()).status == "approved"


def test_an_ops_senior_override_releases_the_account_for_the_day_and_is_audited(desk, bob, olivia, gate_on):
    req = desk["submit"]()
    with pytest.raises(ReconciliationHold):
        _approve(bob, req)
    override = override_gate(
        actor=olivia, account=desk["account"], reason="Custodian portal down; balances checked by phone"
    )
    assert override.held_because.startswith("Today's pre-open reconciliation")
    assert _approve(bob, req).status == "approved"
    # Audited: the override's insert event carries the acting user.
    event = GateOverride.pgh_event_model.objects.get(pgh_obj=override)
    assert event.pgh_label == "insert" and event.pgh_context.metadata["user"] == olivia.pk
    with pytest.raises(InvalidState):  # once per account and day (not held any more)
        override_gate(actor=olivia, account=desk["account"], reason="again")


def test_only_ops_senior_overrides_with_a_reason(desk, bob, olivia, gate_on):
    with pytest.raises(PermissionDeniedError):
        override_gate(actor=bob, account=desk["account"], reason="please")
    with pytest.raises(InvalidInput):
        override_gate(actor=olivia, account=desk["account"], reason="   ")
    assert GateOverride.objects.count() == 0


def test_an_account_that_is_not_held_cannot_be_overridden(desk, olivia, gate_on):
    statement(desk["account"], {desk["btc"]: "20"})
    run()
    with pytest.raises(InvalidState):
        override_gate(actor=olivia, account=desk["account"], reason="just in case")


def test_the_gate_check_is_one_query(desk, gate_on):
    statement(desk["account"], {desk["btc"]: "20"})
    run()
    with CaptureQueriesContext(connection) as queries:
        check_preopen_gate(account_id=desk["account"].pk)
    # 1. today's run status, the account's aged open breaks and an override, in one SELECT
    assert len(queries) == 1
    assert gate_reason(account_id=desk["account"].pk) is None


def test_a_held_approval_answers_409_reconciliation_hold_in_the_api(desk, bob, api, gate_on):
    req = desk["submit"]()
    response = api.as_user(bob).post(
        f"/api/v1/borrow-requests/{req.pk}/approve/", {"rate_bps": "500"}, format="json"
    )
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "reconciliation_hold"
    assert BorrowRequest.objects.get(pk=req.pk).status == "pending_approval"
