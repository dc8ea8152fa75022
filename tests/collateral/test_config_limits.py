"""Borrower limits and collateral agreements with four eyes: a first limit and every stricter version
apply at once, anything looser waits; an agreement is compared with the one in force or the defaults."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from borrowdesk.errors import InvalidInput, SegregationOfDuties
from collateral.models import AssetCap, BorrowerLimit, CollateralAgreement
from collateral.selectors.config import (
    agreement_in_force,
    config_history,
    default_levels,
    levels_for,
    limit_in_force,
    pending_approvals,
)
from collateral.services.config import approve_config, propose_agreement, propose_limit
from tests.collateral.factories import Clock, config_state, desk_user, haircut
from tests.inventory.factories import desk_asset

T = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch, T)


@pytest.fixture
def assets(desk_config):
    return desk_asset("BTC", 8, "50000"), desk_asset("ETH", 18, "3000")


@pytest.fixture
def rhea(desk_config):
    return desk_user("rhea", "risk")


def _limit(actor, counterparty, exposure="1000000", **kwargs) -> BorrowerLimit:
    return propose_limit(actor=actor, counterparty=counterparty, max_exposure_usd=Decimal(exposure), **kwargs)


def _caps(limit: BorrowerLimit) -> dict[str, Decimal]:
    return {c.asset.symbol: c.max_quantity for c in limit.asset_caps.all()}


# --- limits ---------------------------------------------------------------------------------------


def test_a_first_limit_restricts_an_unlimited_counterparty_so_it_applies_at_once(clock, rita, acme, assets):
    btc, _ = assets
    limit = _limit(
        rita, acme, max_tenor_days=30, min_coverage_ratio=Decimal("1.2"), asset_caps={btc: Decimal(10)}
    )
    assert (limit.status, limit.is_loosening, limit.effective_from) == ("effective", False, T)
    in_force = limit_in_force(acme)
    assert in_force == limit
    assert (in_force.max_exposure_usd, in_force.max_tenor_days, in_force.min_coverage_ratio) == (
        Decimal(1000000),
        30,
        Decimal("1.2"),
    )
    assert _caps(in_force) == {"BTC": Decimal(10)}


@pytest.fixture
def current(clock, rita, acme, assets):
    """ACME: $1,000,000, 30 days, coverage 1.2, BTC cap 10."""
    btc, _ = assets
    return _limit(
        rita, acme, max_tenor_days=30, min_coverage_ratio=Decimal("1.2"), asset_caps={btc: Decimal(10)}
    )


def _same(assets, **changes):
    btc, eth = assets
    base = {
        "exposure": "1000000",
        "max_tenor_days": 30,
        "min_coverage_ratio": Decimal("1.2"),
        "asset_caps": {btc: Decimal(10)},
    }
    base.update(changes)
    return base


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({}, "effective"),  # the same limits: not looser
        ({"exposure": "900000"}, "effective"),  # lower exposure
        ({"exposure": "1000000.01"}, "pending_approval"),  # higher exposure
        ({"max_tenor_days": 7}, "effective"),
        ({"max_tenor_days": 31}, "pending_approval"),
        ({"max_tenor_days": None}, "pending_approval"),  # no tenor limit any more
        ({"min_coverage_ratio": Decimal("1.3")}, "effective"),
        ({"min_coverage_ratio": Decimal("1.1")}, "pending_approval"),
        ({"min_coverage_ratio": None}, "pending_approval"),  # covenant dropped
        ({"asset_caps": {}}, "pending_approval"),  # BTC cap dropped
        ({"asset_caps": "btc 11"}, "pending_approval"),  # BTC cap raised
        ({"asset_caps": "btc 9"}, "effective"),
        ({"asset_caps": "btc 10, eth 500"}, "effective"),  # a new cap restricts more
        ({"exposure": "900000", "max_tenor_days": 60}, "pending_approval"),  # one dimension looser
    ],
)
def test_every_dimension_decides_tightening_or_loosening(current, rita, acme, assets, change, status):
    btc, eth = assets
    change = dict(change)
    if isinstance(change.get("asset_caps"), str):
        by_symbol = {"btc": btc, "eth": eth}
        change["asset_caps"] = {
            by_symbol[pair.split()[0]]: Decimal(pair.split()[1]) for pair in change["asset_caps"].split(", ")
        }
    args = _same(assets, **change)
    version = _limit(rita, acme, args.pop("exposure"), **args)
    assert version.status == status
    assert limit_in_force(acme) == (current if status == "pending_approval" else version)


def test_a_tenor_limit_where_there_was_none_tightens(clock, rita, acme):
    _limit(rita, acme)
    assert _limit(rita, acme, max_tenor_days=90).status == "effective"


def test_caps_belong_to_their_version(current, clock, rita, rhea, acme, assets):
    btc, eth = assets
    looser = _limit(
        rita,
        acme,
        "2000000",
        max_tenor_days=30,
        min_coverage_ratio=Decimal("1.2"),
        asset_caps={eth: Decimal(5)},
    )
    clock_later = clock.at(T + timedelta(hours=1))
    approve_config(actor=rhea, version=looser)
    assert _caps(limit_in_force(acme, at=T)) == {"BTC": Decimal(10)}
    assert _caps(limit_in_force(acme, at=clock_later)) == {"ETH": Decimal(5)}
    assert AssetCap.objects.count() == 2


def test_the_proposer_cannot_approve_a_higher_limit(current, rita, acme):
    higher = _limit(rita, acme, "5000000", max_tenor_days=30, min_coverage_ratio=Decimal("1.2"))
    before = config_state()
    with pytest.raises(SegregationOfDuties):
        approve_config(actor=rita, version=higher)
    assert config_state() == before


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_exposure_usd": Decimal("-1")}, "max_exposure_usd"),
        ({"max_exposure_usd": Decimal("1e16")}, "max_exposure_usd"),
        ({"max_exposure_usd": Decimal("1.123456789")}, "max_exposure_usd"),
        ({"max_exposure_usd": Decimal("NaN")}, "max_exposure_usd"),
        ({"max_tenor_days": 0}, "max_tenor_days"),
        ({"max_tenor_days": -5}, "max_tenor_days"),
        ({"min_coverage_ratio": Decimal(0)}, "min_coverage_ratio"),
        ({"min_coverage_ratio": Decimal("-1.2")}, "min_coverage_ratio"),
        ({"min_coverage_ratio": Decimal("1.1234567")}, "min_coverage_ratio"),
        ({"asset_caps": "btc -1"}, "asset_caps"),
        ({"asset_caps": "btc 0.000000001"}, "asset_caps"),  # BTC has 8 decimals
        ({"effective_from": T - timedelta(days=1)}, "effective_from"),
    ],
)
def test_a_bad_limit_is_refused_naming_the_field_and_nothing_is_written(
    clock, rita, acme, assets, kwargs, field
):
    btc, _ = assets
    if isinstance(kwargs.get("asset_caps"), str):
        kwargs = {"asset_caps": {btc: Decimal(kwargs["asset_caps"].split()[1])}}
    args = {"max_exposure_usd": Decimal(1000), **kwargs}
    before = config_state()
    with pytest.raises(InvalidInput) as refused:
        propose_limit(actor=rita, counterparty=acme, **args)
    assert list(refused.value.fields) == [field]
    assert config_state() == before


def test_a_cap_error_names_the_asset(clock, rita, acme, assets):
    btc, _ = assets
    with pytest.raises(InvalidInput) as refused:
        propose_limit(
            actor=rita, counterparty=acme, max_exposure_usd=Decimal(1), asset_caps={btc: Decimal("-1")}
        )
    assert refused.value.fields == {"asset_caps": ["BTC: Must be greater than zero."]}


def test_a_zero_cap_and_a_zero_exposure_are_limits_too(clock, rita, acme, assets):
    btc, _ = assets
    limit = _limit(rita, acme, "0", asset_caps={btc: Decimal(0)})
    assert (limit.max_exposure_usd, _caps(limit)) == (Decimal(0), {"BTC": Decimal(0)})


# --- agreements and levels ------------------------------------------------------------------------

DEFAULTS = {
    "return_ratio": Decimal("1.75"),
    "required_ratio": Decimal("1.5"),
    "warning_ratio": Decimal("1.4"),
    "call_ratio": Decimal("1.3"),
    "critical_ratio": Decimal("1.15"),
    "cure_period_hours": 24,
    "call_due_hours": 24,
}


def _agreement(actor, counterparty, **changes) -> CollateralAgreement:
    return propose_agreement(actor=actor, counterparty=counterparty, **{**DEFAULTS, **changes})


def test_without_an_agreement_the_defaults_apply(clock, acme):
    assert levels_for(acme) == default_levels()
    levels = levels_for(acme)
    assert (levels.required_ratio, levels.call_ratio, levels.call_due_hours, levels.agreement_id) == (
        Decimal("1.50"),
        Decimal("1.30"),
        24,
        None,
    )


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({}, "effective"),  # the defaults themselves: not looser
        ({"required_ratio": Decimal("1.6"), "return_ratio": Decimal("2")}, "effective"),
        ({"call_due_hours": 12}, "effective"),
        ({"call_ratio": Decimal("1.2")}, "pending_approval"),
        ({"cure_period_hours": 48}, "pending_approval"),
        ({"return_ratio": Decimal("1.7")}, "pending_approval"),
    ],
)
def test_an_agreement_is_compared_with_the_defaults(clock, rita, acme, change, status):
    assert _agreement(rita, acme, **change).status == status


def test_an_agreement_in_force_is_the_reference_and_gives_the_levels(clock, rita, rhea, acme):
    looser = _agreement(rita, acme, call_ratio=Decimal("1.2"), critical_ratio=Decimal("1.1"))
    approve_config(actor=rhea, version=looser)
    assert levels_for(acme).call_ratio == Decimal("1.2") and levels_for(acme).agreement_id == looser.pk
    # 1.25 is below the default call level but above ACME's agreement: a tightening now.
    tighter = _agreement(rita, acme, call_ratio=Decimal("1.25"), critical_ratio=Decimal("1.1"))
    assert tighter.status == "effective"
    assert agreement_in_force(acme) == tighter


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"return_ratio": Decimal("1.5")}, "return_ratio"),  # return must be above required
        ({"warning_ratio": Decimal("1.6")}, "warning_ratio"),  # warning above required
        ({"call_ratio": Decimal("1.45")}, "call_ratio"),  # call above warning
        ({"critical_ratio": Decimal("1.3")}, "critical_ratio"),  # critical not below call
        ({"critical_ratio": Decimal(0)}, "critical_ratio"),
        ({"required_ratio": Decimal("1.1234567")}, "required_ratio"),
        ({"cure_period_hours": -1}, "cure_period_hours"),
        ({"call_due_hours": 0}, "call_due_hours"),
        ({"call_due_hours": 10000}, "call_due_hours"),
    ],
)
def test_a_bad_agreement_is_refused_beside_its_field_before_the_database_check(
    clock, rita, acme, change, field
):
    before = config_state()
    with pytest.raises(InvalidInput) as refused:
        _agreement(rita, acme, **change)
    assert list(refused.value.fields) == [field]
    assert config_state() == before


def test_equal_required_warning_and_call_are_allowed(clock, rita, acme):
    agreement = _agreement(
        rita, acme, required_ratio=Decimal("1.5"), warning_ratio=Decimal("1.5"), call_ratio=Decimal("1.5")
    )
    assert agreement.pk is not None


# --- pending queue and history --------------------------------------------------------------------


def test_the_pending_queue_lists_loosenings_of_every_kind_newest_first(clock, rita, acme, globex, assets):
    btc, _ = assets
    haircut(btc, "10")  # a loosening approved by the factory's second risk user: not pending
    clock.at(T + timedelta(minutes=1))
    from collateral.services.config import propose_haircut_rule

    pending_rule = propose_haircut_rule(actor=rita, asset=btc, counterparty=acme, haircut_pct=Decimal(5))
    clock.at(T + timedelta(minutes=2))
    _limit(rita, globex)  # a first limit: in force, not pending
    higher = _limit(rita, globex, "2000000")
    clock.at(T + timedelta(minutes=3))
    looser = _agreement(rita, acme, call_ratio=Decimal("1.2"))
    assert [(c.kind, c.pk) for c in pending_approvals()] == [
        ("agreement", looser.pk),
        ("limit", higher.pk),
        ("haircut", pending_rule.pk),
    ]


def test_a_counterpartys_configuration_history_has_every_version_of_its_own(
    clock, rita, rhea, acme, globex, assets
):
    btc, _ = assets
    haircut(btc, "10")  # asset-wide: not ACME's history
    from collateral.services.config import propose_haircut_rule, reject_config

    clock.at(T + timedelta(minutes=1))
    rule = propose_haircut_rule(actor=rita, asset=btc, counterparty=acme, haircut_pct=Decimal(5))
    reject_config(actor=rhea, version=rule, reason="too low")
    clock.at(T + timedelta(minutes=2))
    limit = _limit(rita, acme)
    _limit(rita, globex)
    clock.at(T + timedelta(minutes=3))
    agreement = _agreement(rita, acme, call_ratio=Decimal("1.2"))
    approve_config(actor=rhea, version=agreement)
    history = config_history(acme)
    assert [(c.kind, c.pk, c.status) for c in history] == [
        ("agreement", agreement.pk, "effective"),
        ("limit", limit.pk, "effective"),
        ("haircut", rule.pk, "rejected"),
    ]
    assert (history[0].proposed_by, history[0].approved_by, history[2].rejected_by) == (rita, rhea, rhea)
    assert history[1].summary == "max exposure $1,000,000.00; no tenor limit"
    assert history[2].summary == "BTC haircut 5 % (for ACME)"
