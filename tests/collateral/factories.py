"""Collateral set-up for tests, through the real services (shared: add functions, don't rewrite others').

- ``collateral_account(counterparty, code)``: the counterparty's segregated collateral account.
- ``pledge(counterparty, asset, quantity, account=…)``: collateral booked by operations.
- ``haircut(asset, pct, venue=…, counterparty=…)``, ``limit(counterparty, max_exposure_usd, …)``,
  ``agreement(counterparty, …)``: risk configuration in force now (proposed by one risk user and, when
  it is a loosening, approved by another).
- ``config_state()`` / ``collateral_state()``: every row they could write, to assert a refusal wrote
  nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from borrowdesk.access.models import User
from borrowdesk.access.services import create_desk_user
from borrowdesk.refdata.models import Asset, Counterparty, CustodyAccount, Venue
from collateral.models import (
    AssetCap,
    BorrowerLimit,
    CollateralAgreement,
    HaircutRule,
    MarkPolicy,
    Pledge,
    StressScenario,
)
from collateral.services.config import approve_config, propose_agreement, propose_haircut_rule, propose_limit
from collateral.services.pledges import book_pledge
from tests.refdata.factories import CustodyAccountFactory, VenueFactory

PASSWORD = "factory-password-123"


def desk_user(username: str, role: str) -> User:
    """A user with one role, made once per test (get or create)."""
    found = User.objects.filter(username=username).first()
    return found or create_desk_user(username=username, password=PASSWORD, roles=[role])


def risk_pair() -> tuple[User, User]:
    """Two risk users who are not the test personas: a proposer and a second pair of eyes."""
    return desk_user("risk-proposer", "risk"), desk_user("risk-approver", "risk")


def collateral_account(
    counterparty: Counterparty, code: str | None = None, *, venue: Venue | None = None, network=None
) -> CustodyAccount:
    """The counterparty's collateral account at a custodian (``{CODE}-COLL`` by default)."""
    return CustodyAccountFactory(
        code=code or f"{counterparty.code}-COLL",
        venue=venue or VenueFactory(code="CUST1", kind="custodian"),
        network=network,
        owner=counterparty,
        purpose="collateral",
    )


def pledge(
    counterparty: Counterparty,
    asset: Asset,
    quantity,
    *,
    account: CustodyAccount | None = None,
    expires_on: date | None = None,
    reference: str = "",
    actor: User | None = None,
) -> Pledge:
    """Book ``quantity`` of ``asset`` as the counterparty's collateral (as operations)."""
    return book_pledge(
        actor=actor or desk_user("pledge-booker", "ops"),
        counterparty=counterparty,
        asset=asset,
        account=account or collateral_account(counterparty),
        quantity=Decimal(str(quantity)),
        expires_on=expires_on,
        reference=reference,
    )


def _in_force(version, approver: User | None):
    if version.status == "pending_approval":
        return approve_config(actor=approver or risk_pair()[1], version=version)
    return version


def haircut(
    asset: Asset,
    pct,
    *,
    venue: Venue | None = None,
    counterparty: Counterparty | None = None,
    effective_from: datetime | None = None,
    actor: User | None = None,
    approver: User | None = None,
) -> HaircutRule:
    """A haircut rule in force (approved by a second risk user when it loosens)."""
    rule = propose_haircut_rule(
        actor=actor or risk_pair()[0],
        asset=asset,
        venue=venue,
        counterparty=counterparty,
        haircut_pct=Decimal(str(pct)),
        effective_from=effective_from,
    )
    return _in_force(rule, approver)


def limit(
    counterparty: Counterparty,
    max_exposure_usd,
    *,
    max_tenor_days: int | None = None,
    min_coverage_ratio=None,
    asset_caps: dict[Asset, object] | None = None,
    actor: User | None = None,
    approver: User | None = None,
) -> BorrowerLimit:
    """A borrower limit in force (approved by a second risk user when it loosens)."""
    version = propose_limit(
        actor=actor or risk_pair()[0],
        counterparty=counterparty,
        max_exposure_usd=Decimal(str(max_exposure_usd)),
        max_tenor_days=max_tenor_days,
        min_coverage_ratio=Decimal(str(min_coverage_ratio)) if min_coverage_ratio is not None else None,
        asset_caps={asset: Decimal(str(q)) for asset, q in (asset_caps or {}).items()},
    )
    return _in_force(version, approver)


def agreement(
    counterparty: Counterparty,
    *,
    return_ratio="1.75",
    required_ratio="1.5",
    warning_ratio="1.4",
    call_ratio="1.3",
    critical_ratio="1.15",
    cure_period_hours: int = 24,
    call_due_hours: int = 24,
    actor: User | None = None,
    approver: User | None = None,
) -> CollateralAgreement:
    """A collateral agreement in force (approved by a second risk user when it loosens)."""
    version = propose_agreement(
        actor=actor or risk_pair()[0],
        counterparty=counterparty,
        return_ratio=Decimal(return_ratio),
        required_ratio=Decimal(required_ratio),
        warning_ratio=Decimal(warning_ratio),
        call_ratio=Decimal(call_ratio),
        critical_ratio=Decimal(critical_ratio),
        cure_period_hours=cure_period_hours,
        call_due_hours=call_due_hours,
    )
    return _in_force(version, approver)


def config_state() -> dict:
    """Every row of risk configuration, to assert that a refused change wrote nothing."""
    return {
        "haircuts": list(HaircutRule.objects.order_by("id").values()),
        "limits": list(BorrowerLimit.objects.order_by("id").values()),
        "caps": list(AssetCap.objects.order_by("id").values()),
        "agreements": list(CollateralAgreement.objects.order_by("id").values()),
        "scenarios": list(StressScenario.objects.order_by("id").values()),
        "mark_policies": list(MarkPolicy.objects.order_by("id").values()),
    }


def collateral_state() -> dict:
    """Every pledge and ledger row, to assert that a refused pledge wrote nothing."""
    from tests.inventory.factories import ledger_state

    return {"pledges": list(Pledge.objects.order_by("id").values()), **ledger_state()}


class Clock:
    """The desk's clock held at a fixed instant: ``clock.at(t)`` moves it (``django.utils.timezone.now``
    is patched, which the services, ``auto_now_add`` fields and the business date all read)."""

    def __init__(self, monkeypatch, start: datetime):
        self.now = start
        monkeypatch.setattr("django.utils.timezone.now", lambda: self.now)

    def at(self, when: datetime) -> datetime:
        self.now = when
        return when
