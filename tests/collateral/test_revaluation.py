"""The revaluation: the coverage state machine and margin calls, at fixed timestamps (``at=``).

The book: ACME owes 1 BTC (mark 50,000: exposure 50,000) and pledged 100 SOL (haircut 0), so its
coverage is SOL's price x 100 / 50,000. Default levels: required 1.50, warning 1.40, call 1.30,
critical 1.15; call due 24 h after issue; cure period 24 h.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pghistory.models import Events

from borrowdesk.errors import InvalidInput, InvalidState, PermissionDeniedError
from collateral.models import CounterpartyRisk, CoverageSnapshot, MarginCall
from collateral.services.valuation import (
    add_note,
    cancel_margin_call,
    escalate_margin_call,
    revalue,
)
from collateral.tasks import revalue_collateral
from tests.collateral import valuation_helpers as h
from tests.refdata.factories import CounterpartyFactory

D = Decimal
T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def desk(desk_config, acme):
    btc, sol = h.asset("BTC"), h.asset("SOL")
    h.haircut(sol, 0)
    account = h.collateral_account(acme)
    h.pledge(account, sol, 100)
    h.lend(acme, btc, 1)
    return {"btc": btc, "sol": sol, "account": account}


def marks(desk, at, sol):
    """Fresh marks a minute before ``at``: BTC 50,000, SOL as given."""
    h.price(desk["btc"], 50000, as_of=at - timedelta(minutes=1))
    h.price(desk["sol"], sol, as_of=at - timedelta(minutes=1))


def risk_of(counterparty) -> CounterpartyRisk:
    return CounterpartyRisk.objects.get(counterparty=counterparty)


def everything() -> dict:
    """Every row the revaluation writes, to assert that a run changed nothing."""
    return {
        "risk": list(CounterpartyRisk.objects.order_by("id").values()),
        "snapshots": list(CoverageSnapshot.objects.order_by("id").values()),
        "calls": list(MarginCall.objects.order_by("id").values()),
    }


def test_each_state_transition_to_default_flag_and_recovery_closing_the_call(desk, acme):
    # T0: SOL 800 -> 80,000 / 50,000 = 1.60 >= 1.40: ok
    marks(desk, T0, 800)
    revalue(at=T0)
    risk = risk_of(acme)
    assert (risk.state, risk.coverage_ratio, risk.state_since) == ("ok", D("1.6"), T0)
    assert not MarginCall.objects.exists()

    # T1: SOL 690 -> 69,000 / 50,000 = 1.38: warning (1.30 <= 1.38 < 1.40); no call yet
    t1 = T0 + timedelta(minutes=10)
    marks(desk, t1, 690)
    revalue(at=t1)
    risk = risk_of(acme)
    assert (risk.state, risk.state_since, risk.shortfall_usd) == ("warning", t1, D("6000"))  # 75,000 - 69,000
    assert not MarginCall.objects.exists()

    # T2: SOL 600 -> 60,000 / 50,000 = 1.20: call; top-up to required 1.5 x 50,000 - 60,000 = 15,000
    t2 = t1 + timedelta(minutes=10)
    marks(desk, t2, 600)
    counts = revalue(at=t2)
    assert counts["calls_issued"] == 1
    call = MarginCall.objects.get()
    assert (call.status, call.amount_usd, call.initial_amount_usd) == ("open", D("15000"), D("15000"))
    assert (call.issued_at, call.due_at) == (t2, t2 + timedelta(hours=24))
    assert (call.coverage_ratio, call.required_ratio) == (D("1.2"), D("1.5"))
    assert (risk_of(acme).state, risk_of(acme).state_since) == ("call", t2)

    # T3: SOL 550 -> 55,000 / 50,000 = 1.10 < 1.15: critical; the same call now asks 75,000 - 55,000
    t3 = t2 + timedelta(minutes=10)
    marks(desk, t3, 550)
    counts = revalue(at=t3)
    assert (counts["calls_issued"], counts["calls_updated"]) == (0, 1)
    call.refresh_from_db()
    assert (call.status, call.amount_usd, call.initial_amount_usd) == ("open", D("20000"), D("15000"))
    risk = risk_of(acme)
    assert (risk.state, risk.critical_since, risk.default_flagged_at) == ("critical", t3, None)

    # T3 + 23 h 59: still inside the cure period: not flagged. The call (due T2 + 24 h, 10 minutes
    # before T3 + 24 h) is past due: escalated, yet the state stays critical (critical comes first).
    t4 = t3 + timedelta(hours=23, minutes=59)
    marks(desk, t4, 550)
    revalue(at=t4)
    risk = risk_of(acme)
    assert (risk.state, risk.default_flagged_at) == ("critical", None)
    call.refresh_from_db()
    assert (call.status, call.escalated_at) == ("escalated", t4)

    # T3 + 24 h: the cure period has elapsed below critical: flagged for default handling.
    t5 = t3 + timedelta(hours=24)
    marks(desk, t5, 550)
    revalue(at=t5)
    risk = risk_of(acme)
    assert (risk.state, risk.critical_since, risk.default_flagged_at) == ("critical", t3, t5)

    # T6: SOL 760 -> 76,000 / 50,000 = 1.52 >= 1.50: ok; the call is met and the flags cleared
    t6 = t5 + timedelta(minutes=10)
    marks(desk, t6, 760)
    counts = revalue(at=t6)
    assert counts["calls_met"] == 1
    call.refresh_from_db()
    assert (call.status, call.closed_at, call.amount_usd) == ("met", t6, 0)
    risk = risk_of(acme)
    assert (risk.state, risk.state_since, risk.critical_since, risk.default_flagged_at) == (
        "ok",
        t6,
        None,
        None,
    )
    # One snapshot per business date: the day's latest valuation
    assert (
        CoverageSnapshot.objects.filter(counterparty=acme).count() == 2
    )  # T0..T4 on one date, T5.. the next


def test_a_call_unmet_past_its_due_time_is_escalated_and_the_counterparty_in_breach(desk, acme):
    marks(desk, T0, 600)  # 1.20: call
    revalue(at=T0)
    call = MarginCall.objects.get()
    at_due = T0 + timedelta(hours=24)
    marks(desk, at_due, 600)
    revalue(at=at_due)  # due now, not past due
    call.refresh_from_db()
    assert call.status == "open"
    later = at_due + timedelta(minutes=1)
    marks(desk, later, 720)  # 1.44: above call, below required: still unmet
    counts = revalue(at=later)
    call.refresh_from_db()
    assert counts["calls_escalated"] == 1
    assert (call.status, call.escalated_at, call.amount_usd) == (
        "escalated",
        later,
        D("3000"),
    )  # 75,000 - 72,000
    assert (risk_of(acme).state, risk_of(acme).state_since) == ("breach", later)


def test_recovery_between_call_and_required_keeps_the_call_open(desk, acme):
    marks(desk, T0, 600)  # 1.20: call issued for 15,000
    revalue(at=T0)
    t1 = T0 + timedelta(minutes=5)
    marks(desk, t1, 720)  # 1.44: no longer below call, still short of 1.50 by 3,000
    revalue(at=t1)
    call = MarginCall.objects.get()
    assert (call.status, call.amount_usd) == ("open", D("3000"))
    assert risk_of(acme).state == "call"  # on call until it is met


def test_collateral_arriving_meets_the_call(desk, acme):
    marks(desk, T0, 600)
    revalue(at=T0)
    h.pledge(desk["account"], desk["sol"], 25)  # 125 x 600 = 75,000 = 1.5 x 50,000
    t1 = T0 + timedelta(minutes=5)
    marks(desk, t1, 600)
    revalue(at=t1)
    assert MarginCall.objects.get().status == "met"
    assert risk_of(acme).state == "ok"


def test_running_twice_at_the_same_instant_changes_nothing(desk, acme, globex):
    marks(desk, T0, 600)
    h.pledge(h.collateral_account(globex), desk["sol"], 1)
    first = revalue(at=T0)
    assert (first["risk_rows_written"], first["snapshots_written"], first["calls_issued"]) == (2, 2, 1)
    before = everything()
    second = revalue(at=T0)
    assert everything() == before
    assert {k: v for k, v in second.items() if k not in ("counterparties", "needs_review")} == {
        "risk_rows_written": 0,
        "snapshots_written": 0,
        "calls_issued": 0,
        "calls_updated": 0,
        "calls_met": 0,
        "calls_escalated": 0,
    }


def test_every_row_the_revaluation_writes_is_audited_with_its_job(desk, acme, globex):
    # The revaluation answers the audit triggers' "ignore?" look-up without an error per row (an empty
    # pgtrigger.ignore list): every risk row and margin call it writes still has its event.
    marks(desk, T0, 600)  # ACME at 1.20: on call
    h.pledge(h.collateral_account(globex), desk["sol"], 1)
    counts = revalue(at=T0)
    assert (counts["risk_rows_written"], counts["calls_issued"]) == (2, 1)
    written = [
        ("collateral.CounterpartyRisk", risk_of(acme).pk),
        ("collateral.CounterpartyRisk", risk_of(globex).pk),
        ("collateral.MarginCall", MarginCall.objects.get().pk),
    ]
    for model, pk in written:
        [event] = Events.objects.filter(pgh_obj_model=model, pgh_obj_id=str(pk), pgh_label="insert")
        assert event.pgh_context["job"] == "collateral.revalue", model
    # A change at a later instant is audited as an update.
    t1 = T0 + timedelta(minutes=10)
    marks(desk, t1, 700)
    revalue(at=t1)
    [update] = Events.objects.filter(
        pgh_obj_model="collateral.CounterpartyRisk", pgh_obj_id=str(risk_of(acme).pk), pgh_label="update"
    )
    assert D(str(update.pgh_data["coverage_ratio"])) == D("1.4")  # 70,000 / 50,000


def test_a_stale_mark_never_issues_nor_escalates_a_call(desk, acme):
    marks(desk, T0, 600)  # 1.20: call issued for 15,000, due T0 + 24 h
    revalue(at=T0)
    call = MarginCall.objects.get()
    late = T0 + timedelta(hours=30)  # past due, and the marks are 30 hours old
    h.price(desk["sol"], 500, as_of=T0)  # a lower price, but just as stale
    counts = revalue(at=late)
    call.refresh_from_db()
    assert (call.status, call.amount_usd, call.escalated_at) == ("open", D("15000"), None)  # left as is
    assert counts["calls_escalated"] == 0 and counts["needs_review"] == 1
    risk = risk_of(acme)
    assert risk.state == "needs_review"
    assert risk.review_reason.startswith("BTC: mark stale (1801 min old, max 60)")


def test_divergent_sources_put_the_counterparty_under_review_without_a_call(desk, acme):
    marks(desk, T0, 600)  # would be a call at 1.20
    h.price(desk["sol"], 700, as_of=T0 - timedelta(minutes=2), source="other")  # 700 vs 600: > 2 pct
    revalue(at=T0)
    assert not MarginCall.objects.exists()
    risk = risk_of(acme)
    assert risk.state == "needs_review"
    assert risk.review_reason == "SOL: sources disagree (feed 600, other 700)"


def test_critical_since_is_kept_through_review(desk, acme):
    marks(desk, T0, 500)  # 1.00: critical
    revalue(at=T0)
    revalue(at=T0 + timedelta(hours=2))  # marks two hours old: review
    risk = risk_of(acme)
    assert (risk.state, risk.critical_since, risk.default_flagged_at) == ("needs_review", T0, None)


def test_collateral_and_no_loans_is_ok_with_no_ratio(desk_config):
    cp = CounterpartyFactory(code="HOLDER")
    sol = h.asset("SOL")
    h.haircut(sol, 10)
    h.price(sol, 100, as_of=T0 - timedelta(minutes=1))
    h.pledge(h.collateral_account(cp), sol, 3)
    revalue(at=T0)
    risk = risk_of(cp)
    assert (risk.state, risk.coverage_ratio, risk.exposure_usd, risk.collateral_value_usd) == (
        "ok",
        None,
        0,
        D("270"),  # 3 x 100 x 0.9
    )
    assert not MarginCall.objects.exists()


def test_counterparties_with_nothing_get_no_risk_row(desk_config):
    CounterpartyFactory(code="IDLE")
    revalue(at=T0)
    assert not CounterpartyRisk.objects.exists()


def test_the_snapshot_is_the_days_latest_valuation(desk, acme):
    marks(desk, T0, 800)
    revalue(at=T0)
    t1 = T0 + timedelta(minutes=5)
    marks(desk, t1, 690)
    revalue(at=t1)
    snapshot = CoverageSnapshot.objects.get(counterparty=acme)
    assert (snapshot.coverage_ratio, snapshot.state, snapshot.valued_at) == (D("1.38"), "warning", t1)


def test_a_cancelled_call_is_issued_again_while_coverage_stays_below_call(desk, acme, rita):
    marks(desk, T0, 600)
    revalue(at=T0)
    call = MarginCall.objects.get()
    cancel_margin_call(actor=rita, call=call, reason="Agreed a new schedule")
    call.refresh_from_db()
    assert (call.status, call.closed_by, call.note) == ("cancelled", rita, "Agreed a new schedule")
    t1 = T0 + timedelta(minutes=5)
    marks(desk, t1, 600)
    revalue(at=t1)
    again = MarginCall.objects.exclude(pk=call.pk).get()
    assert (again.status, again.issued_at, again.due_at) == ("open", t1, t1 + timedelta(hours=24))


def test_risk_escalates_and_notes_a_call_by_hand(desk, acme, rita):
    marks(desk, T0, 600)
    revalue(at=T0)
    call = MarginCall.objects.get()
    add_note(actor=rita, call=call, text="Client says funds on the way")
    call = escalate_margin_call(actor=rita, call=call, reason="No answer")
    assert (call.status, call.note) == ("escalated", "No answer")
    t1 = T0 + timedelta(minutes=5)
    marks(desk, t1, 600)
    revalue(at=t1)
    assert risk_of(acme).state == "breach"
    with pytest.raises(InvalidState):
        escalate_margin_call(actor=rita, call=call)


def test_margin_call_actions_are_refused_with_nothing_written(desk, acme, rita, bob):
    marks(desk, T0, 600)
    revalue(at=T0)
    call = MarginCall.objects.get()
    before = everything()
    with pytest.raises(PermissionDeniedError):
        add_note(actor=bob, call=call, text="ops cannot")
    with pytest.raises(PermissionDeniedError):
        cancel_margin_call(actor=bob, call=call, reason="ops cannot")
    with pytest.raises(InvalidInput):
        cancel_margin_call(actor=rita, call=call, reason="   ")
    with pytest.raises(InvalidInput):
        add_note(actor=rita, call=call, text="x" * 501)
    assert everything() == before
    cancel_margin_call(actor=rita, call=call, reason="withdrawn")
    with pytest.raises(InvalidState):
        cancel_margin_call(actor=rita, call=call, reason="again")


def test_revaluation_by_hand_needs_the_margin_call_action(desk, bob):
    with pytest.raises(PermissionDeniedError):
        revalue(at=T0, actor=bob)


def test_the_scheduled_job_records_a_job_run(desk, acme):
    from borrowdesk.operations.models import JobRun

    marks(desk, timezone_now := datetime.now(tz=UTC), 800)
    run = JobRun.objects.get(pk=revalue_collateral(window="price:1"))
    assert (run.job, run.window, run.outcome) == ("collateral.revalue", "price:1", "succeeded")
    assert run.counts["risk_rows_written"] == 1
    assert risk_of(acme).valued_at >= timezone_now - timedelta(minutes=1)
    skipped = JobRun.objects.get(pk=revalue_collateral(window="price:1"))  # the same price again
    assert skipped.outcome == "skipped"
