"""Changes made through the API are audited (django-pghistory) with the acting user; refused ones are not."""

from pghistory.models import Events

from tests.refdata.helpers import assert_error, send


def _events(counterparty, label):
    return Events.objects.filter(
        pgh_obj_model="refdata.Counterparty", pgh_obj_id=str(counterparty.pk), pgh_label=label
    )


def test_a_patch_by_bob_is_an_event_naming_bob(api, bob, acme):
    response = send(api.as_user(bob), "patch", "/api/v1/counterparties/ACME/", {"kind": "lender"})
    assert response.status_code == 200
    [event] = _events(acme, "update")
    assert event.pgh_context["user"] == bob.pk
    assert event.pgh_data["kind"] == "lender"


def test_the_event_also_records_the_url(api, bob, acme):
    send(api.as_user(bob), "patch", "/api/v1/counterparties/ACME/", {"kind": "lender"})
    [event] = _events(acme, "update")
    assert event.pgh_context["url"] == "/api/v1/counterparties/ACME/"


def test_a_create_by_olivia_is_an_event_naming_olivia(api, olivia):
    body = {"code": "INITECH", "legal_name": "Initech Ltd", "kind": "client", "jurisdiction": "US"}
    response = send(api.as_user(olivia), "post", "/api/v1/counterparties/", body)
    assert response.status_code == 201
    [event] = Events.objects.filter(
        pgh_obj_model="refdata.Counterparty", pgh_label="insert", pgh_data__code="INITECH"
    )
    assert event.pgh_context["user"] == olivia.pk


def test_a_rejected_update_records_no_event(api, bob, acme):
    before = Events.objects.filter(pgh_obj_model="refdata.Counterparty").count()
    response = send(api.as_user(bob), "patch", "/api/v1/counterparties/ACME/", {"jurisdiction": "gb"})
    assert_error(response, 400, "invalid", "jurisdiction")
    assert not _events(acme, "update").exists()
    assert Events.objects.filter(pgh_obj_model="refdata.Counterparty").count() == before


def test_a_refused_update_by_a_wrong_role_records_no_event(api, rita, acme):
    before = Events.objects.filter(pgh_obj_model="refdata.Counterparty").count()
    assert_error(
        send(api.as_user(rita), "patch", "/api/v1/counterparties/ACME/", {"kind": "lender"}),
        403,
        "permission_denied",
    )
    assert Events.objects.filter(pgh_obj_model="refdata.Counterparty").count() == before


def test_a_patch_that_changes_nothing_records_no_event(api, bob, acme):
    response = send(api.as_user(bob), "patch", "/api/v1/counterparties/ACME/", {"kind": acme.kind})
    assert response.status_code == 200
    assert not _events(acme, "update").exists()
