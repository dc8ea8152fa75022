"""The risk configuration API: haircut rules, limits, agreements and stress scenarios (API.md
"Collateral, limits, stress"). Risk proposes; another risk user approves a loosening; the desk reads;
every refusal is a 4xx with the error body and writes nothing."""

import pytest

from collateral.models import BorrowerLimit
from tests.collateral.factories import config_state, desk_user, haircut
from tests.inventory.factories import desk_asset
from tests.refdata.factories import VenueFactory

RULES = "/api/v1/collateral/haircut-rules/"
LIMITS = "/api/v1/limits/"
AGREEMENTS = "/api/v1/collateral/agreements/"
SCENARIOS = "/api/v1/collateral/scenarios/"


@pytest.fixture
def btc(desk_config):
    return desk_asset("BTC", 8, "50000")


@pytest.fixture
def rhea(desk_config):
    return desk_user("rhea", "risk")


# --- haircut rules --------------------------------------------------------------------------------


def test_risk_proposes_a_first_rule_and_it_waits_for_a_second_risk_user(api, rita, rhea, btc, acme):
    VenueFactory(code="CUST1")
    body = {"asset": "BTC", "venue": "CUST1", "counterparty": "ACME", "haircut_pct": "12.5", "comment": "new"}
    response = api.as_user(rita).post(RULES, body, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert {
        k: created[k] for k in ("asset", "venue", "counterparty", "haircut_pct", "status", "is_loosening")
    } == {
        "asset": "BTC",
        "venue": "CUST1",
        "counterparty": "ACME",
        "haircut_pct": "12.5000",
        "status": "pending_approval",
        "is_loosening": True,
    }
    assert (created["proposed_by"], created["approved_by"], created["comment"]) == ("rita", None, "new")
    approved = api.as_user(rhea).post(f"{RULES}{created['id']}/approve/")
    assert approved.status_code == 200, approved.json()
    assert (approved.json()["status"], approved.json()["approved_by"]) == ("effective", "rhea")
    assert api.as_user(rita).get(f"{RULES}{created['id']}/").json() == approved.json()


def test_a_higher_haircut_is_effective_at_once(api, rita, btc):
    haircut(btc, "10")
    response = api.as_user(rita).post(RULES, {"asset": "BTC", "haircut_pct": 20}, format="json")
    assert (response.status_code, response.json()["status"], response.json()["is_loosening"]) == (
        201,
        "effective",
        False,
    )


def test_the_proposer_approving_is_segregation_of_duties_and_nothing_changes(api, rita, btc):
    rule_id = api.as_user(rita).post(RULES, {"asset": "BTC", "haircut_pct": "10"}, format="json").json()["id"]
    before = config_state()
    for action, body in (("approve", {}), ("reject", {"reason": "mine"})):
        response = api.as_user(rita).post(f"{RULES}{rule_id}/{action}/", body, format="json")
        assert (response.status_code, response.json()["code"]) == (403, "segregation_of_duties")
    assert config_state() == before


def test_a_rejection_needs_a_reason_then_is_never_approved(api, rita, rhea, btc):
    rule_id = api.as_user(rita).post(RULES, {"asset": "BTC", "haircut_pct": "10"}, format="json").json()["id"]
    missing = api.as_user(rhea).post(f"{RULES}{rule_id}/reject/", {}, format="json")
    assert (missing.status_code, list(missing.json()["fields"])) == (400, ["reason"])
    rejected = api.as_user(rhea).post(f"{RULES}{rule_id}/reject/", {"reason": "too low"}, format="json")
    assert rejected.status_code == 200
    assert (
        rejected.json()["status"],
        rejected.json()["rejected_by"],
        rejected.json()["rejection_reason"],
    ) == (
        "rejected",
        "rhea",
        "too low",
    )
    again = api.as_user(rhea).post(f"{RULES}{rule_id}/approve/")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_state")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"haircut_pct": "101"}, "haircut_pct"),
        ({"haircut_pct": "-1"}, "haircut_pct"),
        ({"haircut_pct": "10.12345"}, "haircut_pct"),
        ({"haircut_pct": "1e400"}, "haircut_pct"),
        ({"haircut_pct": "NaN"}, "haircut_pct"),
        ({"haircut_pct": "ten"}, "haircut_pct"),
        ({"haircut_pct": None}, "haircut_pct"),
        ({"asset": "DOGE"}, "asset"),
        ({"asset": "BT\u0000C"}, "asset"),
        ({"venue": "NOWHERE"}, "venue"),
        ({"counterparty": "NOBODY"}, "counterparty"),
        ({"effective_from": "2020-01-01T00:00:00Z"}, "effective_from"),
        ({"effective_from": "2026-02-30T00:00:00Z"}, "effective_from"),
        ({"comment": "x" * 501}, "comment"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_nothing_is_written(api, rita, btc, acme, body, field):
    before = config_state()
    response = api.as_user(rita).post(RULES, {"asset": "BTC", "haircut_pct": "10", **body}, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid" and field in response.json()["fields"], response.json()
    assert config_state() == before


@pytest.mark.parametrize("who", ["bob", "olivia", "tess", "mona", "adam", "carl", "alice", "pete"])
def test_only_risk_proposes_and_approves(api, personas, btc, who):
    pending = (
        api.as_user(personas["rita"]).post(RULES, {"asset": "BTC", "haircut_pct": "10"}, format="json").json()
    )
    before = config_state()
    client = api.as_user(personas[who])
    assert client.post(RULES, {"asset": "BTC", "haircut_pct": "50"}, format="json").status_code == 403
    assert client.post(f"{RULES}{pending['id']}/approve/").status_code == 403
    assert client.post(f"{RULES}{pending['id']}/reject/", {"reason": "x"}, format="json").status_code == 403
    assert config_state() == before


@pytest.mark.parametrize(("who", "status"), [("alice", 403), ("pete", 403), ("bob", 200), ("audrey", 200)])
def test_the_desk_reads_the_rules_and_traders_do_not(api, personas, btc, who, status):
    haircut(btc, "10")
    assert api.as_user(personas[who]).get(RULES).status_code == status


def test_the_list_filters_by_asset_counterparty_and_status(api, rita, btc, acme):
    eth = desk_asset("ETH", 18, "3000")
    haircut(btc, "10")
    haircut(eth, "20")
    mine = api.as_user(rita).post(
        RULES, {"asset": "BTC", "counterparty": "ACME", "haircut_pct": "5"}, format="json"
    )
    client = api.as_user(rita)
    assert [r["asset"] for r in client.get(RULES, {"asset": "ETH"}).json()["results"]] == ["ETH"]
    assert [r["id"] for r in client.get(RULES, {"counterparty": "ACME"}).json()["results"]] == [
        mine.json()["id"]
    ]
    assert [r["id"] for r in client.get(RULES, {"status": "pending_approval"}).json()["results"]] == [
        mine.json()["id"]
    ]
    bad = client.get(RULES, {"status": "nonsense"})
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid")


def test_the_list_takes_a_fixed_number_of_queries(api, rita, btc, acme, django_assert_num_queries):
    for pct in ("10", "20", "30"):
        haircut(btc, pct, counterparty=acme)
    client = api.as_user(rita)
    # token with its user (authentication), roles (policy), count, the page (rules with their references)
    with django_assert_num_queries(4):
        assert client.get(RULES).json()["count"] == 3
    for pct in ("40", "50"):
        haircut(btc, pct)
    with django_assert_num_queries(4):
        assert client.get(RULES).json()["count"] == 5


def test_an_unknown_or_malformed_id_is_404(api, rita, btc):
    assert api.as_user(rita).get(f"{RULES}999/").status_code == 404
    assert api.as_user(rita).get(f"{RULES}abc/").status_code == 404
    assert api.as_user(rita).post(f"{RULES}999/approve/").status_code == 404


# --- limits ---------------------------------------------------------------------------------------


def test_risk_sets_a_limit_with_asset_caps(api, rita, rhea, btc, acme):
    body = {
        "counterparty": "ACME",
        "max_exposure_usd": "1000000",
        "max_tenor_days": 30,
        "min_coverage_ratio": "1.2",
        "asset_caps": {"BTC": "10"},
    }
    created = api.as_user(rita).post(LIMITS, body, format="json")
    assert created.status_code == 201, created.json()
    limit = created.json()
    assert (limit["counterparty"], limit["max_exposure_usd"], limit["max_tenor_days"], limit["status"]) == (
        "ACME",
        "1000000.00000000",
        30,
        "effective",
    )
    assert limit["asset_caps"] == {"BTC": "10.000000000000000000"}
    higher = api.as_user(rita).post(LIMITS, {**body, "max_exposure_usd": "2000000"}, format="json").json()
    assert higher["status"] == "pending_approval"
    approved = api.as_user(rhea).post(f"{LIMITS}{higher['id']}/approve/")
    assert (approved.status_code, approved.json()["status"], approved.json()["asset_caps"]) == (
        200,
        "effective",
        {"BTC": "10.000000000000000000"},
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"max_exposure_usd": "-1"}, "max_exposure_usd"),
        ({"max_exposure_usd": "1.123456789"}, "max_exposure_usd"),
        ({"max_tenor_days": 0}, "max_tenor_days"),
        ({"max_tenor_days": "soon"}, "max_tenor_days"),
        ({"min_coverage_ratio": "-1"}, "min_coverage_ratio"),
        ({"asset_caps": {"DOGE": "1"}}, "asset_caps"),
        ({"asset_caps": {"BTC": "-1"}}, "asset_caps"),
        ({"asset_caps": {"BTC": "0.000000001"}}, "asset_caps"),
        ({"asset_caps": ["BTC"]}, "asset_caps"),
        ({"counterparty": "NOBODY"}, "counterparty"),
    ],
)
def test_a_bad_limit_is_a_400_and_nothing_is_written(api, rita, btc, acme, body, field):
    before = config_state()
    response = api.as_user(rita).post(
        LIMITS, {"counterparty": "ACME", "max_exposure_usd": "1000", **body}, format="json"
    )
    assert (response.status_code, field in response.json().get("fields", {})) == (400, True), response.json()
    assert config_state() == before


