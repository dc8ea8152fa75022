"""Stress scenarios (saved as versions) and mark policies (one row per asset), and two risk users
deciding the same change at once."""

from decimal import Decimal

import pytest

from borrowdesk.errors import InvalidInput, PermissionDeniedError
from collateral.models import HaircutRule, MarkPolicy, StressScenario
from collateral.selectors.config import scenario_versions, scenarios
from collateral.services.config import (
    approve_config,
    propose_haircut_rule,
    save_stress_scenario,
    set_mark_policy,
)
from tests.collateral.factories import config_state, desk_user
from tests.inventory.factories import desk_asset


@pytest.fixture
def assets(desk_config):
    return desk_asset("BTC", 8, "50000"), desk_asset("ETH", 18, "3000"), desk_asset("USDT", 6, "1")


def _crash(actor, **changes) -> StressScenario:
    args = {
        "name": "desk crash",  # not one of the seeded scenarios (migration 0002)
        "description": "BTC -30 %, ETH -40 %, others -50 %, stablecoins -2 %",
        "markdowns": {"ETH": Decimal("40"), "BTC": Decimal("30")},
        "other_markdown_pct": Decimal(50),
        "stablecoin_markdown_pct": Decimal(2),
        "haircut_addon_pct": Decimal(0),
        "recall_fraction": Decimal(0),
    }
    return save_stress_scenario(actor=actor, **{**args, **changes})


def test_a_save_is_a_new_version_and_the_previous_one_is_kept_inactive(rita, assets):
    first = _crash(rita)
    assert (first.version, first.is_active, first.created_by) == (1, True, rita)
    assert first.markdowns == {"BTC": "30", "ETH": "40"}  # symbols to decimal strings
    second = _crash(rita, markdowns={"BTC": Decimal("35.5")}, recall_fraction=Decimal("0.5"))
    first.refresh_from_db()
    assert (second.version, second.is_active, first.is_active) == (2, True, False)
    assert second.markdowns == {"BTC": "35.5"} and second.recall_fraction == Decimal("0.5")
    assert [s for s in scenarios() if s.name == "desk crash"] == [second]
    assert list(scenario_versions("desk crash")) == [second, first]


def test_scenarios_version_independently_by_name(rita, assets):
    _crash(rita)
    depeg = save_stress_scenario(actor=rita, name="desk depeg", markdowns={"USDT": Decimal(10)})
    assert depeg.version == 1
    names = [s.name for s in scenarios()]
    assert names == sorted(names) and {"desk crash", "desk depeg"} <= set(names)


def test_saving_a_seeded_scenario_makes_its_next_version(rita, assets):
    seeded = StressScenario.objects.get(name="crypto crash", is_active=True)
    saved = save_stress_scenario(actor=rita, name="crypto crash", markdowns={"BTC": Decimal(35)})
    seeded.refresh_from_db()
    assert (saved.version, seeded.is_active) == (seeded.version + 1, False)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "  "}, "name"),
        ({"name": "x" * 81}, "name"),
        ({"markdowns": {"DOGE": Decimal(10)}}, "markdowns"),  # unknown symbol
        ({"markdowns": {"BTC": Decimal(101)}}, "markdowns"),
        ({"markdowns": {"BTC": Decimal(-1)}}, "markdowns"),
        ({"markdowns": {"BTC": "abc"}}, "markdowns"),
        ({"other_markdown_pct": Decimal("100.5")}, "other_markdown_pct"),
        ({"stablecoin_markdown_pct": Decimal("-0.1")}, "stablecoin_markdown_pct"),
        ({"haircut_addon_pct": Decimal("1.23456")}, "haircut_addon_pct"),
        ({"recall_fraction": Decimal("1.5")}, "recall_fraction"),
        ({"recall_fraction": Decimal("-0.1")}, "recall_fraction"),
    ],
)
def test_a_bad_scenario_is_refused_naming_the_field_and_nothing_is_written(rita, assets, changes, field):
    _crash(rita)
    before = config_state()
    with pytest.raises(InvalidInput) as refused:
        _crash(rita, **changes)
    assert list(refused.value.fields) == [field]
    assert config_state() == before


def test_an_unknown_symbol_is_named(rita, assets):
    with pytest.raises(InvalidInput) as refused:
        _crash(rita, markdowns={"DOGE": Decimal(10), "BTC": Decimal(200)})
    assert refused.value.fields == {"markdowns": ["Unknown asset 'DOGE'.", "BTC: Must be from 0 to 100 %."]}


@pytest.mark.parametrize("who", ["mona", "bob", "adam"])
def test_only_risk_saves_scenarios(personas, assets, who):
    before = config_state()
    with pytest.raises(PermissionDeniedError):
        _crash(personas[who])
    assert config_state() == before


def test_a_mark_policy_is_one_row_per_asset_changed_in_place(rita, assets):
    btc, *_ = assets
    set_mark_policy(actor=rita, asset=btc, max_age_minutes=30, divergence_pct=Decimal("1.5"))
    policy = set_mark_policy(actor=rita, asset=btc, max_age_minutes=10, divergence_pct=Decimal("0.5"))
    assert MarkPolicy.objects.get() == policy
    assert (policy.max_age_minutes, policy.divergence_pct) == (10, Decimal("0.5"))


@pytest.mark.parametrize(
    ("age", "pct", "field"),
    [
        (0, Decimal(1), "max_age_minutes"),
        (50000, Decimal(1), "max_age_minutes"),
        (10, Decimal(101), "divergence_pct"),
    ],
)
def test_a_bad_mark_policy_is_refused(rita, bob, assets, age, pct, field):
    btc, *_ = assets
    with pytest.raises(InvalidInput) as refused:
        set_mark_policy(actor=rita, asset=btc, max_age_minutes=age, divergence_pct=pct)
    assert list(refused.value.fields) == [field]
    with pytest.raises(PermissionDeniedError):
        set_mark_policy(actor=bob, asset=btc, max_age_minutes=10, divergence_pct=Decimal(1))
    assert not MarkPolicy.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_risk_users_approving_one_change_at_once_approve_it_once(desk_config):
    from tests.races import race

    btc = desk_asset("BTC", 8, "50000")
    proposer = desk_user("risk-proposer", "risk")
    approvers = [desk_user(f"risk-approver-{i}", "risk") for i in range(4)]
    rule = propose_haircut_rule(actor=proposer, asset=btc, haircut_pct=Decimal(10))
    outcomes = race([lambda a=a: approve_config(actor=a, version=rule) for a in approvers])
    assert sorted(outcomes) == ["invalid_state", "invalid_state", "invalid_state", "ok"], outcomes
    rule.refresh_from_db()
    assert rule.status == "effective" and rule.approved_by in approvers
    assert HaircutRule.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_saves_of_one_scenario_at_once_take_two_versions(desk_config):
    from tests.races import race

    desk_asset("BTC", 8, "50000")
    editors = [desk_user(f"risk-editor-{i}", "risk") for i in range(4)]
    outcomes = race(
        [
            lambda a=a: save_stress_scenario(
                actor=a, name="desk run", markdowns={}, recall_fraction=Decimal("0.5")
            )
            for a in editors
        ]
    )
    assert outcomes == ["ok"] * 4, outcomes
    assert sorted(StressScenario.objects.filter(name="desk run").values_list("version", "is_active")) == [
        (1, False),
        (2, False),
        (3, False),
        (4, True),
    ]
