"""Sensitive reads through the API and pages land in the access log: reading one counterparty or one
custody account, the counterparty list (and its CSV), a custody-account list filtered by owner, any KYC
(one profile or the list), and the KYC page. Other lists of reference data are not logged."""

from datetime import timedelta

import pytest
from django.utils import timezone

from borrowdesk.access.models import AccessLog
from compliance.models import KycProfile
from tests.refdata.factories import CustodyAccountFactory


@pytest.fixture
def records(acme):
    CustodyAccountFactory(code="ACME-WALLET", owner=acme, purpose="collateral")
    KycProfile.objects.create(
        counterparty=acme,
        status="approved",
        risk_rating="low",
        expires_on=timezone.now().date() + timedelta(9),
    )


@pytest.mark.parametrize(
    ("path", "view_name", "ref"),
    [
        ("/api/v1/counterparties/ACME/", "counterparty-detail", "code=ACME"),
        ("/api/v1/custody-accounts/ACME-WALLET/", "custody-account-detail", "code=ACME-WALLET"),
        ("/api/v1/compliance/kyc/ACME/", "kyc-detail", "ACME"),
    ],
)
def test_reading_one_sensitive_record_through_the_api_is_logged(api, audrey, records, path, view_name, ref):
    response = api.as_user(audrey).get(path, HTTP_USER_AGENT="desk-script/1.0")
    assert response.status_code == 200, response.json()
    [entry] = AccessLog.objects.all()
    assert (entry.user, entry.method, entry.path, entry.user_agent) == (
        audrey,
        "GET",
        path,
        "desk-script/1.0",
    )
    assert entry.view_name.endswith(view_name) and ref in entry.object_ref


def test_reference_lists_are_not_logged_but_the_kyc_list_is(api, audrey, records):
    for path in ("/api/v1/assets/", "/api/v1/venues/", "/api/v1/custody-accounts/", "/api/v1/prices/"):
        assert api.as_user(audrey).get(path).status_code == 200
    assert not AccessLog.objects.exists()
    assert api.as_user(audrey).get("/api/v1/compliance/kyc/").status_code == 200
    assert AccessLog.objects.get().path == "/api/v1/compliance/kyc/"


@pytest.mark.parametrize(
    ("path", "view_name"),
    [
        ("/api/v1/counterparties/", "counterparty-list"),
        ("/refdata/counterparties/", "refdata:counterparty_list"),
        ("/refdata/counterparties/?format=csv", "refdata:counterparty_list"),
        ("/api/v1/custody-accounts/?owner=ACME", "custody-account-list"),
        ("/refdata/accounts/?owner=ACME", "refdata:account_list"),
    ],
)
def test_the_probes_missed_reads_are_logged(api, client, audrey, records, path, view_name):
    """The counterparty list and its CSV, and one owner's custody accounts, read the clients' records."""
    reader = api.as_user(audrey) if path.startswith("/api/") else client
    client.force_login(audrey)
    assert reader.get(path).status_code == 200
    entry = AccessLog.objects.get()
    assert (entry.user, entry.path, entry.view_name) == (audrey, path, view_name)


def test_an_account_list_not_filtered_by_owner_is_not_logged(client, audrey, records):
    client.force_login(audrey)
    assert client.get("/refdata/accounts/?purpose=collateral").status_code == 200
    assert not AccessLog.objects.exists()


def test_a_refused_read_is_not_logged_as_a_read(api, alice, records):
    # alice (a trader) may not read KYC: nothing was read, nothing is logged as read.
    assert api.as_user(alice).get("/api/v1/compliance/kyc/ACME/").status_code in (403, 404)
    assert not AccessLog.objects.exists()


def test_the_kyc_page_is_a_logged_read(login, carl, records):
    assert login(carl).get("/compliance/kyc/").status_code == 200
    assert AccessLog.objects.get().view_name == "compliance:kyc"
