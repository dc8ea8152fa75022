"""Stress runs against hand-computed figures (the arithmetic beside each assertion).

The fixed book, valued at ``AT`` (default levels: return 1.75, required 1.50, warning 1.40, call 1.30,
critical 1.15; recall weights: rate 40, term 20, coverage 25, relationship 15):

    marks     BTC 50,000 · ETH 3,000 · SOL 100 (not a stablecoin) · USDT 1 (a stablecoin)
    haircuts  BTC 10 % · SOL 20 % · USDT 5 %
    inventory INV-MAIN received 40 ETH and 2 BTC from the lender LENDCO, 1 BTC of the firm's own
    ACME     owes 20 ETH (500 bps, open-ended) = 60,000;  pledged 2 BTC: 2 x 50,000 x 0.90 = 90,000
    GLOBEX   owes 1.25 BTC (300 bps, open-ended) = 62,500; pledged 100,000 USDT: x 1 x 0.95 = 95,000
    INITECH  owes 10 ETH (200 bps, 30-day term) = 30,000; pledged 500 SOL: 500 x 100 x 0.80 = 40,000
    available ETH 40 - 20 - 10 = 10 · BTC 3 - 1.25 = 1.75

Before any shock: ACME 90,000 / 60,000 = 1.5 (shortfall 1.5 x 60,000 - 90,000 = 0, ok);
GLOBEX 95,000 / 62,500 = 1.52 (93,750 <= 95,000: 0, ok); INITECH 40,000 / 30,000 = 1.333333
(45,000 - 40,000 = 5,000, warning). Firm shortfall before: 5,000.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from borrowdesk.errors import InvalidInput, PermissionDeniedError
from collateral.models import StressScenario
from collateral.selectors.coverage import coverage_rows
from collateral.services.stress import run_stress
from tests.collateral import stress_helpers as s
from tests.collateral import valuation_helpers as h
from tests.inventory.factories import ledger_state
from tests.refdata.factories import CounterpartyFactory

D = Decimal
AT = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
FRESH = AT - timedelta(minutes=5)


@pytest.fixture
def book(desk_config, acme, globex):
    s.seed_scenarios()
    initech = CounterpartyFactory(code="INITECH", legal_name="Initech Inc")
    lendco = s.lender("LENDCO")
    btc, eth, sol = h.asset("BTC"), h.asset("ETH"), h.asset("SOL")
    usdt = h.asset("USDT", decimals=6, stablecoin=True)
    for a, p in ((btc, 50000), (eth, 3000), (sol, 100), (usdt, 1)):
        h.price(a, p, as_of=FRESH)
    h.haircut(btc, 10)
    h.haircut(sol, 20)
    h.haircut(usdt, 5)
    s.receive_from(eth, 40, source=lendco)
    s.receive_from(btc, 2, source=lendco)
    s.receive_from(btc, 1)  # the firm's own: not recalled by lenders
    loans = {
        "acme": s.loan(acme, eth, 20, rate_bps=500),
        "initech": s.loan(initech, eth, 10, rate_bps=200, term_days=30),
        "globex": s.loan(globex, btc, "1.25", rate_bps=300),
    }
    h.pledge(h.collateral_account(acme), btc, 2)
    h.pledge(h.collateral_account(globex), usdt, 100000)
    h.pledge(h.collateral_account(initech), sol, 500)
    return {"btc": btc, "eth": eth, "sol": sol, "usdt": usdt, "initech": initech, "loans": loans}


def _by_cp(result):
    return {r.counterparty: r for r in result.rows}


def test_crypto_crash_matches_the_hand_computation(book, rita):
    result = run_stress(actor=rita, scenario="crypto crash", at=AT)
    # BTC -30 % → 35,000; ETH -40 % → 1,800; SOL (other) -50 % → 50; USDT (stablecoin) -2 % → 0.98
    rows = _by_cp(result)
    acme, globex, initech = rows["ACME"], rows["GLOBEX"], rows["INITECH"]
    assert acme.exposure_usd == D("36000")  # 20 x 1,800
    assert acme.collateral_value_usd == D("63000")  # 2 x 35,000 x 0.90
    assert (acme.coverage_before, acme.coverage_after) == (D("1.5"), D("1.75"))  # 63,000 / 36,000
    assert acme.shortfall_usd == 0  # 1.5 x 36,000 = 54,000 <= 63,000
    assert globex.exposure_usd == D("43750")  # 1.25 x 35,000
    assert globex.collateral_value_usd == D("93100")  # 100,000 x 0.98 x 0.95
    assert (globex.coverage_before, globex.coverage_after) == (D("1.52"), D("2.128"))  # 93,100 / 43,750
    assert globex.shortfall_usd == 0
    assert initech.exposure_usd == D("18000")  # 10 x 1,800
    assert initech.collateral_value_usd == D("20000")  # 500 x 50 x 0.80
    assert (initech.coverage_before, initech.coverage_after) == (D("1.333333"), D("1.111111"))
    assert (initech.shortfall_before_usd, initech.shortfall_usd) == (D("5000"), D("7000"))  # 27,000 - 20,000
    assert (initech.state_before, initech.state_after) == ("warning", "critical")  # 1.111 < 1.15
    assert (result.firm_shortfall_before_usd, result.firm_shortfall_usd) == (D("5000"), D("7000"))
    # The largest shortfall after first; equal ones by the shortfall before, then by code.
    assert [r.counterparty for r in result.rows] == ["INITECH", "ACME", "GLOBEX"]
    assert result.parameters.label == "crypto crash v1"
    assert result.parameters.markdowns == {"BTC": D("30"), "ETH": D("40")}
    assert result.recall is None


def test_stablecoin_depeg_matches_the_hand_computation(book, rita):
    result = run_stress(actor=rita, scenario="stablecoin depeg", at=AT)
    rows = _by_cp(result)
    globex = rows["GLOBEX"]
    assert globex.collateral_value_usd == D("85500")  # 100,000 x 0.90 x 0.95
    assert globex.exposure_usd == D("62500")  # BTC does not move
    assert globex.coverage_after == D("1.368")  # 85,500 / 62,500
    assert globex.shortfall_usd == D("8250")  # 1.5 x 62,500 - 85,500
    assert (globex.state_before, globex.state_after) == ("ok", "warning")  # 1.30 <= 1.368 < 1.40
    for code in ("ACME", "INITECH"):  # no USDT: nothing moves
        assert rows[code].coverage_after == rows[code].coverage_before
        assert rows[code].shortfall_usd == rows[code].shortfall_before_usd
    assert result.firm_shortfall_usd == D("13250")  # 8,250 + 5,000
    assert [r.counterparty for r in result.rows] == ["GLOBEX", "INITECH", "ACME"]


def test_lender_run_recalls_half_of_the_lenders_inventory(book, rita):
    result = run_stress(actor=rita, scenario="lender run", at=AT)
    for row in result.rows:  # no price moves
        assert row.coverage_after == row.coverage_before
    assert result.firm_shortfall_usd == D("5000")
    plans = {plan.asset_symbol: (inv, plan) for inv, plan in result.recall.by_asset}
    btc_inv, btc = plans["BTC"]
    assert btc_inv.quantity == D("2")  # from LENDCO only; the firm's own 1 BTC is not recalled
    assert btc.demand == D("1")  # 0.5 x 2
    assert btc.available == D("1.75")  # 3 - 1.25 on loan
    assert (btc.gap, btc.loans) == (D("0"), [])  # available inventory meets it
    eth_inv, eth = plans["ETH"]
    assert (eth_inv.quantity, eth.demand, eth.available) == (D("40"), D("20"), D("10"))
    assert eth.gap == D("10")  # 20 demanded - 10 available
    # Ranking the ETH loans:
    #   INITECH: rate 200 lowest → 40; fixed term → 0; coverage (1.75 - 1.333333) / (1.75 - 1.15)
    #            = 0.694445 x 25 = 17.36; relationship 30,000 smallest → 15; score 72.36
    #   ACME:    rate 500 highest → 0; open-ended → 20; coverage (1.75 - 1.5) / 0.6 = 0.416667 x 25
    #            = 10.42; relationship 60,000 largest → 0; score 30.42
    initech, acme = eth.candidates
    assert (initech.loan.counterparty_code, initech.score) == ("INITECH", D("72.36"))
    assert initech.parts == {"rate": D("40"), "term": D("0"), "coverage": D("17.36"), "relationship": D("15")}
    assert (acme.loan.counterparty_code, acme.score) == ("ACME", D("30.42"))
    assert acme.parts == {"rate": D("0"), "term": D("20"), "coverage": D("10.42"), "relationship": D("0")}
    assert initech.reasons == [
        "rate 2.00 % (lowest of 2)",
        f"fixed term to {book['loans']['initech'].maturity_date.isoformat()}",
        "coverage 1.33 (below warning)",
        "relationship $30,000.00 open (smallest of 2)",
    ]
    assert acme.reasons[1] == "open-ended: callable any day"
    # INITECH's 10 ETH covers the gap of 10 on its own.
    assert [(p.candidate.loan.loan_id, p.quantity, p.cumulative) for p in eth.loans] == [
        (book["loans"]["initech"].pk, D("10"), D("10"))
    ]
    assert eth.gap_left == 0


def test_a_full_recall_beyond_the_loans_leaves_a_gap(book, rita, globex):
    # GLOBEX's loan pending delivery holds 5 of the 10 ETH available and cannot be recalled (only an
    # active loan can): available 5, demand 40 (all of LENDCO's), gap 35; INITECH 10 then ACME 20
    # cover 30 and leave 5.
    s.loan(globex, book["eth"], 5, delivered=False)
    result = run_stress(actor=rita, recall_fraction="1", at=AT)
    (eth,) = [plan for _inv, plan in result.recall.by_asset if plan.asset_symbol == "ETH"]
    assert (eth.demand, eth.available, eth.gap) == (D("40"), D("5"), D("35"))
    assert [(p.candidate.loan.counterparty_code, p.quantity, p.cumulative) for p in eth.loans] == [
        ("INITECH", D("10"), D("10")),
        ("ACME", D("20"), D("30")),
    ]
    assert (eth.recalled, eth.gap_left) == (D("30"), D("5"))
    assert result.parameters.label == "Custom parameters"


def test_recalls_in_flight_count_before_new_ones(book, rita, bob):
    from inventory.services import recall_loan

    recall_loan(actor=bob, loan=book["loans"]["acme"], quantity=D("4"), due_at=AT + timedelta(days=400))
    result = run_stress(actor=rita, recall_fraction="1", at=AT)
    (eth,) = [plan for _inv, plan in result.recall.by_asset if plan.asset_symbol == "ETH"]
    # demand 40 - available 10 - 4 already asked back = 26; INITECH 10, then ACME's 20 less 4 recalled
    assert (eth.in_flight, eth.gap) == (D("4"), D("26"))
    assert [(p.candidate.loan.counterparty_code, p.quantity) for p in eth.loans] == [
        ("INITECH", D("10")),
        ("ACME", D("16")),
    ]
    assert eth.gap_left == 0


def test_the_empty_scenario_is_the_coverage_exactly(book, rita):
    result = run_stress(actor=rita, at=AT)
    coverage = {r.counterparty_code: r for r in coverage_rows(at=AT)}
    assert {r.counterparty for r in result.rows} == {"ACME", "GLOBEX", "INITECH"}  # LENDCO holds nothing
    for row in result.rows:
        c = coverage[row.counterparty]
        assert (row.exposure_usd, row.exposure_before_usd) == (c.exposure_usd, c.exposure_usd)
        assert (row.collateral_value_usd, row.collateral_value_before_usd) == (c.collateral_value_usd,) * 2
        assert (row.coverage_after, row.coverage_before) == (c.coverage_ratio, c.coverage_ratio)
        assert (row.shortfall_usd, row.shortfall_before_usd) == (c.shortfall_usd, c.shortfall_usd)
        assert row.state_before == row.state_after == c.ratio_state
    assert result.firm_shortfall_usd == result.firm_shortfall_before_usd == D("5000")


def test_explicit_parameters_replace_the_scenarios(book, rita):
    # crypto crash with only SOL marked down by 10 %: the given markdowns are the whole table.
    result = run_stress(actor=rita, scenario="crypto crash", markdowns={"sol": "10"}, at=AT)
    assert result.parameters.markdowns == {"SOL": D("10")}  # the symbol matched whatever its case
    assert result.parameters.label == "crypto crash v1 (edited)"
    initech = _by_cp(result)["INITECH"]
    assert initech.collateral_value_usd == D("36000")  # 500 x 90 x 0.80
    # ETH is now an "other" asset of the scenario (-50 %): 10 x 1,500 = 15,000
    assert initech.exposure_usd == D("15000")


def test_a_saved_symbol_not_in_reference_data_is_ignored_with_a_note(book, rita):
    StressScenario.objects.create(name="meme crash", version=1, markdowns={"DOGE": "80", "SOL": "60"})
    result = run_stress(actor=rita, scenario="meme crash", at=AT)
    assert result.parameters.markdowns == {"SOL": D("60")}
    assert result.notes == ["meme crash: DOGE is not an asset in reference data; its markdown is ignored."]
    assert _by_cp(result)["INITECH"].collateral_value_usd == D("16000")  # 500 x 40 x 0.80


def test_a_haircut_add_on_applies_to_every_haircut(book, rita):
    result = run_stress(actor=rita, haircut_addon_pct="10", at=AT)
    rows = _by_cp(result)
    assert rows["ACME"].collateral_value_usd == D("80000")  # 2 x 50,000 x (1 - 0.20)
    assert rows["INITECH"].collateral_value_usd == D("35000")  # 500 x 100 x (1 - 0.30)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"markdowns": {"BTC": "101"}}, "markdowns"),
        ({"markdowns": {"BTC": "-1"}}, "markdowns"),
        ({"markdowns": {"BTC": "30.12345"}}, "markdowns"),  # 5 decimal places
        ({"markdowns": {"BTC": "NaN"}}, "markdowns"),
        ({"markdowns": {"BTC": "1e400"}}, "markdowns"),
        ({"markdowns": {"BTC": True}}, "markdowns"),
        ({"markdowns": {"BTC": {"x": 1}}}, "markdowns"),
        ({"markdowns": {"NOPE": "10"}}, "markdowns"),
        ({"markdowns": {"BT\x00C": "10"}}, "markdowns"),
        ({"markdowns": ["BTC", "30"]}, "markdowns"),
        ({"other_markdown_pct": "100.5"}, "other_markdown_pct"),
        ({"stablecoin_markdown_pct": "abc"}, "stablecoin_markdown_pct"),
        ({"haircut_addon_pct": "-0.0001"}, "haircut_addon_pct"),
        ({"recall_fraction": "1.5"}, "recall_fraction"),
        ({"recall_fraction": "0.12345"}, "recall_fraction"),
        ({"scenario": "no such scenario"}, "scenario"),
    ],
)
def test_bad_parameters_are_refused_naming_the_field_and_nothing_changes(book, rita, kwargs, field):
    before = (ledger_state(), list(StressScenario.objects.values_list("id", "version", "is_active")))
    with pytest.raises(InvalidInput) as refused:
        run_stress(actor=rita, at=AT, **kwargs)
    assert field in refused.value.fields
    assert (ledger_state(), list(StressScenario.objects.values_list("id", "version", "is_active"))) == before


def test_only_risk_and_managers_run_a_stress(book, alice, bob, audrey, mona):
    for user in (alice, bob, audrey):
        with pytest.raises(PermissionDeniedError):
            run_stress(actor=user, at=AT)
    assert run_stress(actor=mona, at=AT).firm_shortfall_usd == D("5000")


def test_a_stale_mark_leaves_the_counterparty_out_of_the_firm_shortfall(book, rita):
    # At AT + 2 hours every mark is older than the default 60 minutes: all under review, figures kept.
    result = run_stress(actor=rita, scenario="crypto crash", at=AT + timedelta(hours=2))
    assert all(r.state_after == "needs_review" and r.state_before == "needs_review" for r in result.rows)
    # Stale marks still value (the figures are known), so the sums hold; review is the state.
    assert result.firm_shortfall_usd == D("7000")
