"""Travel rule writes: build a leg's (or transfer's) IVMS101 message from the data on file, validate
and store it; the check that blocks a leg without a valid one; send, acknowledge, reject; the
travel-rule data on file for a counterparty.

Treasury calls down with the facts of its leg (``TravelRuleLeg``): compliance never reads treasury's
tables. ``prepare_message`` is called before the leg's settlement (its own transaction: the draft and
its case stay even when the settlement is then refused, so compliance sees what to fix), and
``check_leg_may_settle`` inside the settlement's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from borrowdesk.access.policy import require
from borrowdesk.audit import acting_as_if
from borrowdesk.errors import InvalidInput, InvalidState
from borrowdesk.refdata.models import Asset, Counterparty, CounterpartyKind, CustodyAccount, VenueKind
from borrowdesk.refdata.selectors import mark
from compliance.errors import TravelRuleRequired
from compliance.travel_rule import ivms101
from compliance.travel_rule.countries import EU_MEMBER_STATES, is_country
from compliance.travel_rule.models import (
    TravelRuleDirection,
    TravelRuleMessage,
    TravelRuleParty,
    TravelRuleStatus,
    TravelRuleSubject,
)
from compliance.travel_rule.transport import transport

# pg_advisory_xact_lock's first key for "building the message of one leg" (the second: its hash).
_BUILD_LOCK = 41_0001
CENT = Decimal("0.01")


@dataclass(frozen=True)
class TravelRuleLeg:
    """The facts of one settlement leg or transfer that its travel-rule message needs."""

    subject_kind: str  # TravelRuleSubject
    subject_id: int
    direction: str  # TravelRuleDirection: outgoing when the firm sends
    counterparty: Counterparty
    asset: Asset
    amount: Decimal
    firm_account: CustodyAccount | None = None
    counterparty_account: CustodyAccount | None = None
    counterparty_address: str = ""  # a wallet outside the desk's accounts, when known


# --- threshold ------------------------------------------------------------------------------------


def threshold_for(counterparty: Counterparty) -> Decimal | None:
    """The travel-rule threshold (USD) of the counterparty's jurisdiction: an override from
    ``TRAVEL_RULE_THRESHOLDS_USD``, else the EU's for EU members, else the default. None for one of
    the firm's own desks: a move inside one legal person is no transfer between VASPs."""
    if counterparty.kind == CounterpartyKind.INTERNAL_DESK:
        return None
    overrides = settings.TRAVEL_RULE_THRESHOLDS_USD
    if counterparty.jurisdiction in overrides:
        return Decimal(str(overrides[counterparty.jurisdiction]))
    if counterparty.jurisdiction in EU_MEMBER_STATES:
        return Decimal(settings.TRAVEL_RULE_EU_THRESHOLD_USD)
    return Decimal(settings.TRAVEL_RULE_THRESHOLD_USD)


def amount_usd(asset: Asset, amount: Decimal) -> Decimal | None:
    """The amount at the asset's mark, or None when the asset has no mark (then the rule applies:
    a leg whose value is unknown is not shown to be below the threshold)."""
    price = mark(asset)
    if price is None:
        return None
    return (amount * price.price_usd).quantize(Decimal("0.00000001"))


def is_required(value_usd: Decimal | None, threshold: Decimal | None) -> bool:
    if threshold is None:
        return False
    return value_usd is None or value_usd >= threshold


# --- building -------------------------------------------------------------------------------------


def firm_party() -> ivms101.Party:
    vasp = settings.TRAVEL_RULE_VASP
    return ivms101.Party(
        legal_name=vasp["legal_name"],
        country=vasp.get("country", ""),
        lei=vasp.get("lei", ""),
        street=vasp.get("street", ""),
        building_number=vasp.get("building_number", ""),
        post_code=vasp.get("post_code", ""),
        town=vasp.get("town", ""),
        address_country=vasp.get("country", "") if vasp.get("town") or vasp.get("street") else "",
    )


