"""seed_demo's travel-rule messages (one of each status) and regulator requests (one overdue, one
drill, one answered). Idempotent: skipped once any regulator request exists."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from borrowdesk.refdata.models import Asset, Counterparty, CustodyAccount
from compliance.regulator import services as regulator
from compliance.regulator.models import RegulatorRequest
from compliance.travel_rule import services as travel_rule
from treasury.models import SettlementInstruction, SettlementStatus
from treasury.services import expect_collateral, travel_rule_leg


def _facts(leg: SettlementInstruction) -> travel_rule.TravelRuleLeg:
    facts = travel_rule_leg(leg)
    assert facts is not None  # every seeded leg names its counterparty
    return facts


def _message(leg: SettlementInstruction):
    return travel_rule.prepare_message(leg=_facts(leg))


def seed_travel_rule_and_regulator_requests(users: dict) -> bool:
    if RegulatorRequest.objects.exists():
        return False
    officer = users["compliance"]
    legs = {
        leg.pk: leg for leg in SettlementInstruction.objects.select_related("loan__counterparty", "asset")
    }
    settled = [leg for leg in legs.values() if leg.status == SettlementStatus.SETTLED]
    pending = [
        leg for leg in legs.values() if leg.status in (SettlementStatus.PENDING, SettlementStatus.FAILED)
    ]
    by_cp = {_facts(leg).counterparty.code: leg for leg in sorted(settled, key=lambda x: x.pk)}
    # Sent, then acknowledged by the other VASP: the usual life of a message.
    sent = travel_rule.send_message(actor=officer, message=_message(by_cp["ACME"]))
    acked = travel_rule.send_message(actor=officer, message=_message(by_cp["BLUEFIN"]))
    travel_rule.record_response(actor=officer, message=acked, accepted=True)
    del sent
    # A pending leg whose message the beneficiary's VASP rejected: it waits for a new message.
    if pending:
        rejected = travel_rule.send_message(actor=officer, message=_message(pending[0]))
        travel_rule.record_response(
            actor=officer,
            message=rejected,
            accepted=False,
            reason="The beneficiary VASP could not match the account to the customer named.",
        )
    # A draft that fails validation: FJORD's address on file has no town (a travel-rule case opens).
    fjord = Counterparty.objects.get(code="FJORD")
    travel_rule.set_party_data(
        actor=officer, counterparty=fjord, street="Dronning Mauds gate", building_number="3", country="NO"
    )
    if "FJORD" in by_cp:
        travel_rule.rebuild_message(actor=officer, message=_message(by_cp["FJORD"]))
    # Complete data on file for GLOBEX (address and register): its message stays a valid draft.
    travel_rule.set_party_data(
        actor=officer,
        counterparty=Counterparty.objects.get(code="GLOBEX"),
        street="Bishopsgate",
        building_number="22",
        post_code="EC2N 4BQ",
        town="London",
        country="GB",
        registration_id="OC412345",
        registration_authority="RA000585",
    )
    if "GLOBEX" in by_cp:
        travel_rule.rebuild_message(actor=officer, message=_message(by_cp["GLOBEX"]))
    for leg in settled:
        _message(leg)  # the other settled legs keep their valid drafts
    # Below the threshold: a small collateral receipt ACME is to send (about 500 USD of BTC).
    account = CustodyAccount.objects.filter(code="COL-ACME-BTC").first()
    if account is not None and account.owner is not None:
        small = expect_collateral(
            actor=users["ops"],
            counterparty=account.owner,
            asset=Asset.objects.get(symbol="BTC"),
            to_account=account,
            quantity=Decimal("0.005"),
            reference="top-up, travel-rule demo",
        )
        _message(small)

    now = timezone.now()
    overdue = regulator.log_request(
        actor=officer,
        regulator="FCA",
        reference="FCA/SUP/2026/0412",
        subject="Travel-rule data for transfers over 1,000 USD in October",
        details="List every transfer at or above the threshold with its IVMS101 message and status.",
        received_at=now - timedelta(days=16),
        due_at=now - timedelta(days=2),
        owner=officer,
    )
    regulator.attach_evidence(
        actor=officer,
        request=overdue,
        name="draft-response.txt",
        content=b"Draft: 14 transfers, 14 messages.\n",
    )
    regulator.log_request(
        actor=officer,
        regulator="FCA (drill)",
        subject="Rehearsal: sanctions screening evidence for a named counterparty",
        received_at=now - timedelta(days=1),
        due_at=now + timedelta(days=4),
        owner=officer,
        is_drill=True,
    )
    answered = regulator.log_request(
        actor=officer,
        regulator="CySEC",
        reference="CY-2026-88",
        subject="KYC file of one client",
        received_at=now - timedelta(days=30),
        due_at=now - timedelta(days=20),
        owner=officer,
    )
    regulator.respond_to_request(
        actor=officer, request=answered, response_text="KYC file sent by secure portal."
    )
    regulator.close_request(actor=officer, request=answered)
    return True
