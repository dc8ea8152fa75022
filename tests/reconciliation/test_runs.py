"""The reconciliation run: each break kind against a hand-built book and statement, dust tolerance, the
statement gap, the book as of the statement's time, scopes, and the idempotent re-run."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from borrowdesk.business_day import business_date
from reconciliation.models_runs import Break, BreakActivity, ReconciliationRun
from tests.collateral.factories import collateral_account, pledge
from tests.inventory.factories import desk_asset, firm_account, stock
from tests.reconciliation.run_helpers import breaks, run, statement, user
from tests.refdata.factories import CustodyAccountFactory, VenueFactory


@pytest.fixture
def book(db):
    btc, eth, sol = desk_asset("BTC", 8), desk_asset("ETH", 18, "3000"), desk_asset("SOL", 9, "150")
    main = firm_account("INV-MAIN")
    stock(btc, main, "10")
    stock(eth, main, "5")
    return {"btc": btc, "eth": eth, "sol": sol, "main": main}


def test_each_break_kind_against_a_hand_built_book_and_statement(book):
    statement(book["main"], {book["btc"]: "9.5", book["sol"]: "3"})
    rec = run()
    assert rec.status == "finished"
    assert breaks(rec) == {
        ("INV-MAIN", "BTC", "mismatch"): (D("10"), D("9.5"), D("-0.5"), "open"),
        ("INV-MAIN", "ETH", "missing_external"): (D("5"), None, D("-5"), "open"),
        ("INV-MAIN", "SOL", "missing_internal"): (None, D("3"), D("3"), "open"),
    }
    assert rec.counts["found"] == 3 and rec.counts["by_kind"] == {
        "mismatch": 1, "missing_external": 1, "missing_internal": 1,
    }  # fmt: skip
    assert rec.counts["open"] == 3 and rec.cutoff is not None


def test_a_matching_statement_gives_no_break(book):
    statement(book["main"], {book["btc"]: "10", book["eth"]: "5"})
    rec = run()
    assert breaks(rec) == {} and rec.counts["statements"] == 1


def test_allocated_inventory_is_still_at_the_custodian_and_counts(book, acme):
    from tests.inventory.factories import active_loan

    ops = user("ops-1", "ops")
    active_loan(actor=ops, counterparty=acme, asset=book["btc"], account=book["main"], quantity="4")
    # 4 BTC delivered to the borrower (on_loan) have left custody: the custodian holds 6.
    statement(book["main"], {book["btc"]: "6", book["eth"]: "5"})
    assert breaks(run()) == {}


def test_an_account_without_a_statement_is_a_statement_gap(book):
    other = CustodyAccountFactory(code="INV-COLD", venue=VenueFactory(code="CUST2"), purpose="inventory")
    stock(book["btc"], other, "2")
    CustodyAccountFactory(code="INV-EMPTY", venue=VenueFactory(code="CUST3"), purpose="inventory")
    statement(book["main"], {book["btc"]: "10", book["eth"]: "5"})
    rec = run()
    # The empty account holds nothing in the book: nothing to reconcile, no gap.
    assert breaks(rec) == {("INV-COLD", None, "statement_gap"): (None, None, None, "open")}


def test_a_statement_older_than_the_maximum_age_does_not_count(book, settings):
    settings.RECONCILIATION_STATEMENT_MAX_AGE_HOURS = 24
    statement(book["main"], {book["btc"]: "10", book["eth"]: "5"}, as_of=timezone.now() - timedelta(hours=30))
    assert breaks(run()) == {("INV-MAIN", None, "statement_gap"): (None, None, None, "open")}


def test_differences_within_the_asset_tolerance_are_dust(book, settings):
    settings.RECONCILIATION_TOLERANCES = {"BTC": "0.001"}
    statement(book["main"], {book["btc"]: "10.0009", book["eth"]: "5.000000000000000001"})
    rec = run()
    # BTC within its tolerance; ETH has none (the default 0): one wei is a break.
    assert breaks(rec) == {
        ("INV-MAIN", "ETH", "mismatch"): (
            D("5"),
            D("5.000000000000000001"),
            D("0.000000000000000001"),
            "open",
        )
    }
    later = timezone.now() + timedelta(seconds=1)
    statement(book["main"], {book["btc"]: "10.0011", book["eth"]: "5"}, as_of=later)
    assert {k: v[3] for k, v in breaks(run(now=later)).items()} == {
        ("INV-MAIN", "BTC", "mismatch"): "open",
        ("INV-MAIN", "ETH", "mismatch"): "auto_resolved",
    }


def test_the_default_tolerance_applies_to_every_asset_without_one(book, settings):
    settings.RECONCILIATION_DEFAULT_TOLERANCE = "0.01"
    statement(book["main"], {book["btc"]: "10.005", book["eth"]: "4.995"})
    assert breaks(run()) == {}


# The ledger stamps a journal with its transaction's time (PostgreSQL now()): these two tests commit
# each posting, so the statement can stand between them.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_book_is_taken_as_of_the_statement_time_not_now():
    btc, eth = desk_asset("BTC", 8), desk_asset("ETH", 18, "3000")
    main = firm_account("INV-MAIN")
    stock(btc, main, "10")
    stock(eth, main, "5")
    statement(main, {btc: "10", eth: "5"})
    # After the statement: 3 BTC more received and 1 ETH adjusted away. The custodian could not see them.
    stock(btc, main, "3")
    from inventory.services import adjust

    adjust(actor=user("senior", "ops_senior"), asset=eth, account=main, quantity=D("-1"), reason="test")
    assert breaks(run()) == {}
    # A later statement sees them, and the book as of its time too.
    statement(main, {btc: "13", eth: "4"})
    assert breaks(run()) == {}
    # The book as of now does not agree with the older statement's figures: it would have broken.
    statement(main, {btc: "10", eth: "5"})
    assert set(breaks(run())) == {("INV-MAIN", "BTC", "mismatch"), ("INV-MAIN", "ETH", "mismatch")}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_position_created_after_the_statement_is_not_in_the_book_at_its_time():
    btc, sol = desk_asset("BTC", 8), desk_asset("SOL", 9, "150")
    main = firm_account("INV-MAIN")
    stock(btc, main, "10")
    statement(main, {btc: "10"})
    stock(sol, main, "7")  # SOL arrives after the statement
    assert breaks(run()) == {}
    statement(main, {btc: "10"})  # a statement after it, without SOL: missing on the statement
    assert set(breaks(run())) == {("INV-MAIN", "SOL", "missing_external")}


def test_the_latest_statement_up_to_the_cutoff_is_the_one_compared(book):
    now = timezone.now()
    statement(book["main"], {book["btc"]: "1"}, as_of=now)
    statement(book["main"], {book["btc"]: "10", book["eth"]: "5"}, as_of=now + timedelta(seconds=1))
    statement(book["main"], {book["btc"]: "99"}, as_of=now + timedelta(days=3))  # after the cutoff
    assert breaks(run(now=now + timedelta(seconds=2))) == {}


def test_collateral_scope_compares_pledged_positions_of_collateral_accounts(book, acme):
    coll = collateral_account(acme)
    pledge(acme, book["btc"], "3", account=coll)
    statement(coll, {book["btc"]: "2.5"})
    statement(book["main"], {book["btc"]: "1"})  # an inventory break, out of the collateral scope
    rec = run(scope="collateral")
    assert breaks(rec) == {("ACME-COLL", "BTC", "mismatch"): (D("3"), D("2.5"), D("-0.5"), "open")}
    inventory = run(scope="inventory")
    assert set(breaks(inventory)) == {
        ("INV-MAIN", "BTC", "mismatch"),
        ("INV-MAIN", "ETH", "missing_external"),
    }
    everything = run(scope="all")
    assert set(breaks(everything)) == set(breaks(rec)) | set(breaks(inventory))


def test_a_re_run_updates_the_same_breaks_keeps_owners_and_closes_vanished_ones(book):
    st = statement(book["main"], {book["btc"]: "9.5", book["sol"]: "3"})
    first = run()
    ids = {b.kind: b.pk for b in Break.objects.filter(run=first)}
    owner = user("ops-owner", "ops")
    Break.objects.filter(pk=ids["mismatch"]).update(status="assigned", owner=owner)
    BreakActivity.objects.create(brk_id=ids["mismatch"], kind="comment", at=timezone.now(), text="checking")

    again = run()  # nothing changed: the same breaks, nothing duplicated
    assert again.pk == first.pk and ReconciliationRun.objects.count() == 1
    assert {b.kind: b.pk for b in Break.objects.filter(run=again)} == ids
    assert again.counts["opened"] == 0 and again.counts["updated"] == 3 and again.counts["auto_resolved"] == 0

    # The custodian sends a corrected statement: SOL is gone, BTC now 9.8; ETH still missing.
    statement(book["main"], {book["btc"]: "9.8"}, as_of=st.as_of + timedelta(seconds=1))
    third = run(now=st.as_of + timedelta(seconds=2))
    by_kind = {b.kind: b for b in Break.objects.filter(run=third)}
    assert {k: b.pk for k, b in by_kind.items()} == ids
    assert (by_kind["mismatch"].status, by_kind["mismatch"].owner, by_kind["mismatch"].difference) == (
        "assigned", owner, D("-0.2"),
    )  # fmt: skip
    assert by_kind["missing_internal"].status == "auto_resolved"
    assert by_kind["missing_internal"].resolved_at is not None
    assert by_kind["missing_external"].status == "open"
    assert third.counts["auto_resolved"] == 1 and third.counts["open"] == 2
    kinds = list(BreakActivity.objects.filter(brk_id=ids["mismatch"]).values_list("kind", flat=True))
    assert kinds == ["opened", "comment"]  # its history kept
    gone = BreakActivity.objects.filter(brk_id=ids["missing_internal"])
    assert list(gone.values_list("kind", flat=True)) == [
        "opened", "auto_resolve",
    ]  # fmt: skip


def test_an_auto_resolved_break_that_comes_back_reopens(book):
    st = statement(book["main"], {book["btc"]: "9.5", book["eth"]: "5"})
    run()
    statement(book["main"], {book["btc"]: "10", book["eth"]: "5"}, as_of=st.as_of + timedelta(seconds=1))
    rec = run(now=st.as_of + timedelta(seconds=2))
    assert breaks(rec)[("INV-MAIN", "BTC", "mismatch")][3] == "auto_resolved"
    statement(book["main"], {book["btc"]: "9", book["eth"]: "5"}, as_of=st.as_of + timedelta(seconds=3))
    brk = Break.objects.get(run=rec)
    rec = run(now=st.as_of + timedelta(seconds=4))
    assert breaks(rec)[("INV-MAIN", "BTC", "mismatch")] == (D("10"), D("9"), D("-1"), "open")
    assert Break.objects.get(run=rec).pk == brk.pk and Break.objects.get(pk=brk.pk).resolved_at is None


def test_a_break_still_open_the_next_day_is_carried_with_its_owner_and_age(book):
    yesterday = business_date() - timedelta(days=1)
    old = run(day=yesterday)  # no statement at all: a gap
    owner = user("ops-owner", "ops")
    first = Break.objects.get(run=old)
    assert first.kind == "statement_gap"
    Break.objects.filter(pk=first.pk).update(status="assigned", owner=owner)
    today = run()
    carried = Break.objects.get(run=today)
    assert (carried.carried_from_id, carried.owner, carried.status, carried.opened_at) == (
        first.pk, owner, "assigned", first.opened_at,
    )  # fmt: skip
    first.refresh_from_db()
    assert first.status == "auto_resolved"
    assert today.counts["carried"] == 1
    assert run().counts["carried"] == 0  # a re-run of today carries nothing more


def test_a_run_failing_in_the_middle_writes_no_break_and_is_marked_failed(book, monkeypatch):
    from reconciliation.services import runs

    statement(book["main"], {book["btc"]: "9.5"})
    rec = ReconciliationRun.objects.create(business_date=business_date(), scope="all")
    monkeypatch.setattr(runs, "RUN_SQL", runs.RUN_SQL + " ; SELECT 1/0")
    with pytest.raises(Exception):  # noqa: B017  (the database's division by zero)
        runs.execute_run(run_id=rec.pk)
    rec.refresh_from_db()
    assert rec.status == "failed" and "division by zero" in rec.error
    assert Break.objects.count() == 0


def test_the_run_audits_every_break_it_inserts_and_updates(book):
    """Break's audit triggers are statement-level (one call per run, not per break): every inserted
    break still has its insert event with the acting user, and a re-run's updates, from the upsert and
    from the auto-resolution in the same statement, one update event each with the new values."""
    from django.db.models import F

    from borrowdesk.audit import acting_as

    events = Break.pgh_event_model.objects
    st = statement(book["main"], {book["btc"]: "9.5", book["sol"]: "3"})
    ops = user("ops-audit", "ops")
    with acting_as(ops):
        first = run()
    ids = {b.kind: b.pk for b in Break.objects.filter(run=first)}
    inserted = list(events.filter(pgh_label="insert").select_related("pgh_context"))
    assert sorted(e.pgh_obj_id for e in inserted) == sorted(ids.values())
    assert {e.pgh_context.metadata["user"] for e in inserted} == {ops.pk}
    assert {e.pgh_obj_id: (e.kind, e.difference) for e in inserted} == {
        ids["mismatch"]: ("mismatch", D("-0.5")),
        ids["missing_external"]: ("missing_external", D("-5")),
        ids["missing_internal"]: ("missing_internal", D("3")),
    }
    assert not events.filter(pgh_label="update").exists()

    # A corrected statement: BTC now 9.8 (updated by the upsert), ETH still missing (seen again), SOL
    # gone (closed by the same statement's auto-resolution).
    statement(book["main"], {book["btc"]: "9.8"}, as_of=st.as_of + timedelta(seconds=1))
    run(now=st.as_of + timedelta(seconds=2))
    updates = {e.pgh_obj_id: e for e in events.filter(pgh_label="update")}
    assert set(updates) == set(ids.values()) and events.filter(pgh_label="update").count() == 3
    assert (updates[ids["mismatch"]].difference, updates[ids["mismatch"]].status) == (D("-0.2"), "open")
    assert updates[ids["missing_internal"]].status == "auto_resolved"
    assert updates[ids["missing_internal"]].resolved_at is not None

    # An update that changes nothing records nothing, as the row-level trigger's condition did.
    Break.objects.filter(pk__in=ids.values()).update(status=F("status"))
    assert events.filter(pgh_label="update").count() == 3


def test_a_negative_tolerance_is_refused_and_the_run_fails_without_breaks(book, settings):
    from django.core.exceptions import ImproperlyConfigured

    from reconciliation.services.runs import execute_run

    settings.RECONCILIATION_TOLERANCES = {"BTC": "-0.001"}
    statement(book["main"], {book["btc"]: "9.5"})
    rec = ReconciliationRun.objects.create(business_date=business_date(), scope="all")
    refused = r"RECONCILIATION_TOLERANCES\['BTC'\] must be zero or more"
    with pytest.raises(ImproperlyConfigured, match=refused):
        execute_run(run_id=rec.pk)
    rec.refresh_from_db()
    assert rec.status == "failed" and "zero or more" in rec.error
    assert not Break.objects.exists()
