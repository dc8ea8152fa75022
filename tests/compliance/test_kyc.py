from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from compliance.models import KycProfile
from compliance.selectors import is_cleared

URL = "/api/v1/compliance/kyc/"


def _in(days):
    return (timezone.now() + timedelta(days=days)).date().isoformat()


def test_compliance_sets_kyc_and_the_counterparty_is_cleared(api, carl, acme):
    response = api.as_user(carl).post(
        URL,
        {"counterparty": "ACME", "status": "approved", "risk_rating": "low", "expires_on": _in(365)},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert (response.json()["is_cleared"], response.json()["updated_by"]) == (True, "carl")
    assert is_cleared(acme)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"counterparty": "NOPE"}, "counterparty"),
        ({"status": "maybe"}, "status"),
        ({"risk_rating": "x"}, "risk_rating"),
        ({"expires_on": "not-a-date"}, "expires_on"),
        ({"expires_on": "2001-01-01"}, "expires_on"),
    ],
)
def test_bad_kyc_input_is_a_400_and_writes_nothing(api, carl, acme, body, field):
    base = {"counterparty": "ACME", "status": "approved", "risk_rating": "low", "expires_on": _in(30)}
    response = api.as_user(carl).post(URL, {**base, **body}, format="json")
    assert response.status_code == 400 and field in response.json()["fields"]
    assert not KycProfile.objects.exists()


@pytest.mark.parametrize("who", ["alice", "bob", "rita", "audrey"])
def test_only_compliance_sets_kyc(api, personas, acme, who):
    response = api.as_user(personas[who]).post(
        URL,
        {"counterparty": "ACME", "status": "approved", "risk_rating": "low", "expires_on": _in(30)},
        format="json",
    )
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    assert not KycProfile.objects.exists()


def test_expired_or_rejected_kyc_does_not_clear(carl, acme, globex):
    from compliance.services import set_kyc

    set_kyc(
        actor=carl, counterparty=acme, status="expired", risk_rating="low", expires_on=timezone.now().date()
    )
    set_kyc(
        actor=carl,
        counterparty=globex,
        status="rejected",
        risk_rating="high",
        expires_on=timezone.now().date(),
    )
    assert not is_cleared(acme) and not is_cleared(globex)


def test_kyc_can_be_read_by_the_desk_and_is_404_when_missing(api, carl, bob, acme):
    assert api.as_user(bob).get(f"{URL}ACME/").status_code == 404
    api.as_user(carl).post(
        URL,
        {"counterparty": "ACME", "status": "pending", "risk_rating": "medium", "expires_on": _in(10)},
        format="json",
    )
    assert api.as_user(bob).get(f"{URL}ACME/").json()["status"] == "pending"


def test_the_kyc_page_sets_kyc_for_compliance_only(client, carl, bob, alice, acme):
    # Readers of KYC (the API's and the page's alike: compliance.kyc.view) see it; only compliance sets it.
    client.force_login(alice)
    assert client.get(reverse("compliance:kyc")).status_code == 403
    client.force_login(bob)
    page = client.get(reverse("compliance:kyc"))
    assert page.status_code == 200 and "Set KYC" not in page.content.decode()
    form = {"status": "approved", "risk_rating": "low", "expires_on": _in(90)}
    assert client.post(reverse("compliance:set_kyc", args=["ACME"]), form).status_code == 403
    assert not KycProfile.objects.exists()
    client.force_login(carl)
    assert 'href="/compliance/kyc/ACME/"' in client.get(reverse("compliance:kyc")).content.decode()
    client.post(
        reverse("compliance:set_kyc", args=["ACME"]),
        {"status": "approved", "risk_rating": "low", "expires_on": _in(90)},
    )
    assert is_cleared(acme)


# --- the risk rating is compliance's ---------------------------------------------------------------


def test_the_kyc_sets_the_counterpartys_risk_rating(api, carl, acme):
    assert acme.risk_rating == "low"
    response = api.as_user(carl).post(
        URL,
        {"counterparty": "ACME", "status": "approved", "risk_rating": "high", "expires_on": _in(90)},
        format="json",
    )
    assert response.status_code == 201, response.json()
    acme.refresh_from_db()
    assert acme.risk_rating == "high"


def test_the_kyc_page_sets_the_risk_rating_too(client, carl, globex):
    client.force_login(carl)
    client.post(
        reverse("compliance:set_kyc", args=["GLOBEX"]),
        {"status": "approved", "risk_rating": "low", "expires_on": _in(90)},
    )
    globex.refresh_from_db()
    assert globex.risk_rating == "low"


def test_the_risk_rating_is_written_by_refdatas_service_with_compliances_action(bob, carl, acme):
    from borrowdesk.errors import PermissionDeniedError
    from borrowdesk.refdata.services import set_risk_rating

    with pytest.raises(PermissionDeniedError):
        set_risk_rating(actor=bob, counterparty=acme, risk_rating="high")
    acme.refresh_from_db()
    assert acme.risk_rating == "low"
    assert set_risk_rating(actor=carl, counterparty=acme, risk_rating="medium").risk_rating == "medium"


def test_a_refused_kyc_leaves_the_rating_as_it_was(api, bob, acme):
    response = api.as_user(bob).post(
        URL,
        {"counterparty": "ACME", "status": "approved", "risk_rating": "high", "expires_on": _in(90)},
        format="json",
    )
    assert response.status_code == 403
    acme.refresh_from_db()
    assert (acme.risk_rating, KycProfile.objects.exists()) == ("low", False)