def test_the_limit_route_takes_digits_only_so_breaches_stay_free(api, rita, acme):
    # limits/breaches/ belongs to the limit checks (their own route); it is never read as a limit id.
    from django.urls import Resolver404, resolve

    try:
        match = resolve(f"{LIMITS}breaches/")
    except Resolver404:
        match = None
    assert match is None or match.url_name != "limit-detail"


@pytest.mark.parametrize("who", ["bob", "alice", "mona"])
def test_only_risk_sets_limits(api, personas, acme, who):
    response = api.as_user(personas[who]).post(
        LIMITS, {"counterparty": "ACME", "max_exposure_usd": "1000"}, format="json"
    )
    assert response.status_code == 403
    assert not BorrowerLimit.objects.exists()


# --- agreements -----------------------------------------------------------------------------------

LEVELS = {
    "counterparty": "ACME",
    "return_ratio": "1.8",
    "required_ratio": "1.5",
    "warning_ratio": "1.4",
    "call_ratio": "1.3",
    "critical_ratio": "1.15",
    "cure_period_hours": 24,
    "call_due_hours": 12,
}


def test_risk_proposes_an_agreement_stricter_than_the_defaults(api, rita, acme):
    response = api.as_user(rita).post(AGREEMENTS, LEVELS, format="json")
    assert response.status_code == 201, response.json()
    assert (
        response.json()["status"],
        response.json()["return_ratio"],
        response.json()["call_due_hours"],
    ) == (
        "effective",
        "1.800000",
        12,
    )
    looser = api.as_user(rita).post(AGREEMENTS, {**LEVELS, "call_ratio": "1.2"}, format="json")
    assert looser.json()["status"] == "pending_approval"