def counterparty_party(counterparty: Counterparty) -> ivms101.Party:
    """The counterparty as a legal person: reference data's legal name and jurisdiction, its code as
    our customer number, and compliance's travel-rule data on file (address, LEI or register)."""
    on_file = TravelRuleParty.objects.filter(counterparty=counterparty).first()
    extra: dict[str, Any] = {}
    if on_file is not None:
        extra = {
            "lei": on_file.lei,
            "registration_id": on_file.registration_id,
            "registration_authority": on_file.registration_authority,
            "street": on_file.street,
            "building_number": on_file.building_number,
            "post_code": on_file.post_code,
            "town": on_file.town,
            "address_country": on_file.country,
        }
    return ivms101.Party(
        legal_name=counterparty.legal_name,
        country=counterparty.jurisdiction,
        customer_number=counterparty.code,
        **extra,
    )


def counterparty_vasp(leg: TravelRuleLeg) -> ivms101.Party | None:
    """The VASP on the counterparty's side: the venue holding its account (a custodian, an exchange,
    a prime broker), the counterparty itself when it is a venue, or none (an unhosted wallet)."""
    account = leg.counterparty_account
    if account is not None and account.venue.kind != VenueKind.ONCHAIN:
        return ivms101.Party(legal_name=account.venue.name)
    if leg.counterparty.kind == CounterpartyKind.VENUE:
        return ivms101.Party(legal_name=leg.counterparty.legal_name, country=leg.counterparty.jurisdiction)
    return None


def _account_number(account: CustodyAccount | None, fallback: str = "") -> str:
    if account is None:
        return fallback
    return account.address or account.code


def build(leg: TravelRuleLeg) -> dict[str, Any]:
    """The message's fields (payload and its verdict included) for ``leg`` from the data on file."""
    firm, counterparty = firm_party(), counterparty_party(leg.counterparty)
    their_vasp = counterparty_vasp(leg)
    firm_accounts = [a for a in [_account_number(leg.firm_account)] if a]
    their_accounts = [a for a in [_account_number(leg.counterparty_account, leg.counterparty_address)] if a]
    outgoing = leg.direction == TravelRuleDirection.OUTGOING
    originating_vasp: ivms101.Party | None
    beneficiary_vasp: ivms101.Party | None
    if outgoing:
        originator, originator_accounts, originating_vasp = firm, firm_accounts, firm
        beneficiary, beneficiary_accounts, beneficiary_vasp = counterparty, their_accounts, their_vasp
    else:
        originator, originator_accounts, originating_vasp = counterparty, their_accounts, their_vasp
        beneficiary, beneficiary_accounts, beneficiary_vasp = firm, firm_accounts, firm
    payload = ivms101.identity_payload(
        originator=originator,
        originator_accounts=originator_accounts,
        beneficiary=beneficiary,
        beneficiary_accounts=beneficiary_accounts,
        originating_vasp=originating_vasp or firm,
        beneficiary_vasp=beneficiary_vasp,
    )
    if originating_vasp is None:
        # An unhosted sender: no originating VASP to name (the firm receives as beneficiary VASP).
        del payload["originatingVASP"]
    verdict = ivms101.validate(
        payload,
        unhosted=None if their_vasp is not None else ("beneficiary" if outgoing else "originator"),
    )
    value = amount_usd(leg.asset, leg.amount)
    return {
        "subject_kind": leg.subject_kind,
        "subject_id": leg.subject_id,
        "direction": leg.direction,
        "counterparty": leg.counterparty,
        "asset": leg.asset,
        "amount": leg.amount,
        "amount_usd": value,
        "threshold_usd": threshold_for(leg.counterparty),  # None: an internal desk
        "jurisdiction": leg.counterparty.jurisdiction,
        "originator_name": originator.legal_name[:200],
        "originator_account": (originator_accounts or [""])[0][:128],
        "beneficiary_name": beneficiary.legal_name[:200],
        "beneficiary_account": (beneficiary_accounts or [""])[0][:128],
        "originating_vasp_name": originating_vasp.legal_name[:200] if originating_vasp else "",
        "beneficiary_vasp_name": beneficiary_vasp.legal_name[:200] if beneficiary_vasp else "",
        "payload": payload,
        "spelling": verdict.spelling,
        "is_valid": verdict.is_valid,
        "validation_errors": verdict.as_list(),
        "validation_warnings": [w.as_dict() for w in verdict.warnings],
    }


