"""Writes of reference data: assets, networks, venues, counterparties, custody accounts, prices.

Every function checks the action it performs against the access policy itself
(``borrowdesk/access/policy.py``: ``refdata.write``, ``refdata.price.*``), validates every field
before writing (the desk's rules first, then ``full_clean()``, which also evaluates the database's
CHECK and UNIQUE constraints), and writes inside ``acting_as(actor)`` so the audit trail names who
changed what.

Reference data is referenced by the ledger, so nothing here deletes: deactivate with
``is_active=False``. A code (or an asset's symbol) never changes once created, because trading systems
and scripts refer to it; create a new one and deactivate the old one instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar, Unpack

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, models, transaction
from django.dispatch import Signal
from django.utils import timezone

from borrowdesk.access.policy import allows, require
from borrowdesk.audit import acting_as
from borrowdesk.errors import InvalidInput, InvalidState, PermissionDeniedError, SegregationOfDuties
from borrowdesk.refdata.models import (
    AccountPurpose,
    Asset,
    Counterparty,
    CounterpartyKind,
    Custodian,
    CustodianMapping,
    CustodyAccount,
    MappingKind,
    Network,
    Price,
    PriceStatus,
    RiskRating,
    Venue,
    VenueKind,
)
from borrowdesk.refdata.selectors import account_carries
from borrowdesk.refdata.signals import counterparty_saved, custody_account_saved

if TYPE_CHECKING:
    from borrowdesk.access.models import User

M = TypeVar("M", bound=models.Model)

# The database's CHECK constraints (refdata/models.py), as whole-string matches. ``fullmatch`` rather
# than ``$``: Python's ``$`` also matches before a trailing newline, PostgreSQL's does not.
CODE_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9_.-]*")
NETWORK_CODE_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]*")
JURISDICTION_PATTERN = re.compile(r"[A-Z]{2}")
CODE_MESSAGE = "Use capital letters, digits, '_', '.' and '-', starting with a letter or digit (e.g. ACME)."
NETWORK_CODE_MESSAGE = (
    "Use lower-case letters, digits, '_' and '-', starting with a letter or digit (e.g. ethereum)."
)
JURISDICTION_MESSAGE = "Use the two-letter ISO 3166-1 country code in capitals (e.g. GB)."

MAX_DECIMALS = 18  # quantities are Decimal(38, 18): an asset cannot have more places than the ledger holds
# A mark stamped in the future would stay "the latest" until that moment passes; allow only clock skew.
PRICE_CLOCK_SKEW = timedelta(minutes=5)

# Constraints the database may still report when a concurrent write wins the race after our checks.
CONSTRAINT_FIELDS = {
    "account_unique_address": "address",
    "asset_decimals_0_18": "decimals",
    "refdata_asset_decimals_check": "decimals",
    "asset_symbol_upper": "symbol",
    "network_code": "code",
    "venue_code_upper": "code",
    "venue_kind_valid": "kind",
    "counterparty_code_upper": "code",
    "counterparty_kind_valid": "kind",
    "counterparty_risk_valid": "risk_rating",
    "counterparty_jurisdiction": "jurisdiction",
    "account_code_upper": "code",
    "account_purpose_valid": "purpose",
    "price_positive": "price_usd",
}

Errors = dict[str, list[str]]


class AssetChanges(TypedDict, total=False):
    name: str
    decimals: int
    is_stablecoin: bool
    is_active: bool


class NetworkChanges(TypedDict, total=False):
    name: str
    is_active: bool


class VenueChanges(TypedDict, total=False):
    name: str
    kind: str
    is_active: bool


class CounterpartyChanges(TypedDict, total=False):
    legal_name: str
    kind: str
    jurisdiction: str
    is_active: bool  # not risk_rating: compliance sets it with the KYC (set_risk_rating)


RISK_RATING_IS_COMPLIANCES = "Set by compliance with the counterparty's KYC."


class CustodyAccountChanges(TypedDict, total=False):
    venue: Venue
    network: Network | None
    address: str
    owner: Counterparty | None
    purpose: str
    is_active: bool


# --- helpers --------------------------------------------------------------------------------------


def _require(actor: User, action: str) -> None:
    """Refuse an actor the access policy does not allow ``action`` (inactive users are allowed nothing)."""
    require(actor, action, "Your role does not allow changing reference data.")


def _refuse(errors: Errors) -> InvalidInput:
    field, messages = next(iter(errors.items()))
    return InvalidInput(f"Invalid input: {field}: {messages[0]}", fields=errors)


def _check(errors: Errors, field: str, ok: bool, message: str) -> None:
    if not ok:
        errors.setdefault(field, []).append(message)


def _check_pattern(errors: Errors, field: str, value: object, pattern: re.Pattern[str], message: str) -> None:
    _check(errors, field, isinstance(value, str) and pattern.fullmatch(value) is not None, message)


def _check_decimals(errors: Errors, decimals: object) -> None:
    ok = isinstance(decimals, int) and not isinstance(decimals, bool) and 0 <= decimals <= MAX_DECIMALS
    _check(errors, "decimals", ok, f"A whole number from 0 to {MAX_DECIMALS}.")


def _check_active(errors: Errors, field: str, ref: Venue | Network | Counterparty | None) -> None:
    if ref is not None:
        _check(errors, field, ref.is_active, f"{ref} is inactive; a new reference must be active.")


def _validate(obj: models.Model, errors: Errors) -> None:
    """Add ``full_clean()``'s findings to the rule errors; raise ``InvalidInput`` naming every bad field.

    Fields already refused by a rule are excluded, so each problem is reported once, in our words.
    """
    try:
        obj.full_clean(exclude=list(errors))
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            name = "non_field_errors" if field == NON_FIELD_ERRORS else field
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise _refuse(errors)


def _save(obj: M, *, update_fields: list[str] | None = None) -> M:
    """Save, turning a constraint the database still refuses into ``InvalidInput``.

    full_clean() has checked every constraint, but a concurrent transaction can commit the same code
    between that check and our INSERT; the unique index then refuses the second writer, which must be
    a 400 like any duplicate, not a 500.
    """
    try:
        obj.save(update_fields=update_fields)
    except IntegrityError as exc:
        raise _refuse({_constraint_field(obj, exc): ["Conflicts with existing reference data."]}) from exc
    return obj


def _constraint_field(obj: models.Model, exc: IntegrityError) -> str:
    name = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None) or ""
    if name in CONSTRAINT_FIELDS:
        return CONSTRAINT_FIELDS[name]
    for field in obj._meta.concrete_fields:
        if field.unique and name == f"{obj._meta.db_table}_{field.column}_key":
            return field.name
    return "non_field_errors"


def _apply(obj: M, changes: Mapping[str, Any], allowed: type) -> list[str]:
    """Set the changed attributes on ``obj``; return the names of those that really changed."""
    unknown = set(changes) - set(allowed.__annotations__)
    if unknown:
        raise TypeError(f"{type(obj).__name__} cannot change {', '.join(sorted(unknown))}.")
    changed = [name for name, value in changes.items() if getattr(obj, name) != value]
    for name in changed:
        setattr(obj, name, changes[name])
    return changed


def _announce(signal: Signal, sender: type[models.Model], **facts: Any) -> None:
    """Tell the apps above after commit (compliance screens a counterparty or an address it was told
    of); a receiver's failure is logged, never undoes the change (signals.py)."""
    transaction.on_commit(lambda: signal.send(sender=sender, **facts), robust=True)


