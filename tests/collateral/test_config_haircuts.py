"""Haircut rules with four eyes, effective-dated: tightening at once, loosening after a second risk
user's approval, the version in force at a past instant, and the precedence of the four scopes.

Times are fixed: the clock is held at T (3 March 2026, 09:00 UTC) and moved by the tests.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from borrowdesk.errors import InvalidInput, InvalidState, PermissionDeniedError, SegregationOfDuties
from collateral.models import HaircutRule
from collateral.selectors.config import haircut_in_force, haircuts_in_force
from collateral.services.config import approve_config, propose_haircut_rule, reject_config
from tests.collateral.factories import Clock, config_state, desk_user
from tests.inventory.factories import desk_asset
from tests.refdata.factories import VenueFactory

T = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
EPS = timedelta(seconds=1)


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch, T)


@pytest.fixture
def btc(desk_config):
    return desk_asset("BTC", 8, "50000")


@pytest.fixture
def rhea(desk_config):
    """A second risk user (rita proposes, rhea approves)."""
    return desk_user("rhea", "risk")


def _propose(actor, asset, pct, **kwargs) -> HaircutRule:
    return propose_haircut_rule(actor=actor, asset=asset, haircut_pct=Decimal(pct), **kwargs)


def _in_force(asset, at, **scope):
    rule = haircut_in_force(asset=asset, at=at, **scope)
    return rule.haircut_pct if rule is not None else None


# --- four eyes ------------------------------------------------------------------------------------


def test_a_first_rule_makes_an_asset_eligible_so_it_waits_for_approval(clock, rita, btc):
    rule = _propose(rita, btc, "10")
    assert (rule.status, rule.is_loosening, rule.approved_by) == ("pending_approval", True, None)
    assert haircut_in_force(asset=btc, at=T + timedelta(days=365)) is None  # still ineligible


def test_the_proposer_cannot_approve_their_own_change_and_nothing_changes(clock, rita, btc):
    rule = _propose(rita, btc, "10")
    before = config_state()
    with pytest.raises(SegregationOfDuties):
        approve_config(actor=rita, version=rule)
    with pytest.raises(SegregationOfDuties):
        reject_config(actor=rita, version=rule, reason="changed my mind")
    assert config_state() == before


def test_only_risk_proposes_and_approves(clock, rita, bob, mona, btc):
    with pytest.raises(PermissionDeniedError):
        _propose(bob, btc, "10")
    rule = _propose(rita, btc, "10")
    before = config_state()
    with pytest.raises(PermissionDeniedError):
        approve_config(actor=mona, version=rule)
    assert config_state() == before


def test_a_tightening_is_in_force_at_once(clock, rita, rhea, btc):
    approve_config(actor=rhea, version=_propose(rita, btc, "10"))
    clock.at(T + timedelta(hours=1))
    tighter = _propose(rita, btc, "20")
    assert (tighter.status, tighter.is_loosening, tighter.approved_by) == ("effective", False, None)
    assert tighter.effective_from == T + timedelta(hours=1)
    assert _in_force(btc, T + timedelta(hours=1)) == Decimal(20)
    assert _in_force(btc, T + timedelta(hours=1) - EPS) == Decimal(10)


def test_an_equal_haircut_is_not_a_loosening(clock, rita, rhea, btc):
    approve_config(actor=rhea, version=_propose(rita, btc, "10"))
    assert _propose(rita, btc, "10.0000").status == "effective"


def test_a_loosening_waits_and_applies_from_its_approval(clock, rita, rhea, btc):
    approve_config(actor=rhea, version=_propose(rita, btc, "20"))
    clock.at(T + timedelta(hours=1))
    looser = _propose(rita, btc, "5")
    assert (looser.status, looser.is_loosening) == ("pending_approval", True)
    clock.at(T + timedelta(hours=3))
    assert _in_force(btc, T + timedelta(hours=3)) == Decimal(20)  # not before its approval
    approved = approve_config(actor=rhea, version=looser)
    assert (approved.status, approved.approved_by, approved.approved_at) == (
        "effective",
        rhea,
        T + timedelta(hours=3),
    )
    # Proposed from T+1h, approved at T+3h: in force from the approval, never retroactively.
    assert approved.effective_from == T + timedelta(hours=3)
    assert _in_force(btc, T + timedelta(hours=3) - EPS) == Decimal(20)
    assert _in_force(btc, T + timedelta(hours=3)) == Decimal(5)


def test_a_loosening_approved_before_its_start_applies_from_its_start(clock, rita, rhea, btc):
    approve_config(actor=rhea, version=_propose(rita, btc, "20"))
    start = T + timedelta(days=2)
    looser = _propose(rita, btc, "15", effective_from=start)
    approved = approve_config(actor=rhea, version=looser)
    assert approved.effective_from == start
    assert (_in_force(btc, start - EPS), _in_force(btc, start)) == (Decimal(20), Decimal(15))


def test_a_rejected_loosening_is_never_in_force(clock, rita, rhea, btc):
    approve_config(actor=rhea, version=_propose(rita, btc, "20"))
    looser = _propose(rita, btc, "5")
    clock.at(T + timedelta(minutes=5))
    rejected = reject_config(actor=rhea, version=looser, reason="  BTC volatility is up  ")
    assert (rejected.status, rejected.rejected_by, rejected.rejected_at, rejected.rejection_reason) == (
        "rejected",
        rhea,
        T + timedelta(minutes=5),
        "BTC volatility is up",
    )
    assert rejected.approved_by is None
    for later in (T, T + timedelta(days=1), T + timedelta(days=3650)):
        assert _in_force(btc, later) == Decimal(20)
    with pytest.raises(InvalidState):
        approve_config(actor=rhea, version=rejected)


def test_a_rejection_needs_a_reason_and_writes_nothing_without_one(clock, rita, rhea, btc):
    rule = _propose(rita, btc, "10")
    before = config_state()
    with pytest.raises(InvalidInput) as refused:
        reject_config(actor=rhea, version=rule, reason="   ")
    assert list(refused.value.fields) == ["reason"]
    assert config_state() == before


def test_only_pending_changes_are_decided(clock, rita, rhea, btc):
    approved = approve_config(actor=rhea, version=_propose(rita, btc, "10"))
    tightening = _propose(rita, btc, "30")
    before = config_state()
    for version in (approved, tightening):
        with pytest.raises(InvalidState):
            approve_config(actor=rhea, version=version)
        with pytest.raises(InvalidState):
            reject_config(actor=rhea, version=version, reason="no")
    assert config_state() == before


# --- the version in force at a past instant -------------------------------------------------------


def test_the_version_in_force_at_a_past_time_is_the_one_reported(clock, rita, rhea, btc):
    # T1: 10 % proposed and approved (a first rule makes BTC eligible: a loosening).
    t1, t2, t3 = T, T + timedelta(days=1), T + timedelta(days=2)
    approve_config(actor=rhea, version=_propose(rita, btc, "10"))
    # T2: tightened to 20 %, in force at once.
    clock.at(t2)
    _propose(rita, btc, "20")
    # T3: loosened to 5 % (proposed an hour earlier), approved at T3.
    clock.at(t3 - timedelta(hours=1))
    looser = _propose(rita, btc, "5")
    clock.at(t3)
    approve_config(actor=rhea, version=looser)
    clock.at(t3 + timedelta(days=30))
    assert _in_force(btc, t1 - EPS) is None
    assert _in_force(btc, t1 + EPS) == Decimal(10)
    assert _in_force(btc, t2 - EPS) == Decimal(10)
    assert _in_force(btc, t2 + EPS) == Decimal(20)
    assert _in_force(btc, t3 - EPS) == Decimal(20)  # proposed at T3-1h, not yet approved
    assert _in_force(btc, t3 + EPS) == Decimal(5)
    assert _in_force(btc, None) == Decimal(5)  # now


def test_same_instant_versions_resolve_to_the_latest_id(clock, rita, rhea, btc):
    approve_config(actor=rhea, version=_propose(rita, btc, "10"))
    _propose(rita, btc, "20")
    third = _propose(rita, btc, "25")  # same clock: same effective_from, greater id
    assert haircut_in_force(asset=btc, at=T) == third


def test_a_future_tightening_is_the_reference_for_a_change_dated_after_it(clock, rita, rhea, btc):
    approve_config(actor=rhea, version=_propose(rita, btc, "10"))
    _propose(rita, btc, "30", effective_from=T + timedelta(days=7))  # scheduled, in force from day 7
    # 20 % from day 8 is above today's 10 % but below the 30 % already scheduled for day 8: it loosens.
    assert _propose(rita, btc, "20", effective_from=T + timedelta(days=8)).status == "pending_approval"
    # From tomorrow it is compared with tomorrow's 10 %: a tightening.
    assert _propose(rita, btc, "20", effective_from=T + timedelta(days=1)).status == "effective"
    assert [_in_force(btc, T + timedelta(days=d)) for d in (0, 1, 7, 8)] == [10, 20, 30, 30]


# --- precedence -----------------------------------------------------------------------------------


@pytest.fixture
def scopes(clock, rita, rhea, btc, acme, globex):
    """BTC: 10 % anywhere, 20 % at CUST1, 30 % for ACME, 40 % for ACME at CUST1."""
    cust1, cust2 = VenueFactory(code="CUST1"), VenueFactory(code="CUST2")
    for pct, venue, party in (
        ("10", None, None),
        ("20", cust1, None),
        ("30", None, acme),
        ("40", cust1, acme),
    ):
        rule = _propose(rita, btc, pct, venue=venue, counterparty=party)
        if rule.status == "pending_approval":
            approve_config(actor=rhea, version=rule)
    return cust1, cust2


@pytest.mark.parametrize(
    ("venue", "party", "expected"),
    [
        (None, None, "10"),  # the asset alone
        ("CUST1", None, "20"),  # venue beats asset
        ("CUST2", None, "10"),  # another venue: the asset's
        (None, "ACME", "30"),  # counterparty beats asset
        ("CUST2", "ACME", "30"),  # counterparty beats venue-less… and no rule for CUST2
        ("CUST1", "ACME", "40"),  # counterparty + venue beats all
        ("CUST1", "GLOBEX", "20"),  # another counterparty at CUST1: the venue's
        (None, "GLOBEX", "10"),
    ],
)
def test_the_most_specific_rule_wins(scopes, btc, acme, globex, venue, party, expected):
    venues = {"CUST1": scopes[0], "CUST2": scopes[1], None: None}
    parties = {"ACME": acme, "GLOBEX": globex, None: None}
    assert _in_force(btc, None, venue=venues[venue], counterparty=parties[party]) == Decimal(expected)


def test_counterparty_beats_venue_when_both_match(scopes, btc, acme, rita):
    """At CUST1 for ACME, with only the venue (20 %) and counterparty (30 %) rules: the counterparty's."""
    HaircutRule.objects.filter(venue__isnull=False, counterparty__isnull=False).delete()
    assert _in_force(btc, None, venue=scopes[0], counterparty=acme) == Decimal(30)


