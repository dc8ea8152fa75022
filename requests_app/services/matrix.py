"""The approval path: which roles approve a request, in order, from its notional and the counterparty's
risk rating (the approval matrix, ``ApprovalRule``).

Segregation of duties reaches the matrix's inputs: the path is fixed when the request is first priced,
worked out again at every approval step from the mark and the rating as they are then, and the
stricter of the two applies, so a price or a rating changed after intake can never shorten it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from borrowdesk.errors import InvalidState
from borrowdesk.refdata.selectors import mark
from requests_app.models import APPROVER_ROLES, ApprovalRule, BorrowRequest

NOTIONAL_QUANTUM = Decimal("0.00000001")


class Rule(NamedTuple):
    """One active rule of the matrix, as the path needs it."""

    min_notional_usd: Decimal
    max_notional_usd: Decimal | None  # exclusive; None: no upper bound
    risk_ratings: list[str]  # empty: all
    steps: list[str]


def active_rules() -> list[Rule]:
    return [
        Rule(*values)
        for values in ApprovalRule.objects.filter(is_active=True)
        .order_by("precedence")
        .values_list("min_notional_usd", "max_notional_usd", "risk_ratings", "steps")
    ]


def approval_steps(*, notional_usd: Decimal, risk_rating: str, rules: list[Rule] | None = None) -> list[str]:
    """The roles that must approve, in order: the first active matching rule of the matrix (``rules``:
    the active rules by precedence, read already; None: read them now)."""
    for rule in active_rules() if rules is None else rules:
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


def current_path(
    request: BorrowRequest, rules: list[Rule] | None = None, mark_usd: Decimal | None = None
) -> tuple[Decimal, list[str]] | None:
    """The notional and path from the asset's mark and the counterparty's rating as they are now (the
    mark and rules read already under the request's lock, or None: read them now); None when the asset
    has no price."""
    if mark_usd is None:
        price = mark(request.asset)
        if price is None:
            return None
        mark_usd = price.price_usd
    notional = (request.quantity * mark_usd).quantize(NOTIONAL_QUANTUM)
    steps = approval_steps(notional_usd=notional, risk_rating=request.counterparty.risk_rating, rules=rules)
    return notional, steps


def price_path(request: BorrowRequest) -> bool:
    """Fix the notional and approval path from the asset's mark; False when the asset has no price."""
    found = current_path(request)
    if found is None:
        return False
    request.notional_usd, request.required_steps = found
    return True


def reprice_path(request: BorrowRequest, rules: list[Rule], mark_usd: Decimal | None) -> bool:
    """At an approval step: work the path out again and keep the stricter of it and the stored one
    (on ``request``, to be saved with the decision). ``rules`` and ``mark_usd``: the matrix's active
    rules and the asset's mark, read under the request's lock. False when there is no path at all
    (never priced and still no price)."""
    found = current_path(request, rules, mark_usd) if mark_usd is not None else None
    if found is None:
        return bool(request.required_steps)
    notional, steps = found
    if not request.required_steps or stricter_path(request.required_steps, steps) != request.required_steps:
        request.notional_usd, request.required_steps = notional, steps
    return True
