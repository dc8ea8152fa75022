"""The approval path: which roles approve a request, in order, from its notional and the counterparty's
risk rating (the approval matrix, ``ApprovalRule``).

Segregation of duties reaches the matrix's inputs: the path is fixed when the request is first priced,
worked out again at every approval step from the mark and the rating as they are then, and the
stricter of the two applies, so a price or a rating changed after intake can never shorten it.
"""

from __future__ import annotations

from decimal import Decimal

from borrowdesk.errors import InvalidState
from borrowdesk.refdata.selectors import mark
from requests_app.models import APPROVER_ROLES, ApprovalRule, BorrowRequest

NOTIONAL_QUANTUM = Decimal("0.00000001")


def approval_steps(*, notional_usd: Decimal, risk_rating: str) -> list[str]:
    """The roles that must approve, in order: the first active matching rule of the matrix."""
    rules = ApprovalRule.objects.filter(is_active=True).order_by("precedence")
    for rule in rules:
        in_band = notional_usd >= rule.min_notional_usd and (
            rule.max_notional_usd is None or notional_usd < rule.max_notional_usd
        )
        if in_band and (not rule.risk_ratings or risk_rating in rule.risk_ratings):
            return list(rule.steps)
    raise InvalidState("No approval rule covers this request; ask an administrator to extend the matrix.")


def _strictness(steps: list[str]) -> tuple[int, list[int]]:
    # More steps is stricter; at the same length, the path whose roles come later in APPROVER_ROLES
    # (ops < ops_senior < risk, the order in which the default matrix escalates) is.
    return len(steps), [APPROVER_ROLES.index(r) if r in APPROVER_ROLES else -1 for r in steps]


def stricter_path(stored: list[str], current: list[str]) -> list[str]:
    """The stricter of two paths: the longer one; at equal length, the one with the more senior roles;
    the stored one when they tie."""
    return current if _strictness(current) > _strictness(stored) else stored


def current_path(request: BorrowRequest) -> tuple[Decimal, list[str]] | None:
    """The notional and path from the asset's mark and the counterparty's rating as they are now;
    None when the asset has no price."""
    price = mark(request.asset)
    if price is None:
        return None
    notional = (request.quantity * price.price_usd).quantize(NOTIONAL_QUANTUM)
    return notional, approval_steps(notional_usd=notional, risk_rating=request.counterparty.risk_rating)


def price_path(request: BorrowRequest) -> bool:
    """Fix the notional and approval path from the asset's mark; False when the asset has no price."""
    found = current_path(request)
    if found is None:
        return False
    request.notional_usd, request.required_steps = found
    return True


def reprice_path(request: BorrowRequest) -> bool:
    """At an approval step: work the path out again and keep the stricter of it and the stored one
    (on ``request``, to be saved with the decision). False when there is no path at all (never priced
    and still no price)."""
    found = current_path(request)
    if found is None:
        return bool(request.required_steps)
    notional, steps = found
    if not request.required_steps or stricter_path(request.required_steps, steps) != request.required_steps:
        request.notional_usd, request.required_steps = notional, steps
    return True
