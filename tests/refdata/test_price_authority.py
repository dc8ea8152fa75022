"""Who sets the mark: the price feed posts; an administrator's manual price is an override that a
second administrator confirms when it moves the mark beyond the tolerance; no approving role posts a
price (the probe: ops posted BTC at $1 and approved a 30 BTC request alone)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from borrowdesk.access.services import create_desk_user
from borrowdesk.refdata import selectors
from borrowdesk.refdata.models import Price
from tests.conftest import PASSWORD
from tests.refdata.factories import PriceFactory
from tests.refdata.helpers import assert_error, refdata_state, send

URL = "/api/v1/prices/"


@pytest.fixture
def marked(btc):
    """BTC's mark is 100,000 (posted by the feed an hour ago)."""
    return PriceFactory(asset=btc, price_usd=Decimal("100000"), as_of=timezone.now() - timedelta(hours=1))


@pytest.fixture
def adele(desk_config):
    """A second administrator."""
    return create_desk_user(username="adele", password=PASSWORD, roles=["admin"])


def _mark(btc) -> Decimal | None:
    found = selectors.mark(btc)
    return found.price_usd if found else None


def _post(api, user, price: str):
    return send(api.as_user(user), "post", URL, {"asset": "BTC", "price_usd": price})


@pytest.mark.parametrize("persona", ["bob", "olivia", "rita"])
def test_an_approving_role_cannot_post_a_price_and_nothing_is_written(api, personas, marked, btc, persona):
    before = refdata_state()
    assert_error(_post(api, personas[persona], "1"), 403, "permission_denied")
    assert refdata_state() == before
    assert _mark(btc) == Decimal("100000")


def test_the_feed_posts_a_price_that_is_the_mark_at_once_whatever_it_moves(api, pete, marked, btc):
    response = _post(api, pete, "50000")
    assert (response.status_code, response.json()["status"]) == (201, "applied")
    assert _mark(btc) == Decimal("50000")
    assert Price.objects.get(pk=response.json()["id"]).posted_by == pete


def test_an_override_within_the_tolerance_applies_at_once(api, adam, marked, btc):
    response = _post(api, adam, "104000")  # 4 % < 5 %
    assert (response.status_code, response.json()["status"]) == (201, "applied")
    assert _mark(btc) == Decimal("104000")


def test_an_override_beyond_the_tolerance_is_pending_and_not_the_mark(api, adam, marked, btc):
    response = _post(api, adam, "1")
    assert (response.status_code, response.json()["status"]) == (201, "pending")
    assert _mark(btc) == Decimal("100000")
    # Neither the list of marks nor the one-query map by asset counts it.
    assert api.as_user(adam).get(URL).json()["results"][0]["price_usd"] == "100000.00000000"
    assert selectors.marks_by_asset_id()[btc.pk].price_usd == Decimal("100000")
    assert list(selectors.pending_overrides()) == [Price.objects.get(pk=response.json()["id"])]


def test_a_first_mark_by_override_waits_for_confirmation(api, adam, btc):
    assert _post(api, adam, "100000").json()["status"] == "pending"
    assert _mark(btc) is None


def test_the_tolerance_is_a_setting(api, adam, marked, btc, settings):
    settings.PRICE_OVERRIDE_TOLERANCE_PCT = 20
    assert _post(api, adam, "115000").json()["status"] == "applied"
    settings.PRICE_OVERRIDE_TOLERANCE_PCT = 1
    assert _post(api, adam, "117000").json()["status"] == "pending"  # 1.7 % from 115,000


def test_another_administrator_confirms_and_the_override_becomes_the_mark(api, adam, adele, marked, btc):
    override = _post(api, adam, "90000").json()
    response = send(api.as_user(adele), "post", f"{URL}{override['id']}/confirm/", {})
    assert (response.status_code, response.json()["status"]) == (200, "applied")
    assert _mark(btc) == Decimal("90000")
    confirmed = Price.objects.get(pk=override["id"])
    assert (confirmed.posted_by, confirmed.confirmed_by) == (adam, adele)


def test_the_administrator_who_posted_it_cannot_confirm_it(api, adam, marked, btc):
    override = _post(api, adam, "90000").json()
    before = refdata_state()
    response = send(api.as_user(adam), "post", f"{URL}{override['id']}/confirm/", {})
    assert_error(response, 403, "segregation_of_duties")
    assert refdata_state() == before
    assert _mark(btc) == Decimal("100000")


@pytest.mark.parametrize("persona", ["bob", "olivia", "rita", "pete"])
def test_no_other_role_confirms_an_override(api, personas, adam, marked, btc, persona):
    override = _post(api, adam, "90000").json()
    before = refdata_state()
    response = send(api.as_user(personas[persona]), "post", f"{URL}{override['id']}/confirm/", {})
    assert_error(response, 403, "permission_denied")
    assert refdata_state() == before


def test_an_applied_price_cannot_be_confirmed_again(api, adam, adele, marked):
    override = _post(api, adam, "90000").json()
    send(api.as_user(adele), "post", f"{URL}{override['id']}/confirm/", {})
    assert_error(send(api.as_user(adele), "post", f"{URL}{marked.pk}/confirm/", {}), 409, "invalid_state")


def test_confirming_an_unknown_price_is_404(api, adele, marked):
    assert_error(send(api.as_user(adele), "post", f"{URL}999999/confirm/", {}), 404, "not_found")


def test_the_probes_bypass_is_closed_a_large_request_keeps_its_two_step_path(
    api, personas, desk_config, acme
):
    """ops posts BTC at $1 (refused); a 30 BTC request is priced from the feed's mark: two steps."""
    from compliance.services import set_kyc
    from requests_app.services import submit_request
    from tests.inventory.factories import desk_asset

    btc = desk_asset("BTC", 8, "97000")
    set_kyc(
        actor=personas["carl"],
        counterparty=acme,
        status="approved",
        risk_rating="low",
        expires_on=timezone.now().date() + timedelta(days=90),
    )
    assert_error(_post(api, personas["bob"], "1"), 403, "permission_denied")
    request = submit_request(actor=personas["alice"], counterparty=acme, asset=btc, quantity=Decimal("30"))
    assert request.notional_usd == Decimal("2910000")
    assert request.required_steps == ["ops", "risk"]


def test_administrators_find_the_overrides_awaiting_them(api, adam, adele, pete, marked):
    override = _post(api, adam, "1").json()
    _post(api, adam, "100100")  # within the tolerance: applied, not listed
    body = api.as_user(adele).get(f"{URL}pending/").json()
    assert [(p["id"], p["status"]) for p in body["results"]] == [(override["id"], "pending")]
    assert_error(api.as_user(pete).get(f"{URL}pending/"), 403, "permission_denied")