def _locked(model: type[M], obj: M, *related: str) -> M:
    # Lock the row we change, so two concurrent edits apply one after the other, each validated
    # against the row the other committed (and an object the caller already modified in memory,
    # as a Django admin form does, is compared with what is really stored).
    return model._default_manager.select_related(*related).select_for_update(of=("self",)).get(pk=obj.pk)


# --- assets ---------------------------------------------------------------------------------------


@transaction.atomic
def create_asset(
    *,
    actor: User,
    symbol: str,
    name: str,
    decimals: int,
    is_stablecoin: bool = False,
    is_active: bool = True,
    networks: list[Network] | None = None,
) -> Asset:
    """Add an asset, carried on ``networks``. Raises ``PermissionDeniedError``, or ``InvalidInput``
    naming every bad field (malformed or duplicate symbol, decimals outside 0..18, too-long name, an
    inactive network)."""
    _require(actor, "refdata.write")
    errors: Errors = {}
    _check_pattern(errors, "symbol", symbol, CODE_PATTERN, CODE_MESSAGE.replace("ACME", "BTC"))
    _check_decimals(errors, decimals)
    _check_networks(errors, networks or [], already=set())
    asset = Asset(
        symbol=symbol, name=name, decimals=decimals, is_stablecoin=is_stablecoin, is_active=is_active
    )
    _validate(asset, errors)
    with acting_as(actor):
        _save(asset)
        if networks:
            asset.networks.set(networks)
        return asset


