"""The AML rules' parameters: what each rule takes, its bounds and defaults, and their validation.

A rule's parameters are JSON on its row; every write goes through ``validate_parameters`` so a rule
can never run with a parameter it does not know, a missing one, or one out of its bounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from compliance.aml.models import AmlRuleCode


@dataclass(frozen=True)
class Param:
    name: str
    label: str
    kind: type  # int or Decimal
    minimum: Decimal
    maximum: Decimal
    default: str
    help: str
    exclusive_minimum: bool = False


PARAMETERS: dict[str, list[Param]] = {
    AmlRuleCode.LARGE_REQUEST: [
        Param(
            "multiple",
            "Multiple of the average",
            Decimal,
            Decimal("1"),
            Decimal("1000"),
            "5",
            "A request whose notional is more than this many times the counterparty's average.",
            exclusive_minimum=True,
        ),
        Param(
            "lookback_days",
            "Lookback (days)",
            int,
            Decimal(1),
            Decimal(365),
            "30",
            "The average is over the counterparty's requests submitted in this many days before.",
        ),
        Param(
            "min_history",
            "Minimum history (requests)",
            int,
            Decimal(1),
            Decimal(1000),
            "3",
            "Fewer earlier requests than this in the lookback: no average to compare with, no alert.",
        ),
        Param(
            "min_notional_usd",
            "Minimum notional (USD)",
            Decimal,
            Decimal(0),
            Decimal("1e15"),
            "10000",
            "Requests below this notional are not looked at.",
        ),
    ],
    AmlRuleCode.WASH_PATTERN: [
        Param(
            "min_loans",
            "Loans (at least)",
            int,
            Decimal(2),
            Decimal(1000),
            "3",
            "This many loans, each returned within the window of its delivery, raise an alert.",
        ),
        Param(
            "window_hours",
            "Returned within (hours)",
            int,
            Decimal(1),
            Decimal(720),
            "24",
            "A loan returned in full within this many hours of its delivery is a round trip.",
        ),
        Param(
            "lookback_days",
            "Lookback (days)",
            int,
            Decimal(1),
            Decimal(365),
            "7",
            "Round trips whose return falls in this many days count together.",
        ),
    ],
    AmlRuleCode.NEW_ADDRESS: [
        Param(
            "min_usd",
            "Minimum value (USD)",
            Decimal,
            Decimal(0),
            Decimal("1e15"),
            "100000",
            "A leg to an address the counterparty has never been sent to, worth at least this at the mark.",
        ),
    ],
}


def defaults(code: str) -> dict[str, str | int]:
    return {p.name: (int(p.default) if p.kind is int else p.default) for p in PARAMETERS[code]}


def validate_parameters(code: str, raw: dict) -> tuple[dict[str, str | int], dict[str, list[str]]]:
    """``(clean, errors)``: the parameters as stored (ints as ints, decimals as strings) and the errors
    by field name. Unknown and missing parameters are errors; so is a value out of its bounds."""
    if code not in PARAMETERS:
        return {}, {"code": [f"Unknown rule {code!r}."]}
    if not isinstance(raw, dict):
        return {}, {"parameters": ["Give the parameters as an object."]}
    specs = {p.name: p for p in PARAMETERS[code]}
    errors: dict[str, list[str]] = {}
    clean: dict[str, str | int] = {}
    for name in raw:
        if name not in specs:
            errors.setdefault(name, []).append(f"{name!r} is not a parameter of this rule.")
    for name, spec in specs.items():
        if name not in raw or raw[name] is None or raw[name] == "":
            errors.setdefault(name, []).append(f"{spec.label} is required.")
            continue
        value = raw[name]
        if isinstance(value, bool):
            errors.setdefault(name, []).append(f"{spec.label} must be a number.")
            continue
        # A JSON float is read through its shortest decimal form (str), never its binary value.
        try:
            number = Decimal(str(value).strip().replace(",", ""))
        except InvalidOperation:
            errors.setdefault(name, []).append(f"{spec.label} must be a number.")
            continue
        if not number.is_finite():
            errors.setdefault(name, []).append(f"{spec.label} must be a finite number.")
            continue
        if spec.kind is int and number != number.to_integral_value():
            errors.setdefault(name, []).append(f"{spec.label} must be a whole number.")
            continue
        low_ok = number > spec.minimum if spec.exclusive_minimum else number >= spec.minimum
        if not low_ok or number > spec.maximum:
            low = "above" if spec.exclusive_minimum else "at least"
            errors.setdefault(name, []).append(
                f"{spec.label} must be {low} {spec.minimum:,} and at most {spec.maximum:,}."
            )
            continue
        clean[name] = int(number) if spec.kind is int else format(number.normalize(), "f")
    return clean, errors
