"""Test data for the risk pages, written with the ORM and the ledger's primitive.

The pages read what the revaluation and the configuration services store; these helpers store such
rows directly, with figures a test states, so a page test does not depend on how they are computed.
Pledged collateral goes through ``post_journal`` (the ledger's one primitive), as the pledge service does.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from borrowdesk.access.services import create_desk_user
from collateral.models import (
    AssetCap,
    BorrowerLimit,
    BreachKind,
    CollateralAgreement,
    ConfigStatus,
    CounterpartyRisk,
    CoverageSnapshot,
    HaircutRule,
    LimitBreach,
    MarginCall,
    Pledge,
)
from inventory.models import Bucket, JournalKind
from inventory.services import LedgerLine, post_journal
from tests.refdata.factories import CustodyAccountFactory, VenueFactory

D = Decimal


def second_risk_user():
    """Another risk user (``ravi``): the approver of rita's loosenings."""
    return create_desk_user(username="ravi", password="risk-password-123", roles=["risk"])


def collateral_account(counterparty, *, venue_code: str = "CUST1", code: str | None = None):
    """The counterparty's segregated collateral account at a venue."""
    return CustodyAccountFactory(
        code=code or f"{counterparty.code}-COLL-{venue_code}",
        venue=VenueFactory(code=venue_code, kind="custodian"),
        owner=counterparty,
        purpose="collateral",
    )


def pledge(counterparty, asset, quantity, *, actor, account=None, expires_on: date | None = None) -> Pledge:
    """Book a pledge: (account, external, -q) and (account, pledged, +q), and its Pledge row."""
    account = account or collateral_account(counterparty)
    q = D(str(quantity))
    journal = post_journal(
        kind=JournalKind.PLEDGE,
        actor=actor,
        lines=[
            LedgerLine(asset=asset, account=account, bucket=Bucket.EXTERNAL, quantity=-q),
            LedgerLine(asset=asset, account=account, bucket=Bucket.PLEDGED, quantity=q),
        ],
    )
    return Pledge.objects.create(
        counterparty=counterparty,
        asset=asset,
        account=account,
        quantity=q,
        expires_on=expires_on,
        journal=journal,
        created_by=actor,
    )


def risk_row(counterparty, *, state="ok", exposure="0", collateral="0", ratio=None, shortfall="0", **more):
    """The revaluation's stored view of a counterparty."""
    now = timezone.now()
    return CounterpartyRisk.objects.create(
        counterparty=counterparty,
        state=state,
        state_since=more.pop("state_since", now - timedelta(hours=1)),
        exposure_usd=D(exposure),
        collateral_value_usd=D(collateral),
        coverage_ratio=D(ratio) if ratio is not None else None,
        shortfall_usd=D(shortfall),
        valued_at=more.pop("valued_at", now),
        **more,
    )


def snapshot(counterparty, day: date, ratio, *, exposure="100000", collateral=None, state="ok"):
    collateral = (
        collateral if collateral is not None else (D(exposure) * D(ratio) if ratio is not None else "0")
    )
    return CoverageSnapshot.objects.create(
        counterparty=counterparty,
        business_date=day,
        exposure_usd=D(exposure),
        collateral_value_usd=D(collateral),
        coverage_ratio=D(ratio) if ratio is not None else None,
        state=state,
        valued_at=timezone.now(),
    )


def margin_call(
    counterparty, amount, *, due_at: datetime, status="open", issued_at=None, **more
) -> MarginCall:
    now = timezone.now()
    return MarginCall.objects.create(
        counterparty=counterparty,
        status=status,
        amount_usd=D(amount),
        initial_amount_usd=D(more.pop("initial", amount)),
        exposure_usd=D(more.pop("exposure", "100000")),
        collateral_value_usd=D(more.pop("collateral", "120000")),
        coverage_ratio=D(more.pop("ratio", "1.2")),
        required_ratio=D(more.pop("required", "1.5")),
        issued_at=issued_at or now - timedelta(hours=2),
        due_at=due_at,
        updated_at=now,
        **more,
    )


def _version(proposed_by, approved_by=None, *, status=ConfigStatus.EFFECTIVE, effective_from=None, **more):
    now = timezone.now()
    return {
        "status": status,
        "effective_from": effective_from or now - timedelta(days=1),
        "proposed_by": proposed_by,
        "approved_by": approved_by,
        "approved_at": now if approved_by else None,
        "is_loosening": approved_by is not None or status == ConfigStatus.PENDING_APPROVAL,
        **more,
    }


def haircut(
    asset, pct, *, proposed_by, approved_by=None, counterparty=None, venue=None, **more
) -> HaircutRule:
    return HaircutRule.objects.create(
        asset=asset,
        counterparty=counterparty,
        venue=venue,
        haircut_pct=D(pct),
        **_version(proposed_by, approved_by, **more),
    )


def limit(counterparty, max_exposure, *, proposed_by, approved_by=None, caps=None, **more) -> BorrowerLimit:
    tenor = more.pop("max_tenor_days", None)
    coverage = more.pop("min_coverage_ratio", None)
    row = BorrowerLimit.objects.create(
        counterparty=counterparty,
        max_exposure_usd=D(max_exposure),
        max_tenor_days=tenor,
        min_coverage_ratio=D(coverage) if coverage is not None else None,
        **_version(proposed_by, approved_by, **more),
    )
    for asset, quantity in (caps or {}).items():
        AssetCap.objects.create(limit=row, asset=asset, max_quantity=D(quantity))
    return row


def agreement(counterparty, *, proposed_by, approved_by=None, levels=None, **more) -> CollateralAgreement:
    ratios = {
        "return_ratio": "1.8",
        "required_ratio": "1.6",
        "warning_ratio": "1.45",
        "call_ratio": "1.35",
        "critical_ratio": "1.2",
        **(levels or {}),
    }
    return CollateralAgreement.objects.create(
        counterparty=counterparty,
        **{k: D(v) for k, v in ratios.items()},
        cure_period_hours=more.pop("cure_period_hours", 12),
        call_due_hours=more.pop("call_due_hours", 6),
        **_version(proposed_by, approved_by, **more),
    )


def breach(counterparty, limit_row, kind=BreachKind.EXPOSURE, *, figure, allowed, status="open", **more):
    now = timezone.now()
    return LimitBreach.objects.create(
        counterparty=counterparty,
        limit=limit_row,
        kind=kind,
        figure=D(figure),
        limit_value=D(allowed),
        status=status,
        opened_at=more.pop("opened_at", now - timedelta(hours=3)),
        last_seen_at=now,
        resolved_at=now if status == "resolved" else None,
        **more,
    )
