"""The desk summary: each figure read through the selector of the app that owns it (read-only), so
the summary, the home pages and the app pages count the same things the same way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

from borrowdesk.business_day import business_date
from borrowdesk.snapshot import one_snapshot
from collateral.selectors.risk_views import CoverageSummary, coverage_summary
from compliance.cases.selectors import Backlog, desk_backlog
from inventory.selectors import Availability, availability
from reconciliation.selectors_runs import pre_open_status
from requests_app.selectors import REQUEST_AGE_BUCKETS, PendingStatus, pending_by_status_and_age
from treasury.selectors import BufferLevel, SettlementSummary, buffer_levels, settlement_summary

# The fail rate is over the settlement legs queued in this many days.
SETTLEMENT_FAIL_RATE_DAYS = 30


@dataclass(frozen=True)
class DeskSummary:
    as_of: datetime
    business_date: date
    utilization: list[Availability]
    requests: list[PendingStatus]
    request_age_buckets: list[str]
    coverage: CoverageSummary
    settlements: SettlementSummary
    reconciliation: dict
    cases: Backlog
    buffers: list[BufferLevel]

    @property
    def coverage_ratio(self) -> Decimal | None:
        """The desk's collateral value after haircuts / its exposure (None without exposure)."""
        exposure = self.coverage.exposure_usd
        if not exposure:
            return None
        return (self.coverage.collateral_value_usd / exposure).quantize(Decimal("0.000001"))


def desk_summary() -> DeskSummary:
    """Every figure of ``GET /api/v1/dashboard/summary/``, as of now and of one snapshot of the
    database (``one_snapshot``: the figures add up with each other). Nine queries whatever the rows:
    utilization 1, open requests 1, coverage 2, settlements 1, pre-open reconciliation and open breaks 2,
    cases 1, buffers 1."""
    with one_snapshot():
        return _summary()


def _summary() -> DeskSummary:
    now = timezone.now()
    today = business_date(now)
    return DeskSummary(
        as_of=now,
        business_date=today,
        utilization=availability(),
        requests=pending_by_status_and_age(now),
        request_age_buckets=[key for key, _, _ in REQUEST_AGE_BUCKETS],
        coverage=coverage_summary(),
        settlements=settlement_summary(window_days=SETTLEMENT_FAIL_RATE_DAYS, now=now),
        reconciliation=pre_open_status(today),
        cases=desk_backlog(now),
        buffers=buffer_levels(),
    )
