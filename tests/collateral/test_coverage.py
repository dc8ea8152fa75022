"""Coverage against hand-computed figures (the arithmetic is written beside each assertion).

Default levels (settings.COLLATERAL_LEVELS): return 1.75, required 1.50, warning 1.40, call 1.30,
critical 1.15. Marks, rules and agreements are read at a fixed instant ``AT``.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from collateral.selectors.coverage import (
    COVERAGE_SQL,
    SQL_PATH,
    Scenario,
    coverage_for,
    coverage_rows,
    live_state,
)
from tests.collateral import valuation_helpers as h
from tests.refdata.factories import CounterpartyFactory

D = Decimal
AT = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
FRESH = AT - timedelta(minutes=5)


@pytest.fixture
def book(desk_config, acme):
    """ACME owes 2 BTC (mark 50,000) and pledged 60 ETH (mark 3,000, haircut 10) and 1,000 XYZ
    (mark 2, no haircut rule: ineligible) in its collateral account at CUST1."""
    btc, eth, xyz = h.asset("BTC"), h.asset("ETH"), h.asset("XYZ")
    for a, p in ((btc, 50000), (eth, 3000), (xyz, 2)):
        h.price(a, p, as_of=FRESH)
    h.haircut(btc, 5)
    h.haircut(eth, 10)
    account = h.collateral_account(acme)
    h.pledge(account, eth, 60)
    h.pledge(account, xyz, 1000)
    h.lend(acme, btc, 2)
    return {"btc": btc, "eth": eth, "xyz": xyz, "account": account}


def test_coverage_of_a_counterparty_matches_the_hand_computation(book, acme):
    row = coverage_for(acme, at=AT)
    assert row.exposure_usd == D("100000")  # 2 BTC x 50,000
    assert row.collateral_value_usd == D("162000")  # 60 ETH x 3,000 x (1 - 10/100)
    assert row.ineligible_value_usd == D("2000")  # 1,000 XYZ x 2, no rule: worth 0 as collateral
    assert row.coverage_ratio == D("1.62")  # 162,000 / 100,000
    assert row.shortfall_usd == 0  # 1.5 x 100,000 = 150,000 <= 162,000
    assert row.excess_usd == 0  # 1.62 is not above the return level 1.75
    assert (row.ratio_state, row.needs_review, row.review_reason) == ("ok", False, "")
    assert (row.required_ratio, row.call_ratio, row.critical_ratio) == (D("1.5"), D("1.3"), D("1.15"))
    assert row.base_collateral_value_usd == row.collateral_value_usd  # no scenario: base = coverage


def test_excess_over_the_return_level_is_a_suggested_release(book, acme):
    h.pledge(book["account"], book["eth"], 20)  # 80 ETH x 3,000 x 0.9 = 216,000
    row = coverage_for(acme, at=AT)
    assert row.coverage_ratio == D("2.16")  # 216,000 / 100,000 > 1.75
    assert row.excess_usd == D("66000")  # 216,000 - 1.5 x 100,000


@pytest.mark.parametrize(
    ("eth_price", "ratio", "state", "shortfall"),
    [
        # 60 x p x 0.9 = 54p of value against 100,000
        ("2600", "1.404", "ok", "9600"),  # 140,400: >= 1.40; short of 150,000 by 9,600
        ("2500", "1.35", "warning", "15000"),  # 135,000: 1.30 <= 1.35 < 1.40
        ("2250", "1.215", "call", "28500"),  # 121,500: 1.15 <= 1.215 < 1.30
        ("2000", "1.08", "critical", "42000"),  # 108,000 < 1.15 x 100,000
    ],
)
def test_ratio_state_and_shortfall_by_level(book, acme, eth_price, ratio, state, shortfall):
    h.price(book["eth"], eth_price, as_of=FRESH + timedelta(minutes=1))
    row = coverage_for(acme, at=AT)
    assert (row.coverage_ratio, row.ratio_state, row.shortfall_usd) == (D(ratio), state, D(shortfall))


@pytest.mark.parametrize(
    ("sol", "state"),
    [
        ("750", "ok"),  # 75,000 = 1.50 x 50,000: required met exactly
        ("700", "ok"),  # 70,000 = 1.40 x 50,000: at the warning level is still ok
        ("650", "warning"),  # 65,000 = 1.30 x 50,000: at the call level is not on call
        ("575", "call"),  # 57,500 = 1.15 x 50,000: at the critical level is not critical
    ],
)
def test_a_level_itself_belongs_to_the_better_state(desk_config, globex, sol, state):
    btc, sol_asset = h.asset("BTC"), h.asset("SOL")
    h.price(btc, 50000, as_of=FRESH)
    h.price(sol_asset, 100, as_of=FRESH)
    h.haircut(sol_asset, 0)
    h.lend(globex, btc, 1)
    h.pledge(h.collateral_account(globex), sol_asset, sol)
    row = coverage_for(globex, at=AT)
    assert row.ratio_state == state
    assert row.shortfall_usd == max(D(0), D("75000") - D(sol) * 100)  # 1.5 x 50,000 - value


def test_collateral_and_no_loans_is_ok_with_no_ratio(desk_config):
    cp = CounterpartyFactory(code="NOLOANS")
    eth = h.asset("ETH")
    h.price(eth, 3000, as_of=FRESH)
    h.haircut(eth, 10)
    h.pledge(h.collateral_account(cp), eth, 1)
    row = coverage_for(cp, at=AT)
    assert row.exposure_usd == 0
    assert row.collateral_value_usd == D("2700")  # 1 x 3,000 x 0.9
    assert row.coverage_ratio is None  # no exposure: no ratio
    assert (row.ratio_state, row.shortfall_usd) == ("ok", 0)
    assert row.excess_usd == D("2700")  # nothing owed: all of it may be released


def test_loans_with_no_collateral_are_critical_with_the_whole_top_up_short(desk_config):
    cp = CounterpartyFactory(code="NAKED")
    btc = h.asset("BTC")
    h.price(btc, 50000, as_of=FRESH)
    h.lend(cp, btc, "0.5", delivered=False)  # pending delivery counts as exposure too
    row = coverage_for(cp, at=AT)
    assert row.exposure_usd == D("25000")  # 0.5 x 50,000
    assert row.collateral_value_usd == 0
    assert row.coverage_ratio == 0
    assert row.ratio_state == "critical"
    assert row.shortfall_usd == D("37500")  # 1.5 x 25,000 - 0


def test_a_counterparty_with_nothing_is_ok_at_zero(desk_config):
    cp = CounterpartyFactory(code="EMPTY")
    row = coverage_for(cp, at=AT)
    assert (row.exposure_usd, row.collateral_value_usd, row.ineligible_value_usd) == (0, 0, 0)
    assert (row.coverage_ratio, row.ratio_state, row.needs_review) == (None, "ok", False)


def test_closed_loans_and_other_buckets_are_not_counted(book, acme):
    from inventory.services import return_loan

    loan = h.lend(acme, book["btc"], 1)  # a second loan, returned in full
    return_loan(actor=h.ops_user(), loan=loan, quantity=D("1"))
    row = coverage_for(acme, at=AT)
    assert row.exposure_usd == D("100000")  # still 2 BTC: the closed loan is not exposure


def test_haircut_precedence_most_specific_rule_wins(desk_config, acme, globex):
    # ACME and GLOBEX each pledge 1 SOL (mark 100) at venue V1 and at venue V2.
    sol = h.asset("SOL")
    h.price(sol, 100, as_of=FRESH)
    v1, v2 = h.venue("V1"), h.venue("V2")
    h.haircut(sol, 20)  # asset only
    h.haircut(sol, 15, venue_=v1)  # venue
    h.haircut(sol, 10, counterparty=acme)  # counterparty
    h.haircut(sol, 5, counterparty=acme, venue_=v1)  # counterparty + venue
    for cp in (acme, globex):
        for v in ("V1", "V2"):
            h.pledge(h.collateral_account(cp, venue_code=v), sol, 1)
    rows = {r.counterparty_code: r for r in coverage_rows(counterparty_ids=[acme.pk, globex.pk], at=AT)}
    # ACME: V1 counterparty+venue 5 -> 95; V2 counterparty 10 -> 90
    assert rows["ACME"].collateral_value_usd == D("185")
    # GLOBEX: V1 venue 15 -> 85; V2 asset only 20 -> 80
    assert rows["GLOBEX"].collateral_value_usd == D("165")
    assert v2  # (venue V2 has no rule of its own)


def test_the_version_in_force_at_the_instant_applies(desk_config, acme):
    sol = h.asset("SOL")
    h.price(sol, 100, as_of=FRESH)
    h.haircut(sol, 20, effective_from=AT - timedelta(days=2))
    h.haircut(sol, 30, effective_from=AT - timedelta(days=1))  # the later version in force at AT
    h.haircut(sol, 40, effective_from=AT - timedelta(days=1))  # same instant: the greatest id wins
    h.haircut(sol, 1, effective_from=AT + timedelta(hours=1))  # not yet in force at AT
    h.haircut(sol, 0, status="pending_approval", effective_from=AT - timedelta(hours=1))  # awaiting
    h.haircut(sol, 2, status="rejected", effective_from=AT - timedelta(hours=1))  # never in force
    h.pledge(h.collateral_account(acme), sol, 10)
    assert coverage_for(acme, at=AT).collateral_value_usd == D("600")  # 10 x 100 x (1 - 40/100)
    assert coverage_for(acme, at=AT + timedelta(hours=2)).collateral_value_usd == D("990")  # 1 applies


def test_a_haircut_of_100_is_ineligible(desk_config, acme):
    sol = h.asset("SOL")
    h.price(sol, 100, as_of=FRESH)
    h.haircut(sol, 100)
    h.pledge(h.collateral_account(acme), sol, 3)
    row = coverage_for(acme, at=AT)
    assert (row.collateral_value_usd, row.ineligible_value_usd) == (0, D("300"))


def test_agreement_levels_replace_the_defaults(book, acme):
    h.agreement(
        acme,
        return_ratio="2",
        required_ratio="1.8",
        warning_ratio="1.7",
        call_ratio="1.65",
        critical_ratio="1.2",
    )
    h.agreement(acme, effective_from=AT + timedelta(days=1), required_ratio="1.45")  # later: not in force
    row = coverage_for(acme, at=AT)
    assert (row.required_ratio, row.call_ratio) == (D("1.8"), D("1.65"))
    assert row.ratio_state == "call"  # 1.62 < 1.65
    assert row.shortfall_usd == D("18000")  # 1.8 x 100,000 - 162,000


# --- marks -----------------------------------------------------------------------------------------


def test_missing_mark_is_never_zero(desk_config, acme):
    nom = h.asset("NOM")  # owed, never priced
    eth = h.asset("ETH")
    h.price(eth, 3000, as_of=FRESH)
    h.haircut(eth, 10)
    h.pledge(h.collateral_account(acme), eth, 10)
    h.lend(acme, nom, 5)
    row = coverage_for(acme, at=AT)
    assert row.exposure_usd is None  # unknown, not 0
    assert row.collateral_value_usd == D("27000")  # 10 x 3,000 x 0.9: known
    assert (row.coverage_ratio, row.shortfall_usd, row.ratio_state) == (None, None, None)
    assert row.needs_review and row.review_reason == "NOM: no mark"
    assert live_state(row, None) == "needs_review"


def test_missing_mark_of_eligible_collateral_makes_the_value_unknown(desk_config, acme):
    nom = h.asset("NOM")
    h.haircut(nom, 10)
    h.pledge(h.collateral_account(acme), nom, 5)
    row = coverage_for(acme, at=AT)
    assert (row.collateral_value_usd, row.ineligible_value_usd) == (None, 0)
    assert row.needs_review


def test_a_pending_override_or_a_later_price_is_not_the_mark(book, acme):
    h.price(book["eth"], 1, as_of=FRESH + timedelta(minutes=1), status="pending")
    h.price(book["eth"], 1, as_of=AT + timedelta(minutes=1))  # stamped after the instant
    assert coverage_for(acme, at=AT).collateral_value_usd == D("162000")  # still 3,000


def test_stale_mark_needs_review(book, acme):
    book_eth = book["eth"]
    later = AT + timedelta(minutes=56)  # FRESH (AT - 5) is now 61 minutes old: > 60 (the default)
    row = coverage_for(acme, at=later)
    assert row.needs_review
    assert row.review_reason == (
        "BTC: mark stale (61 min old, max 60); ETH: mark stale (61 min old, max 60); "
        "XYZ: mark stale (61 min old, max 60)"
    )
    assert row.collateral_value_usd == D("162000")  # a stale figure is shown, but flagged
    h.mark_policy(book_eth, max_age_minutes=90)
    h.mark_policy(book["btc"], max_age_minutes=90)
    h.mark_policy(book["xyz"], max_age_minutes=90)
    assert not coverage_for(acme, at=later).needs_review  # 61 <= 90


def test_a_mark_exactly_at_its_max_age_is_fresh(book, acme):
    assert not coverage_for(acme, at=FRESH + timedelta(minutes=60)).needs_review


def test_divergent_sources_need_review(book, acme):
    eth = book["eth"]
    h.price(eth, "3090", as_of=FRESH - timedelta(minutes=1), source="other")  # 3,090 vs 3,000: 3 > 2
    row = coverage_for(acme, at=AT)
    assert row.needs_review
    assert row.review_reason == "ETH: sources disagree (feed 3000, other 3090)"
    assert row.collateral_value_usd == D("162000")  # the mark is still the latest price (feed's)


def test_sources_within_tolerance_or_outside_the_window_agree(book, acme):
    eth = book["eth"]
    h.price(eth, "3060", as_of=FRESH - timedelta(minutes=1), source="other")  # 60 <= 2 pct of 3,000
    h.price(eth, "9999", as_of=AT - timedelta(minutes=61), source="old")  # outside the 60-minute window
    h.price(eth, "9999", as_of=FRESH, source="third", status="pending")  # a pending override: no source
    assert not coverage_for(acme, at=AT).needs_review


def test_a_counterparty_not_holding_the_asset_is_not_under_review(book, acme, globex):
    h.price(book["eth"], "3090", as_of=FRESH, source="other")
    rows = {r.counterparty_code: r for r in coverage_rows(counterparty_ids=[acme.pk, globex.pk], at=AT)}
    assert rows["ACME"].needs_review and not rows["GLOBEX"].needs_review


# --- scenarios, deltas, one query ------------------------------------------------------------------


def test_the_empty_scenario_equals_coverage(book, acme, globex):
    assert coverage_rows(at=AT, scenario=Scenario()) == coverage_rows(at=AT)


def test_a_scenario_marks_down_prices_and_adds_to_haircuts(book, acme):
    usdt = h.asset("USDT", stablecoin=True)
    h.price(usdt, 1, as_of=FRESH)
    h.haircut(usdt, 2)
    h.pledge(book["account"], usdt, 10000)  # + 10,000 x 1 x 0.98 = 9,800: value 171,800
    scenario = Scenario(
        markdowns={book["btc"].pk: D("30")},
        stablecoin_markdown_pct=D("2"),
        other_markdown_pct=D("50"),
        haircut_addon_pct=D("5"),
    )
    row = coverage_for(acme, at=AT, scenario=scenario)
    assert row.exposure_usd == D("70000")  # 2 BTC x 50,000 x 0.7
    # ETH: 60 x 1,500 x (1 - 15/100) = 76,500; USDT: 10,000 x 0.98 x (1 - 7/100) = 9,114
    assert row.collateral_value_usd == D("85614")
    assert row.ineligible_value_usd == D("1000")  # 1,000 XYZ x 1 (50 off)
    assert row.coverage_ratio == D("1.223057")  # 85,614 / 70,000 = 1.2230571...
    assert row.shortfall_usd == D("19386")  # 1.5 x 70,000 - 85,614
    assert row.ratio_state == "call"
    assert (row.base_exposure_usd, row.base_collateral_value_usd) == (D("100000"), D("171800"))
    assert row.base_coverage_ratio == D("1.718")
    assert row.base_shortfall_usd == 0


def test_haircut_add_on_is_capped_at_100(book, acme):
    row = coverage_for(acme, at=AT, scenario=Scenario(haircut_addon_pct=D("95")))
    assert row.collateral_value_usd == 0  # 10 + 95 -> 100: nothing counts
    assert row.ineligible_value_usd == D("182000")  # 60 x 3,000 + 1,000 x 2


def test_pledged_deltas_value_a_release_before_it_is_posted(book, acme):
    eth, account = book["eth"], book["account"]
    (row,) = coverage_rows(counterparty_ids=[acme.pk], at=AT, pledged_deltas=[(account.pk, eth.pk, D("-10"))])
    assert row.collateral_value_usd == D("135000")  # 50 x 3,000 x 0.9


@pytest.mark.parametrize("count", [2, 20])
def test_one_query_whatever_the_number_of_counterparties(desk_config, django_assert_num_queries, count):
    eth = h.asset("ETH")
    h.price(eth, 3000, as_of=FRESH)
    h.haircut(eth, 10)
    cps = [CounterpartyFactory(code=f"CP{i}") for i in range(count)]
    for cp in cps:
        h.pledge(h.collateral_account(cp), eth, 1)
    with django_assert_num_queries(1):  # the coverage statement
        rows = coverage_rows(counterparty_ids=[cp.pk for cp in cps], at=AT)
    assert [r.collateral_value_usd for r in rows] == [D("2700")] * count


def test_the_query_run_is_the_file_with_refdatas_mark_rule():
    text = SQL_PATH.read_text()
    assert "{mark_of_asset}" in text and "{mark_of_asset}" not in COVERAGE_SQL
    assert "p.status = 'applied'" in COVERAGE_SQL  # refdata's rule: pending overrides never count


def test_a_dust_loan_caps_the_ratio_at_what_the_desk_stores(desk_config, acme):
    from collateral.services.valuation import revalue

    btc, eth = h.asset("BTC"), h.asset("ETH")
    h.price(btc, "0.01", as_of=FRESH)
    h.price(eth, 3000, as_of=FRESH)
    h.haircut(eth, 0)
    h.pledge(h.collateral_account(acme), eth, 1000)  # 3,000,000 of collateral
    h.lend(acme, btc, "0.00000001")  # 0.00000001 x 0.01 = 0.0000000001: rounds to 0 exposure
    h.lend(acme, btc, "1")  # 0.01 of exposure: 300,000,000 times covered
    row = coverage_for(acme, at=AT)
    assert row.coverage_ratio == D("999999.999999")
    assert row.ratio_state == "ok"
    revalue(at=AT)  # stored without overflowing the ratio column
