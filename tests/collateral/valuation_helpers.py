"""Test set-up for valuation: collateral accounts, pledges, haircut rules, agreements, marks and loans.

Built on inventory's real posting primitive (a pledge is a ``pledge`` journal: external → pledged in
the counterparty's collateral account) and real loan services; risk configuration rows are created
directly (effective, as a risk user proposed them), so these tests do not depend on the config
services built beside them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from borrowdesk.access.services import create_desk_user
from borrowdesk.refdata.models import Asset, Counterparty, CustodyAccount, Price, Venue
from collateral.models import CollateralAgreement, ConfigStatus, HaircutRule, MarkPolicy
from inventory.models import Bucket, JournalKind, Loan
from inventory.services import LedgerLine, post_journal
from tests.inventory.factories import _open_and_deliver, stock
from tests.refdata.factories import AssetFactory, CustodyAccountFactory, VenueFactory

D = Decimal
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)  # configuration in force since then, unless a test says


def _user(username: str, role: str):
    from borrowdesk.access.models import User

    found = User.objects.filter(username=username).first()
    return found or create_desk_user(username=username, password="helper-password-123", roles=[role])


def risk_user():
    return _user("helper-risk", "risk")


def ops_user():
    return _user("helper-ops", "ops")


def asset(symbol: str, *, decimals: int = 8, stablecoin: bool = False) -> Asset:
    return AssetFactory(symbol=symbol, name=symbol, decimals=decimals, is_stablecoin=stablecoin)


def venue(code: str = "CUST1") -> Venue:
    return VenueFactory(code=code, kind="custodian")


def collateral_account(counterparty: Counterparty, *, code: str | None = None, venue_code: str = "CUST1"):
    """A segregated collateral account owned by ``counterparty`` at ``venue_code``."""
    return CustodyAccountFactory(
        code=code or f"COLL-{counterparty.code}-{venue_code}",
        venue=venue(venue_code),
        owner=counterparty,
        purpose="collateral",
    )


def pledge(account: CustodyAccount, asset_: Asset, quantity, actor=None):
    """Book collateral into the account's pledged bucket (a ``pledge`` journal)."""
    q = D(str(quantity))
    return post_journal(
        kind=JournalKind.PLEDGE,
        lines=[
            LedgerLine(asset_, account, Bucket.EXTERNAL, -q),
            LedgerLine(asset_, account, Bucket.PLEDGED, q),
        ],
        actor=actor or ops_user(),
        reference="test pledge",
    )


def haircut(
    asset_: Asset,
    pct,
    *,
    counterparty: Counterparty | None = None,
    venue_: Venue | None = None,
    effective_from: datetime | None = None,
    status: str = ConfigStatus.EFFECTIVE,
) -> HaircutRule:
    return HaircutRule.objects.create(
        asset=asset_,
        counterparty=counterparty,
        venue=venue_,
        haircut_pct=D(str(pct)),
        status=status,
        effective_from=effective_from or LONG_AGO,
        proposed_by=risk_user(),
    )


def agreement(counterparty: Counterparty, *, effective_from: datetime | None = None, **levels):
    values = {
        "return_ratio": D("1.75"),
        "required_ratio": D("1.50"),
        "warning_ratio": D("1.40"),
        "call_ratio": D("1.30"),
        "critical_ratio": D("1.15"),
        "cure_period_hours": 24,
        "call_due_hours": 24,
        **{k: D(str(v)) if k.endswith("_ratio") else v for k, v in levels.items()},
    }
    return CollateralAgreement.objects.create(
        counterparty=counterparty,
        status=ConfigStatus.EFFECTIVE,
        effective_from=effective_from or LONG_AGO,
        proposed_by=risk_user(),
        **values,
    )


def mark_policy(asset_: Asset, *, max_age_minutes: int = 60, divergence_pct="2") -> MarkPolicy:
    return MarkPolicy.objects.create(
        asset=asset_, max_age_minutes=max_age_minutes, divergence_pct=D(str(divergence_pct))
    )


def price(asset_: Asset, usd, *, as_of: datetime | None = None, source: str = "feed", status="applied"):
    return Price.objects.create(
        asset=asset_, price_usd=D(str(usd)), as_of=as_of or timezone.now(), source=source, status=status
    )


def firm_inventory() -> CustodyAccount:
    return CustodyAccountFactory(code="INV-MAIN", venue=venue("CUST1"), purpose="inventory")


def lend(counterparty: Counterparty, asset_: Asset, quantity, *, delivered: bool = True) -> Loan:
    """Lend ``quantity`` (stocked first into the firm's INV-MAIN): an active loan, or one pending
    delivery (``delivered=False``). Both are exposure."""
    from inventory.services import open_loan

    account = firm_inventory()
    actor = ops_user()
    stock(asset_, account, quantity, actor=_user("helper-treasury", "treasury"))
    with transaction.atomic():
        if delivered:
            return _open_and_deliver(actor, counterparty, asset_, account, str(quantity), "365", None)
        return open_loan(
            actor=actor,
            request_id=None,
            counterparty=counterparty,
            asset=asset_,
            account=account,
            quantity=D(str(quantity)),
            rate_bps=D("365"),
            term_days=None,
            hold_expires_at=None,
        )