@transaction.atomic
def update_asset(
    *, actor: User, asset: Asset, networks: list[Network] | None = None, **changes: Unpack[AssetChanges]
) -> Asset:
    """Change an asset's name, decimals, stablecoin flag, activity or networks (its symbol never
    changes); ``networks`` given replaces the set, None leaves it.

    Decimals may go up but not down: quantities already booked may carry more places than the
    lower figure allows. A network added must be active. Raises ``PermissionDeniedError`` or
    ``InvalidInput``.
    """
    _require(actor, "refdata.write")
    asset = _locked(Asset, asset)
    errors: Errors = {}
    if "decimals" in changes:
        _check_decimals(errors, changes["decimals"])
        if not errors:
            _check(
                errors,
                "decimals",
                changes["decimals"] >= asset.decimals,
                f"Cannot go below {asset.decimals}: quantities already booked may have that many places.",
            )
    current = set(asset.networks.values_list("pk", flat=True))
    if networks is not None:
        _check_networks(errors, networks, already=current)
    changed = _apply(asset, changes, AssetChanges)
    _validate(asset, errors)
    with acting_as(actor):
        if changed:
            _save(asset, update_fields=changed)
        if networks is not None and {n.pk for n in networks} != current:
            asset.networks.set(networks)
    return asset


def _check_networks(errors: Errors, networks: list[Network], *, already: set[int]) -> None:
    # A new reference must be live; a network the asset already had may stay after it is retired.
    for network in networks:
        if network.pk not in already and not network.is_active:
            errors.setdefault("networks", []).append(f"Network {network.code} is inactive.")


def check_account_carries(account: CustodyAccount, asset: Asset, *, field: str = "account") -> None:
    """Refuse to book or deliver ``asset`` in or to ``account`` when its network does not carry the
    asset (``selectors.account_carries``): raises ``InvalidInput`` naming ``field``, e.g.
    "BTC is not carried on the ethereum network." A venue account (no network) carries anything."""
    if not account_carries(account, asset):
        network = account.network.code if account.network else ""
        message = f"{asset.symbol} is not carried on the {network} network."
        raise InvalidInput(message, fields={field: [message]})


# --- networks -------------------------------------------------------------------------------------


@transaction.atomic
def create_network(*, actor: User, code: str, name: str, is_active: bool = True) -> Network:
    """Add a network (chain), coded in lower case (``ethereum``). Raises ``PermissionDeniedError``
    or ``InvalidInput`` (malformed or duplicate code, too-long name)."""
    _require(actor, "refdata.write")
    errors: Errors = {}
    _check_pattern(errors, "code", code, NETWORK_CODE_PATTERN, NETWORK_CODE_MESSAGE)
    network = Network(code=code, name=name, is_active=is_active)
    _validate(network, errors)
    with acting_as(actor):
        return _save(network)


@transaction.atomic
def update_network(*, actor: User, network: Network, **changes: Unpack[NetworkChanges]) -> Network:
    """Rename or (de)activate a network. Raises ``PermissionDeniedError`` or ``InvalidInput``."""
    _require(actor, "refdata.write")
    network = _locked(Network, network)
    changed = _apply(network, changes, NetworkChanges)
    _validate(network, {})
    if changed:
        with acting_as(actor):
            _save(network, update_fields=changed)
    return network


# --- venues ---------------------------------------------------------------------------------------


@transaction.atomic
def create_venue(*, actor: User, code: str, name: str, kind: str, is_active: bool = True) -> Venue:
    """Add a venue (exchange, custodian, prime broker, on-chain, bank). Raises
    ``PermissionDeniedError`` or ``InvalidInput`` (malformed or duplicate code, unknown kind)."""
    _require(actor, "refdata.write")
    errors: Errors = {}
    _check_pattern(errors, "code", code, CODE_PATTERN, CODE_MESSAGE)
    _check(errors, "kind", kind in VenueKind.values, f"One of {', '.join(VenueKind.values)}.")
    venue = Venue(code=code, name=name, kind=kind, is_active=is_active)
    _validate(venue, errors)
    with acting_as(actor):
        return _save(venue)


