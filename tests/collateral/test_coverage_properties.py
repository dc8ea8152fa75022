"""Property tests of the coverage SQL (hypothesis): for random small books (marks, some missing;
haircut rules at every level of precedence; pledges at two venues; open loans),

- the set-based SQL equals a plain-Python recomputation of the same rules,
- collateral value is monotone in price (a deeper markdown never raises it) and in haircut (a larger
  add-on never raises it), and coverage, value and shortfall are never negative.

Each example runs in a transaction rolled back at its end, so each starts from the same empty book.
"""

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collateral.selectors.coverage import Scenario, coverage_rows
from inventory.models import Loan, LoanStatus
from tests.collateral import valuation_helpers as h
from tests.refdata.factories import CounterpartyFactory

D = Decimal
AT = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
CPS = ["CPA", "CPB", "CPC"]
ASSETS = ["BTC", "ETH", "USDT"]
VENUES = ["V1", "V2"]
LEVELS = {
    "return": D("1.75"),
    "required": D("1.5"),
    "warning": D("1.4"),
    "call": D("1.3"),
    "critical": D("1.15"),
}

prices = st.fixed_dictionaries(
    {a: st.one_of(st.none(), st.decimals(D("0.01"), D("100000"), places=2)) for a in ASSETS}
)
rules = st.lists(
    st.tuples(
        st.sampled_from(ASSETS),
        st.sampled_from([None, *CPS]),
        st.sampled_from([None, *VENUES]),
        st.decimals(D(0), D(100), places=2),
    ),
    max_size=8,
)
pledges = st.lists(
    st.tuples(
        st.sampled_from(CPS),
        st.sampled_from(VENUES),
        st.sampled_from(ASSETS),
        st.decimals(D("0.0001"), D("1000"), places=4),
    ),
    max_size=8,
)
loans = st.lists(
    st.tuples(st.sampled_from(CPS), st.sampled_from(ASSETS), st.decimals(D("0.0001"), D("100"), places=4)),
    max_size=6,
)


@pytest.fixture
def desk(desk_config):
    cps = {code: CounterpartyFactory(code=code) for code in CPS}
    assets = {s: h.asset(s, stablecoin=s == "USDT") for s in ASSETS}
    venues = {v: h.venue(v) for v in VENUES}
    accounts = {(c, v): h.collateral_account(cps[c], venue_code=v) for c in CPS for v in VENUES}
    firm = h.firm_inventory()
    h.risk_user()
    h.ops_user()
    return cps, assets, venues, accounts, firm


def _build(desk, marks, rule_list, pledge_list, loan_list):
    cps, assets, venues, accounts, firm = desk
    for symbol, usd in marks.items():
        if usd is not None:
            h.price(assets[symbol], usd, as_of=AT - timedelta(minutes=1))
    for symbol, cp, venue, pct in rule_list:
        h.haircut(
            assets[symbol],
            pct,
            counterparty=cps[cp] if cp else None,
            venue_=venues[venue] if venue else None,
        )
    for cp, venue, symbol, quantity in pledge_list:
        h.pledge(accounts[(cp, venue)], assets[symbol], quantity)
    for cp, symbol, quantity in loan_list:
        # Loan rows as the book holds them (coverage reads status and open quantity only).
        Loan.objects.create(
            counterparty=cps[cp],
            asset=assets[symbol],
            account=firm,
            quantity=quantity,
            open_quantity=quantity,
            rate_bps=D("100"),
            status=LoanStatus.ACTIVE,
        )