def current_message(subject_kind: str, subject_id: int) -> TravelRuleMessage | None:
    return TravelRuleMessage.objects.filter(
        subject_kind=subject_kind, subject_id=subject_id, is_current=True
    ).first()


def _lock_subject(subject_kind: str, subject_id: int) -> None:
    # Two builders of one leg's message (two officers, a settle racing a rebuild) queue here: the
    # second sees the first's message instead of both inserting one (the partial unique index would
    # refuse the second insert, as a 500 instead of an answer).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [_BUILD_LOCK, f"{subject_kind}:{subject_id}"]
        )


def _store(leg: TravelRuleLeg, *, actor, previous: TravelRuleMessage | None) -> TravelRuleMessage:
    fields = build(leg)
    required = is_required(fields["amount_usd"], fields["threshold_usd"])
    if previous is not None:
        previous.is_current = False
        previous.save(update_fields=["is_current"])
    message = TravelRuleMessage.objects.create(
        **fields,
        status=TravelRuleStatus.DRAFT if required else TravelRuleStatus.NOT_REQUIRED,
        created_by=actor,
    )
    if required and not message.is_valid:
        _open_case(message)
    return message


def _open_case(message: TravelRuleMessage) -> None:
    """A required message that fails validation is case work: open or join the counterparty's travel
    rule case, with the message as its evidence (idempotent per message)."""
    from compliance.cases.services import open_or_join_case

    first = message.validation_errors[0] if message.validation_errors else {}
    open_or_join_case(
        kind="travel_rule",
        counterparty=message.counterparty,
        subject=f"Travel-rule message {message.pk} for {message.get_subject_kind_display().lower()} "
        f"{message.subject_id} fails IVMS101 validation",
        evidence_type="travel_rule_message",
        evidence_id=message.pk,
        detail=f"{len(message.validation_errors)} problem(s); first: {first.get('path', '')}: "
        f"{first.get('message', '')}",
    )


@transaction.atomic
def prepare_message(*, leg: TravelRuleLeg, actor=None) -> TravelRuleMessage:
    """The leg's current message, built from the data on file when it has none (or only a rejected
    one, or a ``not_required`` one the threshold now catches). Idempotent: a leg with a message keeps
    it. Below the threshold the message is stored as ``not_required`` (the decision shows); at or above
    it as a ``draft``, valid or with its errors, and an invalid one opens or joins a travel-rule case."""
    with acting_as_if(actor):
        _lock_subject(leg.subject_kind, leg.subject_id)
        current = current_message(leg.subject_kind, leg.subject_id)
        if current is not None:
            stale = current.status == TravelRuleStatus.REJECTED or (
                current.status == TravelRuleStatus.NOT_REQUIRED
                and is_required(amount_usd(leg.asset, leg.amount), threshold_for(leg.counterparty))
            )
            if not stale:
                return current
        return _store(leg, actor=actor, previous=current)


