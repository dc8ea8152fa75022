"""How the desk reads figures and times: one place for every page, message and CSV export.

- ``qty``: a quantity (or rate, or count) with thousands separators and without padding:
  ``18,000,000``, ``2.5``, ``-0.00000001``; never ``5.000000000000000000`` nor ``1E+1``.
- ``usd``: an amount in dollars with two decimals: ``$486,250.00``, ``-$12.50``.
- ``usd_price``: a price in dollars with at least two decimals and no more than it carries
  (``$97,250.00``, ``$0.00001234``): a sub-cent token's mark must not read ``$0.00``.
- ``when``: an aware time in the desk's time zone with the zone's name (``2026-12-01 09:30 GMT``).
- ``ratio_pct``: a ratio (a coverage ratio, 1.5 = 150 %) as a percentage to one decimal: ``152.3%``.
- ``pct``: a figure already in percent (a haircut of ``12.5000``) as ``12.5%``; ``pct:1`` to one
  decimal, as ``ratio_pct`` shows a ratio (a concentration share ``10.4167`` → ``10.4%``).
- ``duration``: a time span as the desk says it: ``2 d 4 h``, ``3 h 12 min``, ``12 min``.
- ``label``: a stored code as words (``pending_delivery`` → ``Pending delivery``), for codes without
  a model's choice label at hand.
- ``csv_cell``: a value as a CSV cell: numbers stay numbers (unpadded, no separators), and a text
  that a spreadsheet would run as a formula is written as text.

Pure functions of their input (the desk's time zone comes from settings): no database, no request.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from django.utils import timezone

from borrowdesk.business_day import desk_zone

NUMBER = (Decimal, int, float)
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            return Decimal(value.strip().replace(",", ""))
        except InvalidOperation:
            return None
    return None


def plain(value: Decimal) -> str:
    """A decimal in positional notation without trailing zeros: ``5``, ``2.5``, ``-0.00000001``."""
    if value == 0:
        return "0"  # also -0 and 0E-18
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def unpadded(value: Any) -> str:
    """A quantity for an input box or a message: no padding, no separators (``5``, not
    ``5.000000000000000000``), so what is shown parses back as the same number."""
    if value is None or value == "":
        return ""
    number = _decimal(value)
    return plain(number) if number is not None and number.is_finite() else str(value)


def _group(text: str) -> str:
    """``-18000000.5`` → ``-18,000,000.5`` (separators in the integer part only)."""
    sign = "-" if text.startswith("-") else ""
    whole, _, fraction = text.lstrip("-").partition(".")
    grouped = f"{int(whole):,}"
    return f"{sign}{grouped}.{fraction}" if fraction else f"{sign}{grouped}"


def qty(value: Any) -> str:
    """A quantity as the desk reads it; ``—`` for no value; a text that is not a number unchanged."""
    if value is None or value == "":
        return "—"
    number = _decimal(value)
    if number is None or not number.is_finite():
        return str(value)
    return _group(plain(number))


def split_fraction(text: str) -> tuple[str, str]:
    """``1,234.5`` → (``1,234``, ``.5``): the two halves a table aligns on the decimal point."""
    whole, dot, fraction = text.partition(".")
    return whole, f"{dot}{fraction}"


def usd(value: Any) -> str:
    """Dollars with two decimals (banker's rounding of the third): ``$486,250.00``, ``-$12.50``."""
    if value is None or value == "":
        return "—"
    number = _decimal(value)
    if number is None or not number.is_finite():
        return str(value)
    cents = number.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    text = _group(f"{abs(cents):f}")
    return f"-${text}" if cents < 0 else f"${text}"


def usd_price(value: Any) -> str:
    """A price in dollars: two decimals at least, more only when the price carries them."""
    number = _decimal(value)
    if number is None or not number.is_finite():
        return usd(value)
    text = plain(number)
    if len(text.partition(".")[2]) <= 2:
        return usd(number)
    grouped = _group(text.lstrip("-"))
    return f"-${grouped}" if number < 0 else f"${grouped}"


def when(value: Any) -> str:
    """A time in the desk's zone, to the minute, with the zone's name; a date as YYYY-MM-DD."""
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        if timezone.is_naive(value):
            value = timezone.make_aware(value, UTC)
        local = value.astimezone(desk_zone())
        return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def label(value: Any) -> str:
    """A stored code as words: ``pending_second_approval`` → ``Pending second approval``."""
    if value is None or value == "":
        return "—"
    text = str(value).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def csv_cell(value: Any) -> Any:
    """One CSV cell. Numbers stay numbers (a negative Decimal is a number, not a formula); times are
    ISO 8601 in UTC; any other text starting with ``= + - @``, tab or CR gets a leading ``'``, so a
    spreadsheet shows it as text instead of running it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return value  # True / False, which a spreadsheet reads as booleans
    if isinstance(value, Decimal):
        return plain(value) if value.is_finite() else str(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if timezone.is_aware(value) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_START) else text


def ratio_pct(value: Any) -> str:
    """A ratio as a percentage with one decimal (banker's rounding): ``1.5`` → ``150.0%``,
    ``1.523456`` → ``152.3%``; ``—`` for no value (a coverage with no exposure)."""
    if value is None or value == "":
        return "—"
    number = _decimal(value)
    if number is None or not number.is_finite():
        return str(value)
    percent = (number * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN)
    return f"{_group(f'{percent:f}')}%"


def pct(value: Any, places: Any = None) -> str:
    """A figure already in percent, unpadded: ``12.5000`` → ``12.5%``, ``100`` → ``100%``; with
    ``places``, rounded to that many decimals as ``ratio_pct`` rounds (a share ``10.4167`` → ``10.4%``),
    for a computed figure whose last digits are noise rather than a configured value."""
    number = _decimal(value)
    if places in (None, "") or number is None or not number.is_finite():
        shown = qty(value)
        return shown if shown == "—" or number is None else f"{shown}%"
    rounded = number.quantize(Decimal(1).scaleb(-int(places)), rounding=ROUND_HALF_EVEN)
    return f"{_group(f'{rounded:f}')}%"


def duration(value: timedelta | None) -> str:
    """A span to the minute, largest units first: ``2 d 4 h``, ``3 h 12 min``, ``12 min``; a span
    under a minute is ``0 min``; a negative span reads as its size (the caller says "overdue")."""
    if value is None:
        return "—"
    minutes = int(abs(value).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"
