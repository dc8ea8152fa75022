"""Test set-up for borrower limits: ``BorrowerLimit`` and ``AssetCap`` rows created directly (effective,
as a risk user proposed them), so these tests do not depend on the configuration services built beside
them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from borrowdesk.refdata.models import Asset, Counterparty
from collateral.models import AssetCap, BorrowerLimit, ConfigStatus
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