def check_leg_may_settle(*, leg: TravelRuleLeg) -> TravelRuleMessage | None:
    """Refuse a leg at or above its threshold without a valid current message: raises
    ``TravelRuleRequired`` (409 ``travel_rule_required``). Called inside the settlement's transaction,
    after its lock; reads only. Returns the message that lets it settle (None: below the threshold)."""
    with connection.cursor() as cursor:
        # Shares the builders' lock: a rebuild in flight finishes before the settlement reads.
        cursor.execute(
            "SELECT pg_advisory_xact_lock_shared(%s, hashtext(%s))",
            [_BUILD_LOCK, f"{leg.subject_kind}:{leg.subject_id}"],
        )
    message = current_message(leg.subject_kind, leg.subject_id)
    value, threshold = amount_usd(leg.asset, leg.amount), threshold_for(leg.counterparty)
    if not is_required(value, threshold):
        return None
    what = f"{TravelRuleSubject(leg.subject_kind).label} {leg.subject_id}"
    worth = f"worth {value:,.2f} USD" if value is not None else "with no mark to value it"
    if message is None or message.status == TravelRuleStatus.NOT_REQUIRED:
        raise TravelRuleRequired(
            f"{what} ({worth}, threshold {threshold:,.2f} USD for {leg.counterparty.jurisdiction}) "
            "needs a valid travel-rule message: none is on file."
        )
    if not message.lets_settle:
        why = (
            "was rejected by the other VASP"
            if message.status == TravelRuleStatus.REJECTED
            else f"fails IVMS101 validation ({len(message.validation_errors)} problem(s))"
        )
        raise TravelRuleRequired(
            f"{what} ({worth}) needs a valid travel-rule message: message {message.pk} {why}."
        )
    return message


# --- compliance's actions on a message ---------------------------------------------------------------


def _locked(message: TravelRuleMessage) -> TravelRuleMessage:
    # Send, acknowledge, reject and rebuild of one message serialize on its row.
    return TravelRuleMessage.objects.select_for_update().get(pk=message.pk)


@transaction.atomic(durable=True)
def rebuild_message(*, actor, message: TravelRuleMessage) -> TravelRuleMessage:
    """Build the message again from the data on file (after compliance fixed it), replacing a draft or
    a rejected one; a sent or acknowledged message stands. Raises ``InvalidState``."""
    require(actor, "compliance.travel_rule.work", "Only compliance rebuilds travel-rule messages.")
    with acting_as_if(actor):
        _lock_subject(message.subject_kind, message.subject_id)
        message = _locked(message)
        if not message.is_current:
            raise InvalidState(f"Message {message.pk} has been replaced: rebuild the current one.")
        if message.status in (TravelRuleStatus.SENT, TravelRuleStatus.ACKNOWLEDGED):
            raise InvalidState(f"Message {message.pk} is {message.status}: it is no longer rebuilt.")
        leg = TravelRuleLeg(
            subject_kind=message.subject_kind,
            subject_id=message.subject_id,
            direction=message.direction,
            counterparty=message.counterparty,
            asset=message.asset,
            amount=message.amount,
            **_accounts_of(message),
        )
        return _store(leg, actor=actor, previous=message)


def _accounts_of(message: TravelRuleMessage) -> dict[str, Any]:
    """The accounts a stored message named, found again by address or code (for a rebuild)."""
    outgoing = message.direction == TravelRuleDirection.OUTGOING
    firm_number = message.originator_account if outgoing else message.beneficiary_account
    their_number = message.beneficiary_account if outgoing else message.originator_account

    def find(number: str) -> CustodyAccount | None:
        if not number:
            return None
        return (
            CustodyAccount.objects.select_related("venue").filter(address=number).order_by("id").first()
            or CustodyAccount.objects.select_related("venue").filter(code=number).first()
        )

    theirs = find(their_number)
    return {
        "firm_account": find(firm_number),
        "counterparty_account": theirs,
        "counterparty_address": their_number if theirs is None else "",
    }