def test_levels_out_of_order_are_a_400_beside_the_field(api, rita, acme):
    before = config_state()
    response = api.as_user(rita).post(AGREEMENTS, {**LEVELS, "warning_ratio": "1.6"}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {"warning_ratio": ["Must not be above the required ratio."]}
    assert config_state() == before


# --- stress scenarios -----------------------------------------------------------------------------


def test_risk_saves_scenario_versions_and_the_list_shows_the_active_ones(api, rita, mona, btc):
    body = {"name": "desk crash", "markdowns": {"BTC": "30"}, "other_markdown_pct": "50"}
    first = api.as_user(rita).post(SCENARIOS, body, format="json")
    assert first.status_code == 201, first.json()
    assert (first.json()["version"], first.json()["markdowns"]) == (1, {"BTC": "30"})
    second = api.as_user(rita).post(SCENARIOS, {**body, "markdowns": {"BTC": "35"}}, format="json").json()
    assert second["version"] == 2
    listed = api.as_user(mona).get(SCENARIOS).json()["results"]
    assert [(s["name"], s["version"], s["is_active"]) for s in listed if s["name"] == "desk crash"] == [
        ("desk crash", 2, True)
    ]
    assert all(s["is_active"] for s in listed)
    versions = api.as_user(mona).get(SCENARIOS, {"name": "desk crash"}).json()["results"]
    assert [s["version"] for s in versions] == [2, 1]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"markdowns": {"DOGE": "10"}}, "markdowns"),
        ({"markdowns": {"BTC": "101"}}, "markdowns"),
        ({"recall_fraction": "1.5"}, "recall_fraction"),
        ({"haircut_addon_pct": "-5"}, "haircut_addon_pct"),
        ({"name": ""}, "name"),
    ],
)
def test_a_bad_scenario_is_a_400_naming_the_field(api, rita, btc, body, field):
    before = config_state()
    response = api.as_user(rita).post(SCENARIOS, {"name": "crash", **body}, format="json")
    assert (response.status_code, field in response.json()["fields"]) == (400, True), response.json()
    assert config_state() == before


@pytest.mark.parametrize(("who", "get", "post"), [("mona", 200, 403), ("bob", 403, 403), ("alice", 403, 403)])
def test_who_reads_and_saves_scenarios(api, personas, btc, who, get, post):
    client = api.as_user(personas[who])
    assert client.get(SCENARIOS).status_code == get
    assert client.post(SCENARIOS, {"name": "x", "markdowns": {}}, format="json").status_code == post