def test_an_asset_without_a_rule_is_not_eligible(scopes, acme):
    eth = desk_asset("ETH", 18, "3000")
    assert haircut_in_force(asset=eth, venue=scopes[0], counterparty=acme) is None


def test_tightening_is_judged_against_the_rule_that_applies_to_exactly_that_scope(
    scopes, rita, btc, acme, globex
):
    # ACME's rule is 30 %: 35 % for ACME is a tightening, 25 % a loosening, even though both are above
    # the asset-wide 10 %.
    assert _propose(rita, btc, "35", counterparty=acme).status == "effective"
    assert _propose(rita, btc, "25", counterparty=acme).status == "pending_approval"
    # GLOBEX has no rule of its own: the asset-wide 10 % applies, so 15 % for GLOBEX tightens.
    assert _propose(rita, btc, "15", counterparty=globex).status == "effective"


def test_rules_in_force_list_one_version_per_scope(scopes, rita, btc):
    _propose(rita, btc, "12")  # a new asset-wide version
    assert sorted(
        (r.venue_id is not None, r.counterparty_id is not None, r.haircut_pct) for r in haircuts_in_force()
    ) == [
        (False, False, Decimal(12)),
        (False, True, Decimal(30)),
        (True, False, Decimal(20)),
        (True, True, Decimal(40)),
    ]


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pct", "message"),
    [
        (Decimal("101"), "Must be from 0 to 100 %."),
        (Decimal("-1"), "Must be from 0 to 100 %."),
        (Decimal("100.00001"), "Must be from 0 to 100 %."),
        (Decimal("10.12345"), "At most 4 decimal places."),
        (Decimal("NaN"), "A finite number is required."),
        (Decimal("Infinity"), "A finite number is required."),
        (10.5, "A decimal number is required."),
    ],
)
def test_a_bad_haircut_is_refused_naming_the_field_and_nothing_is_written(clock, rita, btc, pct, message):
    before = config_state()
    with pytest.raises(InvalidInput) as refused:
        propose_haircut_rule(actor=rita, asset=btc, haircut_pct=pct)
    assert refused.value.fields == {"haircut_pct": [message]}
    assert config_state() == before


def test_the_edges_of_the_range_are_accepted(clock, rita, btc):
    assert _propose(rita, btc, "0").haircut_pct == Decimal(0)
    assert _propose(rita, btc, "100").haircut_pct == Decimal(100)
    assert _propose(rita, btc, "12.3456").haircut_pct == Decimal("12.3456")


def test_a_start_in_the_past_is_refused(clock, rita, btc):
    before = config_state()
    with pytest.raises(InvalidInput) as refused:
        _propose(rita, btc, "10", effective_from=T - timedelta(hours=1))
    assert refused.value.fields == {"effective_from": ["Cannot be in the past."]}
    assert config_state() == before


def test_a_start_a_few_seconds_behind_is_taken_as_now(clock, rita, btc):
    assert _propose(rita, btc, "10", effective_from=T - timedelta(seconds=20)).effective_from == T


def test_an_inactive_asset_is_refused(clock, rita, btc):
    btc.is_active = False
    btc.save()
    with pytest.raises(InvalidInput) as refused:
        _propose(rita, btc, "10")
    assert list(refused.value.fields) == ["asset"]
    assert not HaircutRule.objects.exists()
