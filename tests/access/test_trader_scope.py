"""A trader sees only the counterparties granted to them and those counterparties' accounts, never the
firm's wallets; anything else is a 404 (never a 403, which would confirm that it exists)."""

import pytest

from tests.refdata.factories import CustodyAccountFactory, VenueFactory
from tests.refdata.helpers import assert_error, refdata_state, send


@pytest.fixture
def accounts(acme, globex):
    venue = VenueFactory(code="COINVAULT")
    return {
        "firm": CustodyAccountFactory(code="FIRM-INV", venue=venue, owner=None),
        "acme": CustodyAccountFactory(code="ACME-COLL", venue=venue, owner=acme, purpose="collateral"),
        "globex": CustodyAccountFactory(code="GLOBEX-COLL", venue=venue, owner=globex, purpose="collateral"),
    }


def test_alice_gets_404_for_globex_counterparty(api, alice, globex):
    assert_error(api.as_user(alice).get("/api/v1/counterparties/GLOBEX/"), 404, "not_found")


def test_alice_gets_acme_counterparty(api, alice, acme):
    assert api.as_user(alice).get("/api/v1/counterparties/ACME/").json()["code"] == "ACME"


def test_globex_is_absent_from_alices_counterparty_list(api, alice, acme, globex):
    body = api.as_user(alice).get("/api/v1/counterparties/").json()
    assert (body["count"], [c["code"] for c in body["results"]]) == (1, ["ACME"])


def test_filtering_for_globex_shows_alice_nothing(api, alice, accounts):
    client = api.as_user(alice)
    assert client.get("/api/v1/counterparties/?risk_rating=medium").json()["count"] == 0  # GLOBEX is medium
    assert client.get("/api/v1/custody-accounts/?owner=GLOBEX").json()["count"] == 0


def test_tom_sees_globex_and_not_acme(api, tom, acme, globex):
    client = api.as_user(tom)
    assert [c["code"] for c in client.get("/api/v1/counterparties/").json()["results"]] == ["GLOBEX"]
    assert_error(client.get("/api/v1/counterparties/ACME/"), 404, "not_found")


def test_alice_gets_404_for_a_globex_owned_account(api, alice, accounts):
    assert_error(api.as_user(alice).get("/api/v1/custody-accounts/GLOBEX-COLL/"), 404, "not_found")


def test_alice_sees_acmes_accounts_only_never_the_firms_wallets(api, alice, accounts):
    body = api.as_user(alice).get("/api/v1/custody-accounts/").json()
    assert [a["code"] for a in body["results"]] == ["ACME-COLL"]
    assert_error(api.as_user(alice).get("/api/v1/custody-accounts/FIRM-INV/"), 404, "not_found")


def test_on_the_accounts_page_a_trader_sees_their_counterparties_accounts_never_the_firms(
    client, alice, accounts
):
    """The probe: alice opened /refdata/accounts/ and saw the firm's inventory and treasury wallets."""
    client.force_login(alice)
    page = client.get("/refdata/accounts/").content.decode()
    assert "ACME-COLL" in page and "FIRM-INV" not in page and "GLOBEX-COLL" not in page
    csv = client.get("/refdata/accounts/?format=csv").content.decode()
    assert "ACME-COLL" in csv and "FIRM-INV" not in csv
    assert client.get("/refdata/accounts/FIRM-INV/").status_code == 404
    assert client.get("/refdata/accounts/GLOBEX-COLL/").status_code == 404
    assert client.get("/refdata/accounts/ACME-COLL/").status_code == 200


def test_desk_staff_see_the_firms_accounts_on_the_page(client, bob, accounts):
    client.force_login(bob)
    page = client.get("/refdata/accounts/").content.decode()
    assert all(code in page for code in ("ACME-COLL", "FIRM-INV", "GLOBEX-COLL"))


def test_a_counterparty_out_of_scope_looks_like_one_that_does_not_exist(api, alice, globex):
    client = api.as_user(alice)
    hidden = client.get("/api/v1/counterparties/GLOBEX/")
    missing = client.get("/api/v1/counterparties/NOSUCH/")
    assert (hidden.status_code, hidden.json()) == (missing.status_code, missing.json())


def test_a_revoked_grant_takes_the_counterparty_out_of_scope(api, alice, acme):
    from borrowdesk.access.services import revoke_counterparty

    revoke_counterparty(user=alice, counterparty=acme)
    assert_error(api.as_user(alice).get("/api/v1/counterparties/ACME/"), 404, "not_found")


def test_desk_staff_are_not_scoped(api, rita, accounts):
    client = api.as_user(rita)
    assert client.get("/api/v1/counterparties/GLOBEX/").status_code == 200
    assert client.get("/api/v1/custody-accounts/GLOBEX-COLL/").status_code == 200


def test_a_trader_who_also_holds_a_desk_role_is_not_scoped(api, alice, globex):
    from django.contrib.auth.models import Group

    alice.groups.add(Group.objects.get(name="risk"))
    assert api.as_user(alice).get("/api/v1/counterparties/GLOBEX/").status_code == 200


def test_ops_updating_out_of_a_traders_scope_is_unaffected_by_it(api, bob, accounts):
    response = send(
        api.as_user(bob), "patch", "/api/v1/custody-accounts/GLOBEX-COLL/", {"purpose": "settlement"}
    )
    assert (response.status_code, response.json()["purpose"]) == (200, "settlement")


def test_a_traders_write_is_refused_before_any_lookup(api, alice, globex):
    # 403 whether or not the counterparty exists, so a refusal reveals nothing either.
    before = refdata_state()
    client = api.as_user(alice)
    for code in ("GLOBEX", "NOSUCH"):
        response = send(client, "patch", f"/api/v1/counterparties/{code}/", {"legal_name": "Mine now"})
        assert_error(response, 403, "permission_denied")
    assert refdata_state() == before
