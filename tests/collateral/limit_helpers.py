"""Test set-up for borrower limits: ``BorrowerLimit`` and ``AssetCap`` rows created directly (effective,
as a risk user proposed them), so these tests do not depend on the configuration services built beside
them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from borrowdesk.refdata.models import Asset, Counterparty
from collateral.models import AssetCap, BorrowerLimit, ConfigStatus, LimitBreach
from tests.collateral.valuation_helpers import LONG_AGO, risk_user

D = Decimal


def limit(
    counterparty: Counterparty,
    max_exposure_usd,
    *,
    max_tenor_days: int | None = None,
    min_coverage_ratio=None,
    caps: dict[Asset, object] | None = None,
    effective_from: datetime | None = None,
    status: str = ConfigStatus.EFFECTIVE,
) -> BorrowerLimit:
    """A limit version for ``counterparty``, in force since ``effective_from`` (default long ago), with
    its asset caps ({asset: max quantity})."""
    created = BorrowerLimit.objects.create(
        counterparty=counterparty,
        max_exposure_usd=D(str(max_exposure_usd)),
        max_tenor_days=max_tenor_days,
        min_coverage_ratio=None if min_coverage_ratio is None else D(str(min_coverage_ratio)),
        status=status,
        effective_from=effective_from or LONG_AGO,
        proposed_by=risk_user(),
    )
    for asset, max_quantity in (caps or {}).items():
        AssetCap.objects.create(limit=created, asset=asset, max_quantity=D(str(max_quantity)))
    return created


def breach(
    lim: BorrowerLimit,
    kind: str,
    figure,
    limit_value,
    *,
    asset: Asset | None = None,
    loan=None,
    status: str = "open",
    opened_at: datetime | None = None,
) -> LimitBreach:
    """A breach of ``lim`` as the limit check records it (for the list's tests)."""
    from django.utils import timezone

    at = opened_at or timezone.now()
    return LimitBreach.objects.create(
        counterparty_id=lim.counterparty_id,
        limit=lim,
        kind=kind,
        asset=asset,
        loan=loan,
        figure=D(str(figure)),
        limit_value=D(str(limit_value)),
        status=status,
        opened_at=at,
        last_seen_at=at,
        resolved_at=at if status == "resolved" else None,
    )
