"""The travel rule: each settlement leg gets its IVMS101 message from the data on file; a leg at or
above its counterparty's threshold without a valid one cannot settle (409 travel_rule_required);
below it the message is recorded as not required. Compliance rebuilds, sends and records answers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from compliance.travel_rule.models import TravelRuleMessage, TravelRuleParty
from tests.treasury import test_settlements
from tests.treasury.test_settlements import _written
from treasury.models import SettlementInstruction

# The settlement queue's fixtures: a 2 BTC loan delivery to ACME (GB) at 50,000 USD a coin.
btc = test_settlements.btc
stocked = test_settlements.stocked
submit = test_settlements.submit
leg = test_settlements.leg

SETTLE = "/api/v1/settlements/{}/settle/"
TR = "/api/v1/compliance/travel-rule/"
CP = "townName"


def _settle(api, user, leg):
    return api.as_user(user).post(SETTLE.format(leg.pk))


def _messages(leg):
    return list(TravelRuleMessage.objects.filter(subject_kind="settlement", subject_id=leg.pk).order_by("id"))


def _no_town(acme):
    """ACME's address on file lacks its town: every message naming ACME fails validation."""
    TravelRuleParty.objects.create(counterparty=acme, street="Main Street", building_number="1", country="GB")


def test_a_leg_over_the_threshold_settles_with_its_valid_message(api, tess, leg):
    response = _settle(api, tess, leg)
    assert response.status_code == 200, response.json()
    [message] = _messages(leg)
    assert (message.status, message.is_valid, message.direction) == ("draft", True, "outgoing")
    assert (message.amount_usd, message.threshold_usd) == (Decimal("100000"), Decimal("1000"))
    assert message.counterparty.code == "ACME" and message.beneficiary_name == "Acme Trading Ltd"
    beneficiary = message.payload["beneficiary"]["beneficiaryPersons"][0]["legalPerson"]
    assert beneficiary["customerNumber"] == "ACME" and beneficiary["countryOfRegistration"] == "GB"


def test_a_leg_over_the_threshold_without_a_valid_message_cannot_settle(api, tess, carl, leg, acme):
    from compliance.cases.models import Case

    _no_town(acme)
    before = _written()
    response = _settle(api, tess, leg)
    assert (response.status_code, response.json()["code"]) == (409, "travel_rule_required")
    assert "fails IVMS101 validation" in response.json()["detail"]
    assert _written() == before  # the leg, the ledger and the book as they were
    # Compliance has the draft saying what is missing, and a travel-rule case with it as evidence.
    [message] = _messages(leg)
    assert (message.status, message.is_valid) == ("draft", False)
    assert [e["path"] for e in message.validation_errors] == [
        "beneficiary.beneficiaryPersons[0].legalPerson.geographicAddress[0].townName"
    ]
    case = Case.objects.get(kind="travel_rule", counterparty=acme)
    assert case.events.filter(evidence_type="travel_rule_message", evidence_id=message.pk).exists()
    # A second attempt refuses the same way and builds nothing new.
    assert _settle(api, tess, leg).status_code == 409
    assert len(_messages(leg)) == 1

    # Compliance fixes the data on file and rebuilds: the new message is valid, the leg settles.
    fixed = api.as_user(carl).post(
        "/api/v1/compliance/travel-rule-parties/", {"counterparty": "ACME", "town": "London"}, format="json"
    )
    assert fixed.status_code == 200, fixed.json()
    rebuilt = api.as_user(carl).post(f"{TR}{message.pk}/rebuild/")
    assert rebuilt.status_code == 201, rebuilt.json()
    assert (rebuilt.json()["is_valid"], rebuilt.json()["lets_settle"], rebuilt.json()["leg"]) == (
        True,
        True,
        leg.pk,
    )
    assert _settle(api, tess, leg).json()["status"] == "settled"
    old, new = _messages(leg)
    assert (old.is_current, new.is_current) == (False, True)


def test_below_the_threshold_the_message_is_not_required(api, tess, submit, bob, stocked):
    from requests_app.services import approve_request

    small = approve_request(actor=bob, request=submit(quantity=Decimal("0.01")), rate_bps=Decimal("400"))
    leg = SettlementInstruction.objects.get(loan=small.loan)
    _no_town(leg.loan.counterparty)  # not required: its data is not what decides
    assert _settle(api, tess, leg).json()["status"] == "settled"
    [message] = _messages(leg)
    assert (message.status, message.amount_usd, message.lets_settle) == ("not_required", Decimal("500"), True)


def test_an_eu_counterparty_needs_a_valid_message_from_the_first_unit(api, tess, submit, bob, stocked, acme):
    from requests_app.services import approve_request

    acme.jurisdiction = "DE"
    acme.save(update_fields=["jurisdiction"])
    small = approve_request(actor=bob, request=submit(quantity=Decimal("0.01")), rate_bps=Decimal("400"))
    leg = SettlementInstruction.objects.get(loan=small.loan)
    _no_town(acme)
    response = _settle(api, tess, leg)
    assert (response.status_code, response.json()["code"]) == (409, "travel_rule_required")
    [message] = _messages(leg)
    assert (message.threshold_usd, message.amount_usd, message.status) == (
        Decimal("0"),
        Decimal("500"),
        "draft",
    )


