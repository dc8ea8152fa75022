"""The reference-data services: permission, rules, validation and audit, without HTTP."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from pghistory.models import Events

from borrowdesk.errors import InvalidInput, PermissionDeniedError
from borrowdesk.refdata import services
from borrowdesk.refdata.models import Asset, Counterparty, CustodyAccount, Network, Price, Venue
from tests.refdata.factories import CustodyAccountFactory, NetworkFactory, VenueFactory
from tests.refdata.helpers import refdata_state


def _events(obj, label=None):
    events = Events.objects.filter(pgh_obj_model=obj._meta.label, pgh_obj_id=str(obj.pk))
    return events.filter(pgh_label=label) if label else events


def _refused(call, **kwargs) -> InvalidInput:
    """Call a service that must refuse with InvalidInput and change nothing; return the error."""
    before = refdata_state()
    with pytest.raises(InvalidInput) as caught:
        call(**kwargs)
    assert refdata_state() == before
    return caught.value


COUNTERPARTY = {"code": "INITECH", "legal_name": "Initech Ltd", "kind": "client", "jurisdiction": "US"}


# --- permission -----------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["alice", "rita", "carl", "tess", "mona", "audrey"])
def test_a_role_without_the_add_permission_cannot_create_a_counterparty(personas, persona):
    before = refdata_state()
    with pytest.raises(PermissionDeniedError):
        services.create_counterparty(actor=personas[persona], **COUNTERPARTY)
    assert refdata_state() == before


@pytest.mark.parametrize("persona", ["bob", "olivia", "adam"])
def test_ops_senior_ops_and_admin_may_create_a_counterparty(personas, persona):
    counterparty = services.create_counterparty(actor=personas[persona], **COUNTERPARTY)
    assert Counterparty.objects.get(code="INITECH") == counterparty


def test_a_deactivated_user_cannot_write_even_with_the_role(bob):
    bob.is_active = False
    bob.save()
    with pytest.raises(PermissionDeniedError):
        services.create_network(actor=bob, code="tron", name="Tron")
    assert not Network.objects.filter(code="tron").exists()


def test_a_role_without_the_change_permission_cannot_update(rita, acme):
    with pytest.raises(PermissionDeniedError):
        services.update_counterparty(actor=rita, counterparty=acme, legal_name="Acme Holdings plc")
    acme.refresh_from_db()
    assert acme.legal_name == "Acme Trading Ltd"


def test_no_one_changes_a_risk_rating_through_the_counterparty_update(bob, adam, acme):
    for actor in (bob, adam):
        error = _refused(services.update_counterparty, actor=actor, counterparty=acme, risk_rating="high")
        assert error.fields == {"risk_rating": ["Set by compliance with the counterparty's KYC."]}
    acme.refresh_from_db()
    assert acme.risk_rating == "low"


# --- audit ----------------------------------------------------------------------------------------


def test_a_created_counterparty_is_audited_with_the_acting_user(bob):
    counterparty = services.create_counterparty(actor=bob, **COUNTERPARTY)
    [event] = _events(counterparty)
    assert (event.pgh_label, event.pgh_context["user"]) == ("insert", bob.pk)


def test_an_update_is_audited_with_the_acting_user(bob, acme):
    services.update_counterparty(actor=bob, counterparty=acme, legal_name="Acme Holdings plc")
    [event] = _events(acme, "update")
    assert (event.pgh_label, event.pgh_data["legal_name"], event.pgh_context["user"]) == (
        "update",
        "Acme Holdings plc",
        bob.pk,
    )


def test_an_update_that_changes_nothing_records_no_event(bob, acme):
    before = _events(acme).count()
    services.update_counterparty(actor=bob, counterparty=acme, kind=acme.kind, legal_name=acme.legal_name)
    assert _events(acme).count() == before


# --- assets ---------------------------------------------------------------------------------------


def test_ops_creates_an_asset(bob):
    asset = services.create_asset(actor=bob, symbol="SOL", name="Solana", decimals=9)
    assert Asset.objects.filter(symbol="SOL", decimals=9, is_stablecoin=False, is_active=True).get() == asset


@pytest.mark.parametrize("decimals", [-1, 19, True, Decimal("8"), "8"])
def test_asset_decimals_must_be_a_whole_number_from_0_to_18(bob, decimals):
    error = _refused(services.create_asset, actor=bob, symbol="SOL", name="Solana", decimals=decimals)
    assert list(error.fields) == ["decimals"]


@pytest.mark.parametrize("symbol", ["sol", "S OL", "-SOL", "SOL\n", "", "SOLANA-TOKEN-LONG", 5])
def test_a_malformed_or_too_long_symbol_is_refused(bob, symbol):
    error = _refused(services.create_asset, actor=bob, symbol=symbol, name="Solana", decimals=9)
    assert list(error.fields) == ["symbol"]


def test_a_duplicate_symbol_is_refused(bob, btc):
    error = _refused(services.create_asset, actor=bob, symbol="BTC", name="Bitcoin again", decimals=8)
    assert list(error.fields) == ["symbol"]


def test_asset_decimals_may_go_up(bob, btc):
    services.update_asset(actor=bob, asset=btc, decimals=10)
    btc.refresh_from_db()
    assert btc.decimals == 10


def test_asset_decimals_may_not_go_down_as_booked_quantities_may_have_more_places(bob, btc):
    error = _refused(services.update_asset, actor=bob, asset=btc, decimals=2)
    assert "Cannot go below 8" in error.fields["decimals"][0]


def test_an_asset_is_retired_by_deactivating_it(bob, btc):
    services.update_asset(actor=bob, asset=btc, is_active=False)
    assert Asset.objects.get(symbol="BTC").is_active is False


def test_a_symbol_cannot_be_changed_by_update(bob, btc):
    with pytest.raises(TypeError):
        services.update_asset(actor=bob, asset=btc, symbol="XBT")  # type: ignore[call-arg]
    assert Asset.objects.filter(symbol="BTC").exists()


# --- networks and venues --------------------------------------------------------------------------


def test_ops_creates_a_network_in_lower_case(bob):
    network = services.create_network(actor=bob, code="arbitrum-one", name="Arbitrum One")
    assert Network.objects.get(code="arbitrum-one") == network


@pytest.mark.parametrize("code", ["Ethereum", "ETHEREUM", "eth.mainnet", "_eth", "x" * 33])
def test_a_network_code_must_be_lower_case_letters_digits_dash_underscore(bob, code):
    error = _refused(services.create_network, actor=bob, code=code, name="Ethereum")
    assert list(error.fields) == ["code"]


def test_a_network_is_renamed(bob, ethereum):
    services.update_network(actor=bob, network=ethereum, name="Ethereum mainnet")
    assert Network.objects.get(code="ethereum").name == "Ethereum mainnet"


def test_ops_creates_a_venue(bob):
    venue = services.create_venue(actor=bob, code="KRAKEN", name="Kraken", kind="exchange")
    assert Venue.objects.get(code="KRAKEN", kind="exchange") == venue


def test_an_unknown_venue_kind_is_refused(bob):
    error = _refused(services.create_venue, actor=bob, code="KRAKEN", name="Kraken", kind="casino")
    assert list(error.fields) == ["kind"]


def test_a_venue_kind_can_change_to_a_known_kind_only(bob, coinvault):
    _refused(services.update_venue, actor=bob, venue=coinvault, kind="casino")
    services.update_venue(actor=bob, venue=coinvault, kind="prime_broker")
    assert Venue.objects.get(code="COINVAULT").kind == "prime_broker"


# --- counterparties -------------------------------------------------------------------------------


def test_a_new_counterparty_is_medium_risk_and_active_by_default(bob):
    counterparty = services.create_counterparty(actor=bob, **COUNTERPARTY)
    assert (counterparty.risk_rating, counterparty.is_active) == ("medium", True)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"code": "initech"}, "code"),
        ({"code": "INI TECH"}, "code"),
        ({"code": "ACME"}, "code"),  # taken
        ({"jurisdiction": "us"}, "jurisdiction"),
        ({"jurisdiction": "USA"}, "jurisdiction"),
        ({"jurisdiction": "U1"}, "jurisdiction"),
        ({"kind": "friend"}, "kind"),
        ({"legal_name": ""}, "legal_name"),
        ({"legal_name": "x" * 201}, "legal_name"),
    ],
)
def test_a_bad_counterparty_field_is_refused_by_name(bob, acme, change, field):
    error = _refused(services.create_counterparty, actor=bob, **{**COUNTERPARTY, **change})
    assert list(error.fields) == [field]


def test_every_bad_field_is_reported_at_once(bob):
    error = _refused(
        services.create_counterparty, actor=bob, **{**COUNTERPARTY, "code": "bad code", "jurisdiction": "usa"}
    )
    assert set(error.fields) == {"code", "jurisdiction"}


def test_an_update_to_a_bad_value_changes_nothing(bob, acme):
    error = _refused(
        services.update_counterparty, actor=bob, counterparty=acme, jurisdiction="gb", legal_name="Acme plc"
    )
    assert list(error.fields) == ["jurisdiction"]


def test_update_reads_the_stored_row_not_the_callers_modified_copy(bob, acme):
    acme.legal_name = "Changed in memory only"
    services.update_counterparty(actor=bob, counterparty=acme, kind="lender")
    stored = Counterparty.objects.get(code="ACME")
    assert (stored.legal_name, stored.kind) == ("Acme Trading Ltd", "lender")


# --- custody accounts -----------------------------------------------------------------------------


def test_ops_creates_a_firm_account(bob, coinvault):
    account = services.create_custody_account(
        actor=bob, code="FIRM-TREAS", venue=coinvault, purpose="treasury"
    )
    assert (account.owner, account.network, account.address) == (None, None, "")


def test_ops_creates_a_counterparty_wallet(bob, acme, coinvault, ethereum):
    account = services.create_custody_account(
        actor=bob,
        code="ACME-W1",
        venue=coinvault,
        network=ethereum,
        address="0xabc",
        owner=acme,
        purpose="collateral",
    )
    assert CustodyAccount.objects.get(code="ACME-W1", owner=acme, network=ethereum) == account


def test_an_address_already_held_on_the_network_is_refused(bob, coinvault, ethereum, acme_wallet):
    error = _refused(
        services.create_custody_account,
        actor=bob,
        code="OTHER",
        venue=coinvault,
        network=ethereum,
        address="0xacme",
        purpose="inventory",
    )
    assert list(error.fields) == ["address"]


def test_the_same_address_on_another_network_is_allowed(bob, coinvault, acme_wallet):
    polygon = NetworkFactory(code="polygon")
    services.create_custody_account(
        actor=bob, code="POLY", venue=coinvault, network=polygon, address="0xacme", purpose="inventory"
    )
    assert CustodyAccount.objects.filter(address="0xacme").count() == 2


@pytest.mark.parametrize("field", ["venue", "network", "owner"])
def test_a_new_account_cannot_point_at_an_inactive_reference(bob, coinvault, ethereum, acme, field):
    refs = {"venue": coinvault, "network": ethereum, "owner": acme}
    refs[field].is_active = False
    refs[field].save()
    error = _refused(services.create_custody_account, actor=bob, code="NEW", purpose="inventory", **refs)
    assert list(error.fields) == [field]


def test_an_account_at_a_deactivated_venue_can_still_be_deactivated(bob, coinvault, firm_inventory):
    coinvault.is_active = False
    coinvault.save()
    services.update_custody_account(actor=bob, account=firm_inventory, is_active=False)
    assert CustodyAccount.objects.get(code="FIRM-INV").is_active is False


def test_an_account_moves_to_another_active_venue(bob, firm_inventory):
    kraken = VenueFactory(code="KRAKEN", kind="exchange")
    account = services.update_custody_account(actor=bob, account=firm_inventory, venue=kraken)
    assert (account.venue, CustodyAccount.objects.get(code="FIRM-INV").venue) == (kraken, kraken)


def test_an_account_cannot_take_an_address_another_account_holds(bob, acme_wallet, globex_wallet):
    error = _refused(services.update_custody_account, actor=bob, account=globex_wallet, address="0xacme")
    assert list(error.fields) == ["address"]


def test_an_unknown_purpose_is_refused(bob, firm_inventory):
    error = _refused(services.update_custody_account, actor=bob, account=firm_inventory, purpose="savings")
    assert list(error.fields) == ["purpose"]


def test_many_accounts_may_have_no_address(bob, coinvault, firm_inventory):
    CustodyAccountFactory(code="FIRM-SETTLE", venue=coinvault, purpose="settlement")
    assert CustodyAccount.objects.filter(address="").count() == 2


# --- prices ---------------------------------------------------------------------------------------


def test_a_price_is_recorded_now_by_default(pete, btc):
    before = timezone.now()
    price = services.record_price(actor=pete, asset=btc, price_usd=Decimal("64250.5"))
    assert (price.price_usd, price.source) == (Decimal("64250.5"), "manual")
    assert before <= price.as_of <= timezone.now()


@pytest.mark.parametrize(
    "price_usd",
    [
        Decimal("0"),
        Decimal("-1"),
        Decimal("NaN"),
        Decimal("Infinity"),
        Decimal("1e309"),
        Decimal("0.000000001"),
        1.5,
    ],
)
def test_a_price_must_be_a_positive_finite_decimal_of_at_most_8_places(pete, btc, price_usd):
    error = _refused(services.record_price, actor=pete, asset=btc, price_usd=price_usd)
    assert list(error.fields) == ["price_usd"]


def test_a_price_stamped_in_the_future_is_refused(pete, btc):
    as_of = timezone.now() + timedelta(hours=1)
    error = _refused(services.record_price, actor=pete, asset=btc, price_usd=Decimal("1"), as_of=as_of)
    assert list(error.fields) == ["as_of"]


def test_a_price_time_without_offset_is_refused(pete, btc):
    as_of = timezone.now().replace(tzinfo=None) - timedelta(hours=1)
    error = _refused(services.record_price, actor=pete, asset=btc, price_usd=Decimal("1"), as_of=as_of)
    assert list(error.fields) == ["as_of"]


def test_a_price_source_longer_than_64_is_refused(pete, btc):
    error = _refused(services.record_price, actor=pete, asset=btc, price_usd=Decimal("1"), source="x" * 65)
    assert list(error.fields) == ["source"]


def test_a_trader_cannot_record_a_price(alice, btc):
    with pytest.raises(PermissionDeniedError):
        services.record_price(actor=alice, asset=btc, price_usd=Decimal("1"))
    assert not Price.objects.exists()


# --- transactions ---------------------------------------------------------------------------------


def test_a_refused_write_inside_a_callers_transaction_leaves_it_usable(bob, acme):
    with transaction.atomic():
        with pytest.raises(InvalidInput):
            services.create_counterparty(actor=bob, **{**COUNTERPARTY, "code": "ACME"})
        services.create_counterparty(actor=bob, **COUNTERPARTY)
    assert set(Counterparty.objects.values_list("code", flat=True)) >= {"ACME", "INITECH"}