@transaction.atomic
def update_venue(*, actor: User, venue: Venue, **changes: Unpack[VenueChanges]) -> Venue:
    """Change a venue's name, kind or activity. Raises ``PermissionDeniedError`` or ``InvalidInput``."""
    _require(actor, "refdata.write")
    venue = _locked(Venue, venue)
    errors: Errors = {}
    if "kind" in changes:
        _check(errors, "kind", changes["kind"] in VenueKind.values, f"One of {', '.join(VenueKind.values)}.")
    changed = _apply(venue, changes, VenueChanges)
    _validate(venue, errors)
    if changed:
        with acting_as(actor):
            _save(venue, update_fields=changed)
    return venue


# --- counterparties -------------------------------------------------------------------------------


def _check_counterparty(errors: Errors, fields: Mapping[str, Any]) -> None:
    if "jurisdiction" in fields:
        _check_pattern(
            errors, "jurisdiction", fields["jurisdiction"], JURISDICTION_PATTERN, JURISDICTION_MESSAGE
        )
    if "kind" in fields:
        _check(
            errors,
            "kind",
            fields["kind"] in CounterpartyKind.values,
            f"One of {', '.join(CounterpartyKind.values)}.",
        )
    if "risk_rating" in fields:
        _check(
            errors,
            "risk_rating",
            fields["risk_rating"] in RiskRating.values,
            f"One of {', '.join(RiskRating.values)}.",
        )


@transaction.atomic
def create_counterparty(
    *,
    actor: User,
    code: str,
    legal_name: str,
    kind: str,
    jurisdiction: str,
    is_active: bool = True,
) -> Counterparty:
    """Add a counterparty (client, internal desk, lender, venue), rated ``medium`` until compliance
    rates it with its KYC (``set_risk_rating``). Raises ``PermissionDeniedError`` or ``InvalidInput``
    (malformed or duplicate code, bad jurisdiction, unknown kind)."""
    _require(actor, "refdata.write")
    errors: Errors = {}
    _check_pattern(errors, "code", code, CODE_PATTERN, CODE_MESSAGE)
    _check_counterparty(errors, {"jurisdiction": jurisdiction, "kind": kind})
    counterparty = Counterparty(
        code=code,
        legal_name=legal_name,
        kind=kind,
        jurisdiction=jurisdiction,
        risk_rating=RiskRating.MEDIUM,
        is_active=is_active,
    )
    _validate(counterparty, errors)
    with acting_as(actor):
        _save(counterparty)
    _announce(counterparty_saved, Counterparty, counterparty_id=counterparty.pk, created=True)
    return counterparty


@transaction.atomic
def update_counterparty(
    *, actor: User, counterparty: Counterparty, **changes: Unpack[CounterpartyChanges]
) -> Counterparty:
    """Change a counterparty's name, kind, jurisdiction or activity (its risk rating is compliance's:
    ``set_risk_rating``). Raises ``PermissionDeniedError`` or ``InvalidInput``."""
    _require(actor, "refdata.write")
    if "risk_rating" in changes:  # the approval path's input: not the approvers' to set
        raise _refuse({"risk_rating": [RISK_RATING_IS_COMPLIANCES]})
    counterparty = _locked(Counterparty, counterparty)
    errors: Errors = {}
    _check_counterparty(errors, changes)
    changed = _apply(counterparty, changes, CounterpartyChanges)
    _validate(counterparty, errors)
    if changed:
        with acting_as(actor):
            _save(counterparty, update_fields=changed)
        _announce(counterparty_saved, Counterparty, counterparty_id=counterparty.pk, created=False)
    return counterparty


# --- custody accounts -----------------------------------------------------------------------------


def _check_account(errors: Errors, account: CustodyAccount, new_refs: Mapping[str, Any]) -> None:
    # A new reference must be live; an account that already points at a since-deactivated venue
    # can still be edited (for instance, to deactivate it too).
    for field in ("venue", "network", "owner"):
        if field in new_refs:
            _check_active(errors, field, new_refs[field])
    if "purpose" in new_refs:
        _check(
            errors,
            "purpose",
            new_refs["purpose"] in AccountPurpose.values,
            f"One of {', '.join(AccountPurpose.values)}.",
        )
    # One wallet address per chain: two accounts cannot claim the same coins. Said here in words;
    # the partial unique index (account_unique_address) is the guarantee.
    if account.address and account.network_id is not None:
        taken = CustodyAccount.objects.filter(network_id=account.network_id, address=account.address)
        if account.pk is not None:
            taken = taken.exclude(pk=account.pk)
        _check(errors, "address", not taken.exists(), "Another account holds this address on this network.")