def test_a_threshold_per_jurisdiction_comes_from_the_settings(settings, api, tess, leg, acme):
    settings.TRAVEL_RULE_THRESHOLDS_USD = {"GB": "250000"}
    _no_town(acme)
    assert _settle(api, tess, leg).json()["status"] == "settled"
    assert _messages(leg)[0].status == "not_required"


def test_an_asset_without_a_mark_needs_a_message(api, tess, leg, acme, btc):
    from borrowdesk.refdata.models import Price

    Price.objects.filter(asset=btc).delete()
    _no_town(acme)
    response = _settle(api, tess, leg)
    assert (response.status_code, response.json()["code"]) == (409, "travel_rule_required")
    assert "no mark" in response.json()["detail"]


def test_a_rejected_message_blocks_its_leg_until_a_new_one_is_built(api, tess, carl, leg):
    from compliance.travel_rule.services import prepare_message
    from treasury.services import travel_rule_leg

    message = prepare_message(leg=travel_rule_leg(leg))
    sent = api.as_user(carl).post(f"{TR}{message.pk}/send/")
    assert (sent.json()["status"], sent.json()["transport"]) == ("sent", "manual_export")
    rejected = api.as_user(carl).post(f"{TR}{message.pk}/reject/", {"reason": "name mismatch"}, format="json")
    assert (rejected.json()["status"], rejected.json()["response_reason"]) == ("rejected", "name mismatch")
    # The settle attempt builds a new draft (the rejected one stays on file) and that one is valid.
    assert _settle(api, tess, leg).json()["status"] == "settled"
    assert [m.status for m in _messages(leg)] == ["rejected", "draft"]


def test_acknowledged_after_sent_and_only_then(api, carl, leg):
    from compliance.travel_rule.services import prepare_message
    from treasury.services import travel_rule_leg

    message = prepare_message(leg=travel_rule_leg(leg))
    early = api.as_user(carl).post(f"{TR}{message.pk}/acknowledge/")
    assert (early.status_code, early.json()["code"]) == (409, "invalid_state")
    api.as_user(carl).post(f"{TR}{message.pk}/send/")
    again = api.as_user(carl).post(f"{TR}{message.pk}/send/")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_state")
    assert api.as_user(carl).post(f"{TR}{message.pk}/acknowledge/").json()["status"] == "acknowledged"
    rebuild = api.as_user(carl).post(f"{TR}{message.pk}/rebuild/")
    assert (rebuild.status_code, rebuild.json()["code"]) == (409, "invalid_state")


def test_an_invalid_message_is_not_sent_and_a_rejection_needs_its_reason(api, carl, leg, acme):
    from compliance.travel_rule.services import prepare_message
    from treasury.services import travel_rule_leg

    _no_town(acme)
    message = prepare_message(leg=travel_rule_leg(leg))
    response = api.as_user(carl).post(f"{TR}{message.pk}/send/")
    assert (response.status_code, response.json()["code"]) == (409, "invalid_state")
    response = api.as_user(carl).post(f"{TR}{message.pk}/reject/", {"reason": ""}, format="json")
    assert response.status_code == 400 and "reason" in response.json()["fields"]
    message.refresh_from_db()
    assert (message.status, message.sent_at) == ("draft", None)


def test_bad_travel_rule_data_is_refused_field_by_field(api, carl, acme):
    body = {"counterparty": "ACME", "country": "UK", "lei": "506700T7Z685VUOZL878", "town": "x" * 36}
    response = api.as_user(carl).post("/api/v1/compliance/travel-rule-parties/", body, format="json")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"town"}  # shape first (serializer)
    body["town"] = "London"
    response = api.as_user(carl).post("/api/v1/compliance/travel-rule-parties/", body, format="json")
    assert (response.status_code, set(response.json()["fields"])) == (400, {"country", "lei"})
    unknown = api.as_user(carl).post(
        "/api/v1/compliance/travel-rule-parties/", {"counterparty": "NOPE"}, format="json"
    )
    assert unknown.status_code == 400
    assert not TravelRuleParty.objects.exists()


def test_the_api_lists_a_legs_messages_and_exports_the_payload(api, tess, carl, leg):
    _settle(api, tess, leg)
    listed = api.as_user(carl).get(TR, {"leg": leg.pk})
    assert [m["leg"] for m in listed.json()["results"]] == [leg.pk]
    assert api.as_user(carl).get(TR, {"leg": leg.pk + 1000}).json()["count"] == 0
    assert api.as_user(carl).get(TR, {"transfer": leg.pk}).json()["count"] == 0
    assert api.as_user(carl).get(TR, {"status": "nonsense"}).status_code == 400
    message_id = listed.json()["results"][0]["id"]
    export = api.as_user(carl).get(f"{TR}{message_id}/export/")
    assert export.status_code == 200 and "attachment" in export["Content-Disposition"]
    import json

    assert (
        json.loads(export.content)["originatingVASP"]["originatingVASP"]["legalPerson"]["name"][
            "nameIdentifier"
        ][0]["legalPersonName"]
        == "BorrowDesk Markets Ltd"
    )
    assert api.as_user(carl).get(f"{TR}999999/").status_code == 404


