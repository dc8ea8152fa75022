"""The case SLA check ("KYC expiry and case SLA checks" in ARCHITECTURE's jobs): every 15 minutes,
open cases past their SLA due time are flagged once (an "sla_breached" event). A JobRun per window;
a case flagged is never flagged again, so a redelivered or repeated run changes nothing."""

from __future__ import annotations

from datetime import date

from borrowdesk.operations.jobs import scheduled_job
from compliance.cases import services

SLA_CHECK_JOB = "compliance.cases.sla_check"


@scheduled_job(SLA_CHECK_JOB, every_minutes=15)
def sla_check(business_date: date) -> dict:
    """Flag the open cases whose SLA has run out."""
    return services.flag_overdue_cases()