@transaction.atomic
def create_custody_account(
    *,
    actor: User,
    code: str,
    venue: Venue,
    purpose: str,
    network: Network | None = None,
    address: str = "",
    owner: Counterparty | None = None,
    is_active: bool = True,
) -> CustodyAccount:
    """Add a custody account (a venue account or a wallet), owned by the firm (``owner=None``) or a
    counterparty. Raises ``PermissionDeniedError`` or ``InvalidInput`` (malformed or duplicate code,
    an inactive venue, network or owner, an address already held on that network, unknown purpose)."""
    _require(actor, "refdata.write")
    errors: Errors = {}
    _check_pattern(errors, "code", code, CODE_PATTERN, CODE_MESSAGE)
    account = CustodyAccount(
        code=code,
        venue=venue,
        network=network,
        address=address,
        owner=owner,
        purpose=purpose,
        is_active=is_active,
    )
    _check_account(errors, account, {"venue": venue, "network": network, "owner": owner, "purpose": purpose})
    _validate(account, errors)
    with acting_as(actor):
        _save(account)
    _announce(custody_account_saved, CustodyAccount, account_id=account.pk, created=True)
    return account


@transaction.atomic
def update_custody_account(
    *, actor: User, account: CustodyAccount, **changes: Unpack[CustodyAccountChanges]
) -> CustodyAccount:
    """Change a custody account's venue, network, address, owner, purpose or activity.
    Raises ``PermissionDeniedError`` or ``InvalidInput`` (as ``create_custody_account``)."""
    _require(actor, "refdata.write")
    account = _locked(CustodyAccount, account, "venue", "network", "owner")
    changed = _apply(account, changes, CustodyAccountChanges)
    errors: Errors = {}
    _check_account(errors, account, {name: value for name, value in changes.items() if name in changed})
    _validate(account, errors)
    if changed:
        with acting_as(actor):
            _save(account, update_fields=changed)
        _announce(custody_account_saved, CustodyAccount, account_id=account.pk, created=False)
    return account


# --- prices ---------------------------------------------------------------------------------------


def _moves_mark_beyond_tolerance(asset: Asset, price_usd: Decimal) -> bool:
    """Whether ``price_usd`` moves the asset's mark by more than the tolerance (a first mark always does:
    there is nothing to compare it with)."""
    from borrowdesk.refdata.selectors import mark  # selectors read models only; no cycle at import

    current = mark(asset)
    if current is None:
        return True
    tolerance = Decimal(str(settings.PRICE_OVERRIDE_TOLERANCE_PCT))
    return abs(price_usd - current.price_usd) * 100 > tolerance * current.price_usd


@transaction.atomic
def record_price(
    *, actor: User, asset: Asset, price_usd: Decimal, as_of: datetime | None = None, source: str = "manual"
) -> Price:
    """Record a USD price of an asset at ``as_of`` (default now); the latest applied one is its mark.

    Prices decide approval paths, so no approving role posts them (segregation of duties,
    access/policy.py). The price feed (``refdata.price.post``) posts marks that apply at once. An
    administrator's price (``refdata.price.override``) is an override: when it moves the current mark
    by more than ``PRICE_OVERRIDE_TOLERANCE_PCT`` (or there is no mark yet) it is stored ``pending`` and
    is not the mark until another administrator confirms it (``confirm_price``); within the tolerance it
    applies at once.

    Raises ``PermissionDeniedError`` (a role that may neither post nor override), or ``InvalidInput``
    for a price that is not a finite positive decimal of at most 8 places and 24 digits, a naive or
    future ``as_of``, or a bad source.
    """
    if allows(actor, "refdata.price.post"):
        is_override = False
    elif allows(actor, "refdata.price.override"):
        is_override = True
    else:
        raise PermissionDeniedError(
            "Prices come from the price feed: a role that approves requests does not set their prices."
        )
    now = timezone.now()
    as_of = now if as_of is None else as_of
    errors: Errors = {}
    finite = isinstance(price_usd, Decimal) and price_usd.is_finite()
    _check(errors, "price_usd", finite and price_usd > 0, "A positive finite number.")
    if timezone.is_naive(as_of):
        _check(errors, "as_of", False, "Give a time zone offset (e.g. 2026-01-31T16:00:00Z).")
    else:
        _check(errors, "as_of", as_of <= now + PRICE_CLOCK_SKEW, "Cannot be in the future.")
    price = Price(asset=asset, price_usd=price_usd, as_of=as_of, source=source, posted_by=actor)
    _validate(price, errors)
    # Lock the asset: prices of one asset are recorded one after the other, so an override is
    # compared with the mark as it really is (not one a concurrent post is replacing).
    Asset.objects.select_for_update().filter(pk=asset.pk).first()
    if is_override and _moves_mark_beyond_tolerance(asset, price_usd):
        price.status = PriceStatus.PENDING
    with acting_as(actor):
        _save(price)
    if price.status == PriceStatus.APPLIED:
        _announce_applied(price)
    return price