def test_the_list_runs_a_fixed_number_of_queries(api, tess, carl, leg, submit, bob, stocked):
    from requests_app.services import approve_request

    _settle(api, tess, leg)
    client = api.as_user(carl)
    client.get(TR)  # warm the token and role caches

    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert client.get(TR).status_code == 200
        return len(ctx.captured_queries)

    first = count()
    more = approve_request(actor=bob, request=submit(quantity=Decimal("1")), rate_bps=Decimal("400"))
    _settle(api, tess, SettlementInstruction.objects.get(loan=more.loan))
    assert count() == first


@pytest.mark.parametrize(
    ("who", "reads", "works"),
    [
        ("carl", 200, True),
        ("tess", 200, False),
        ("bob", 200, False),
        ("audrey", 200, False),
        ("alice", 403, False),
        ("rita", 403, False),
    ],
)
def test_who_reads_and_who_works_travel_rule_messages(api, personas, leg, who, reads, works):
    from compliance.travel_rule.services import prepare_message
    from treasury.services import travel_rule_leg

    message = prepare_message(leg=travel_rule_leg(leg))
    client = api.as_user(personas[who])
    assert client.get(TR).status_code == reads
    response = client.post(f"{TR}{message.pk}/send/")
    assert response.status_code == (200 if works else 403)
    message.refresh_from_db()
    assert message.status == ("sent" if works else "draft")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_builders_of_one_leg_store_one_message(leg):
    from compliance.travel_rule.services import prepare_message
    from tests.races import race
    from treasury.services import travel_rule_leg

    facts = travel_rule_leg(leg)
    outcomes = race([lambda: prepare_message(leg=facts), lambda: prepare_message(leg=facts)])
    assert outcomes == ["ok", "ok"]
    assert len(_messages(leg)) == 1


def test_an_internal_desk_needs_no_message(api, tess, leg, acme):
    acme.kind = "internal_desk"
    acme.save(update_fields=["kind"])
    _no_town(acme)
    assert _settle(api, tess, leg).json()["status"] == "settled"
    [message] = _messages(leg)
    assert (message.status, message.threshold_usd) == ("not_required", None)


def test_the_pages_show_the_list_the_payload_and_its_errors(login, carl, tess, api, leg, acme):
    _no_town(acme)
    _settle(api, tess, leg)
    [message] = _messages(leg)
    client = login(carl)
    page = client.get("/compliance/travel-rule/?status=draft")
    assert page.status_code == 200 and f"/compliance/travel-rule/{message.pk}/" in page.content.decode()
    detail = client.get(f"/compliance/travel-rule/{message.pk}/").content.decode()
    assert "Fails IVMS101 validation" in detail and CP in detail and "$100,000.00" in detail
    assert client.get("/compliance/travel-rule/?status=nonsense").status_code == 400
    response = client.post(f"/compliance/travel-rule/{message.pk}/send/", follow=True)
    assert "fails IVMS101 validation" in response.content.decode()
    message.refresh_from_db()
    assert message.status == "draft"


class RefusingTransport:
    """A transport whose network is down: the message stays a draft."""

    name = "refusing"

    def send(self, message):
        from borrowdesk.errors import ConflictError

        raise ConflictError("The travel-rule network is unreachable.", code="transport_unavailable")


class RecordingTransport:
    name = "recording"
    sent: list = []

    def send(self, message):
        from compliance.travel_rule.transport import Delivery

        RecordingTransport.sent.append(message.payload)
        return Delivery(transport=self.name, reference=f"env-{message.pk}")


def test_the_transport_is_pluggable(settings, carl, leg):
    from borrowdesk.errors import ConflictError
    from compliance.travel_rule.services import prepare_message, send_message
    from treasury.services import travel_rule_leg

    message = prepare_message(leg=travel_rule_leg(leg))
    settings.TRAVEL_RULE_TRANSPORT = "tests.compliance.test_travel_rule.RefusingTransport"
    with pytest.raises(ConflictError):
        send_message(actor=carl, message=message)
    message.refresh_from_db()
    assert (message.status, message.transport) == ("draft", "")
    settings.TRAVEL_RULE_TRANSPORT = "tests.compliance.test_travel_rule.RecordingTransport"
    sent = send_message(actor=carl, message=message)
    assert (sent.status, sent.transport, sent.transport_reference) == (
        "sent",
        "recording",
        f"env-{message.pk}",
    )
    assert RecordingTransport.sent == [message.payload]