def _q(value: Decimal, places: int) -> Decimal:
    return value.quantize(D(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _recompute(marks, rule_list, pledge_list, loan_list):
    """The rules of ARCHITECTURE.md, in plain Python, for the empty scenario."""
    in_force: dict[tuple, Decimal] = {}
    for symbol, cp, venue, pct in rule_list:  # same instant: the later row (greatest id) wins
        in_force[(symbol, cp, venue)] = pct
    held: dict[tuple, Decimal] = defaultdict(Decimal)
    for cp, venue, symbol, quantity in pledge_list:
        held[(cp, venue, symbol)] += quantity
    owed: dict[tuple, Decimal] = defaultdict(Decimal)
    for cp, symbol, quantity in loan_list:
        owed[(cp, symbol)] += quantity
    out = {}
    with localcontext() as ctx:
        ctx.prec = 100
        for code in CPS:
            exposure: Decimal | None = D(0)
            value: Decimal | None = D(0)
            ineligible: Decimal | None = D(0)
            missing = set()
            for (cp, symbol), quantity in owed.items():
                if cp != code:
                    continue
                if marks[symbol] is None:
                    missing.add(symbol)
                    exposure = None
                elif exposure is not None:
                    exposure += quantity * marks[symbol]
            for (cp, venue, symbol), quantity in held.items():
                if cp != code:
                    continue
                cut = next(
                    (
                        in_force[key]
                        for key in ((symbol, cp, venue), (symbol, cp, None), (symbol, None, venue))
                        + ((symbol, None, None),)
                        if key in in_force
                    ),
                    None,
                )
                eligible = cut is not None and cut < 100
                if marks[symbol] is None:
                    missing.add(symbol)
                    if eligible:
                        value = None
                    else:
                        ineligible = None
                    continue
                if eligible and value is not None:
                    value += quantity * marks[symbol] * (1 - cut / 100)
                if not eligible and ineligible is not None:
                    ineligible += quantity * marks[symbol]
            exposure = None if exposure is None else _q(exposure, 8)
            value = None if value is None else _q(value, 8)
            ratio = shortfall = state = None
            excess = D(0)
            if exposure == 0:
                shortfall, state = D(0), "ok"
                if not missing and value is not None and value > 0:
                    excess = value
            elif exposure is not None and value is not None:
                ratio = min(_q(value / exposure, 6), D("999999.999999"))  # the stored ratio's maximum
                shortfall = max(D(0), _q(LEVELS["required"] * exposure - value, 8))
                if value >= LEVELS["warning"] * exposure:
                    state = "ok"
                elif value >= LEVELS["call"] * exposure:
                    state = "warning"
                elif value >= LEVELS["critical"] * exposure:
                    state = "call"
                else:
                    state = "critical"
                if not missing and value > LEVELS["return"] * exposure:
                    excess = _q(value - LEVELS["required"] * exposure, 8)
            out[code] = {
                "exposure_usd": exposure,
                "collateral_value_usd": value,
                "ineligible_value_usd": None if ineligible is None else _q(ineligible, 8),
                "coverage_ratio": ratio,
                "shortfall_usd": shortfall,
                "excess_usd": excess,
                "ratio_state": state,
                "review_reason": "; ".join(f"{s}: no mark" for s in sorted(missing)),
            }
    return out


EXAMPLES = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@EXAMPLES
@given(marks=prices, rule_list=rules, pledge_list=pledges, loan_list=loans)
def test_sql_equals_a_plain_python_recomputation(desk, marks, rule_list, pledge_list, loan_list):
    with transaction.atomic():
        _build(desk, marks, rule_list, pledge_list, loan_list)
        ids = [cp.pk for cp in desk[0].values()]
        rows = {r.counterparty_code: r for r in coverage_rows(counterparty_ids=ids, at=AT)}
        expected = _recompute(marks, rule_list, pledge_list, loan_list)
        for code in CPS:
            got = {name: getattr(rows[code], name) for name in expected[code]}
            assert got == expected[code], code
            assert rows[code].needs_review == bool(expected[code]["review_reason"])
        transaction.set_rollback(True)


@EXAMPLES
@given(
    marks=prices,
    rule_list=rules,
    pledge_list=pledges,
    loan_list=loans,
    symbol=st.sampled_from(ASSETS),
    markdowns=st.lists(st.decimals(D(0), D(100), places=2), min_size=2, max_size=2),
    addons=st.lists(st.decimals(D(0), D(100), places=2), min_size=2, max_size=2),
)
def test_value_is_monotone_in_price_and_haircut_and_never_negative(
    desk, marks, rule_list, pledge_list, loan_list, symbol, markdowns, addons
):
    with transaction.atomic():
        _build(desk, marks, rule_list, pledge_list, loan_list)
        asset_id = desk[1][symbol].pk
        small, large = sorted(markdowns)
        lighter, heavier = sorted(addons)

        def values(scenario):
            return {r.counterparty_code: r for r in coverage_rows(at=AT, scenario=scenario)}

        higher_price = values(Scenario(markdowns={asset_id: small}))
        lower_price = values(Scenario(markdowns={asset_id: large}))
        light = values(Scenario(haircut_addon_pct=lighter))
        heavy = values(Scenario(haircut_addon_pct=heavier))
        for code in CPS:
            pairs = [(lower_price[code], higher_price[code]), (heavy[code], light[code])]
            for worse, better in pairs:
                # (an unknown value, for want of a mark, compares with nothing)
                if None not in (worse.collateral_value_usd, better.collateral_value_usd):
                    assert worse.collateral_value_usd <= better.collateral_value_usd
            for row in (higher_price[code], lower_price[code], light[code], heavy[code]):
                assert row.collateral_value_usd is None or row.collateral_value_usd >= 0
                assert row.coverage_ratio is None or row.coverage_ratio >= 0
                assert row.shortfall_usd is None or row.shortfall_usd >= 0
                assert row.excess_usd >= 0
        transaction.set_rollback(True)