def _announce_applied(price: Price) -> None:
    """Tell the apps above (collateral's revaluation) once the price is committed. ``robust``: a
    receiver's failure (a broker down) is logged and never turns a recorded price into an error; the
    scheduled revaluation catches up."""
    from borrowdesk.refdata.signals import price_applied

    transaction.on_commit(
        lambda: price_applied.send(sender=Price, price_id=price.pk, asset_id=price.asset_id), robust=True
    )


@transaction.atomic
def confirm_price(*, actor: User, price: Price) -> Price:
    """Another administrator confirms a pending override: it applies (and is the mark if it is the
    asset's latest applied price).

    Raises ``PermissionDeniedError`` (not ``refdata.price.confirm``), ``SegregationOfDuties`` (the
    administrator who posted it) or ``InvalidState`` (not awaiting confirmation).
    """
    require(actor, "refdata.price.confirm", "Your role does not allow confirming price overrides.")
    # Lock the override: two confirmations (or a confirmation racing another) apply once.
    price = Price.objects.select_for_update().get(pk=price.pk)
    if price.status != PriceStatus.PENDING:
        raise InvalidState("This price is not awaiting confirmation.")
    if price.posted_by_id == actor.pk:
        raise SegregationOfDuties(
            "An override is confirmed by another administrator, not the one who posted it."
        )
    price.status = PriceStatus.APPLIED
    price.confirmed_by = actor
    price.confirmed_at = timezone.now()
    with acting_as(actor):
        _save(price, update_fields=["status", "confirmed_by", "confirmed_at"])
    _announce_applied(price)
    return price


# --- risk ratings (compliance's) ------------------------------------------------------------------


@transaction.atomic
def set_risk_rating(*, actor: User, counterparty: Counterparty, risk_rating: str) -> Counterparty:
    """Set a counterparty's risk rating: compliance's, with its KYC (``compliance.kyc.write``).

    The rating decides approval paths, so the approving roles cannot set it; the refdata API and
    forms show it read-only. Raises ``PermissionDeniedError`` or ``InvalidInput`` (unknown rating).
    """
    require(
        actor, "compliance.kyc.write", "The risk rating is set by compliance with the counterparty's KYC."
    )
    errors: Errors = {}
    _check_counterparty(errors, {"risk_rating": risk_rating})
    if errors:
        raise _refuse(errors)
    counterparty = _locked(Counterparty, counterparty)
    if counterparty.risk_rating != risk_rating:
        counterparty.risk_rating = risk_rating
        with acting_as(actor):
            _save(counterparty, update_fields=["risk_rating"])
    return counterparty


# --- custodian ids (issue 11: reconciliation statements) -------------------------------------------


def map_custodian_id(
    *,
    actor: User,
    custodian: str,
    kind: str,
    external_id: str,
    account: CustodyAccount | None = None,
    asset: Asset | None = None,
) -> CustodianMapping:
    """Record what ``custodian`` calls one of the desk's accounts (a vault, portfolio or wallet id) or
    assets (its asset id), for the statement adapters. Raises ``PermissionDeniedError`` or
    ``InvalidInput`` (an unknown custodian or kind, no target or two, an id already mapped)."""
    _require(actor, "refdata.write")
    errors: Errors = {}
    _check(errors, "custodian", custodian in Custodian.values, f"One of {', '.join(Custodian.values)}.")
    _check(errors, "kind", kind in MappingKind.values, f"One of {', '.join(MappingKind.values)}.")
    _check(errors, "external_id", bool((external_id or "").strip()), "Required.")
    if kind == MappingKind.ACCOUNT:
        _check(errors, "account", account is not None and asset is None, "Name the account (and no asset).")
    elif kind == MappingKind.ASSET:
        _check(errors, "asset", asset is not None and account is None, "Name the asset (and no account).")
    mapping = CustodianMapping(
        custodian=custodian, kind=kind, external_id=(external_id or "").strip(), account=account, asset=asset
    )
    _validate(mapping, errors)
    with acting_as(actor):
        return _save(mapping)