@transaction.atomic(durable=True)
def send_message(*, actor, message: TravelRuleMessage) -> TravelRuleMessage:
    """Hand a valid draft to the counterparty's VASP through the configured transport and mark it
    sent. Raises ``InvalidState`` (not a draft, not valid, not current)."""
    require(actor, "compliance.travel_rule.work", "Only compliance sends travel-rule messages.")
    with acting_as_if(actor):
        message = _locked(message)
        if message.status != TravelRuleStatus.DRAFT or not message.is_current:
            raise InvalidState(
                f"Message {message.pk} is {message.get_status_display().lower()}: only a draft is sent."
            )
        if not message.is_valid:
            raise InvalidState(
                f"Message {message.pk} fails IVMS101 validation: fix the data on file and rebuild it first."
            )
        delivery = transport().send(message)
        message.status = TravelRuleStatus.SENT
        message.transport, message.transport_reference = delivery.transport, delivery.reference[:200]
        message.sent_at, message.sent_by = timezone.now(), actor
        message.save(update_fields=["status", "transport", "transport_reference", "sent_at", "sent_by"])
        return message


@transaction.atomic(durable=True)
def record_response(
    *, actor, message: TravelRuleMessage, accepted: bool, reason: str = ""
) -> TravelRuleMessage:
    """The other VASP's answer: acknowledged (a sent message), or rejected with its reason (a sent
    message, or a draft compliance withdraws). A rejected message no longer lets its leg settle: a new
    one is built. Raises ``InvalidInput`` (a rejection without a reason) and ``InvalidState``."""
    require(actor, "compliance.travel_rule.work", "Only compliance records a VASP's answer.")
    reason = (reason or "").strip()
    if not accepted and not reason:
        raise InvalidInput("A rejection needs its reason.", fields={"reason": ["Required."]})
    if len(reason) > 2000:
        raise InvalidInput("Reason too long.", fields={"reason": ["At most 2,000 characters."]})
    with acting_as_if(actor):
        message = _locked(message)
        allowed = (TravelRuleStatus.SENT,) if accepted else (TravelRuleStatus.SENT, TravelRuleStatus.DRAFT)
        if message.status not in allowed or not message.is_current:
            verb = "acknowledged" if accepted else "rejected"
            raise InvalidState(
                f"Message {message.pk} is {message.get_status_display().lower()}: it cannot be {verb}."
            )
        message.status = TravelRuleStatus.ACKNOWLEDGED if accepted else TravelRuleStatus.REJECTED
        message.responded_at, message.responded_by, message.response_reason = timezone.now(), actor, reason
        message.save(update_fields=["status", "responded_at", "responded_by", "response_reason"])
        return message


# --- data on file ---------------------------------------------------------------------------------

_PARTY_FIELDS = {
    "lei": 20,
    "registration_id": 35,
    "registration_authority": 8,
    "street": 70,
    "building_number": 16,
    "post_code": 16,
    "town": 35,
    "country": 2,
}


@transaction.atomic(durable=True)
def set_party_data(*, actor, counterparty: Counterparty, **values: str) -> TravelRuleParty:
    """Record the counterparty's travel-rule data (address, LEI, register). Raises ``InvalidInput``
    (unknown field, too long, a country that is not ISO 3166, an LEI with wrong check digits)."""
    require(actor, "compliance.travel_rule.work", "Only compliance keeps travel-rule data.")
    errors: dict[str, list[str]] = {}
    clean: dict[str, str] = {}
    for key, value in values.items():
        if key not in _PARTY_FIELDS:
            errors[key] = ["Unknown field."]
            continue
        text = (value or "").strip()
        if len(text) > _PARTY_FIELDS[key]:
            errors[key] = [f"At most {_PARTY_FIELDS[key]} characters."]
        clean[key] = text
    if clean.get("country") and not is_country(clean["country"]):
        errors["country"] = ["Not an ISO 3166-1 alpha-2 country code."]
    if clean.get("lei") and not ivms101.valid_lei(clean["lei"]):
        errors["lei"] = ["Not a valid LEI (20 characters with ISO 17442 check digits)."]
    if errors:
        raise InvalidInput("Travel-rule data not saved.", fields=errors)
    with acting_as_if(actor):
        party, _ = TravelRuleParty.objects.select_for_update().get_or_create(counterparty=counterparty)
        for key, text in clean.items():
            setattr(party, key, text)
        party.updated_by = actor
        party.save()
        return party
