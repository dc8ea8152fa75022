"""Checks of a borrow request's inputs that intake and approval share."""

from __future__ import annotations

from decimal import Decimal

from borrowdesk.errors import InvalidInput

MAX_RATE_BPS = Decimal(100000)  # 1000% a year: anything above is a typo
MAX_TERM_DAYS = 3650


def check_rate(rate: Decimal | None, field: str) -> None:
    if rate is None:
        return
    if not isinstance(rate, Decimal) or not rate.is_finite() or rate < 0 or rate > MAX_RATE_BPS:
        raise InvalidInput(
            f"{field} must be between 0 and {MAX_RATE_BPS}.",
            fields={field: [f"Between 0 and {MAX_RATE_BPS}."]},
        )
    exponent = rate.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -4:
        raise InvalidInput(
            f"{field} allows at most 4 decimal places.", fields={field: ["At most 4 decimal places."]}
        )
