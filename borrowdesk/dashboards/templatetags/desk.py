"""Template filters for how the desk reads figures, times and codes (``{% load desk %}``).

Thin wrappers over ``borrowdesk.formatting``, the same functions the table helper and the CSV
exports use, so a figure reads the same on every page.
"""

from collections.abc import Callable
from typing import Any

from django import template
from django.utils.html import format_html

from borrowdesk import formatting
from borrowdesk.access.roles import ROLE_LABELS
from borrowdesk.operations import wording as operations_wording

register = template.Library()


# The formatting functions themselves, under the names the templates use (each documents itself):
# qty 18,000,000 · plain_qty for an input box · usd $486,250.00 · usd_price $0.00001234 ·
# when 2026-12-01 09:30 GMT · label pending_delivery → Pending delivery · ratio_pct 1.5 → 150.0% ·
# pct 12.5 → 12.5% · duration 3 h 12 min.
_FILTERS: dict[str, Callable[..., Any]] = {
    "qty": formatting.qty,
    "plain_qty": formatting.unpadded,
    "usd": formatting.usd,
    "usd_price": formatting.usd_price,
    "when": formatting.when,
    "label": formatting.label,
    "ratio_pct": formatting.ratio_pct,
    "pct": formatting.pct,
    "duration": formatting.duration,
}
for _name, _function in _FILTERS.items():
    register.filter(_name, _function)


@register.filter
def aligned(value):
    """A quantity split on its decimal point, for a table column aligned on it (see ``.num .f``)."""
    whole, fraction = formatting.split_fraction(formatting.qty(value))
    return format_html('<span class="i">{}</span><span class="f">{}</span>', whole, fraction)


@register.filter
def job_label(value):
    """A job run's job by its name on the schedule: collateral.revalue → Revalue collateral and …"""
    return operations_wording.job_label(value)


@register.filter
def role_label(value):
    """A role's name as people say it: ops_senior → Senior operations."""
    return ROLE_LABELS.get(value, formatting.label(value))


# --- the audit trail: model and field names, values as the desk reads them ------------------------


def _model(label_: str):
    from django.apps import apps

    try:
        return apps.get_model(label_)
    except (LookupError, ValueError):
        return None


def _field(model, name: str):
    if model is None:
        return None
    for candidate in (name, name.removesuffix("_id")):
        try:
            return model._meta.get_field(candidate)
        except Exception:  # noqa: S112 — FieldDoesNotExist and reverse relations: try the next name
            continue
    return None


def _value(field, value):
    from django.db import models
    from django.utils.dateparse import parse_date, parse_datetime

    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if field is not None and getattr(field, "choices", None):
        return dict(field.flatchoices).get(value, value)
    if isinstance(field, models.DateTimeField) and isinstance(value, str):
        parsed = parse_datetime(value)
        return formatting.when(parsed) if parsed else value
    if isinstance(field, models.DateField) and isinstance(value, str):
        parsed_day = parse_date(value)
        return parsed_day.isoformat() if parsed_day else value
    if isinstance(field, models.DecimalField | models.FloatField) or isinstance(value, float):
        return formatting.qty(value)
    if isinstance(value, dict | list):
        import json

        return json.dumps(value, sort_keys=True)
    return value


@register.filter
def model_name(label_: str) -> str:
    """``requests_app.BorrowRequest`` → ``Borrow request``."""
    model = _model(label_)
    return formatting.label(str(model._meta.verbose_name)) if model is not None else label_


@register.filter
def changes(event: dict) -> list[dict]:
    """What an audit event changed, field by field: the field's name as words and its old and new
    values read like everywhere else (desk-zone times, unpadded quantities, choice labels)."""
    model = _model(event.get("model") or "")
    rows = []
    for name, change in (event.get("diff") or {}).items():
        field = _field(model, name)
        verbose = str(field.verbose_name) if field is not None and hasattr(field, "verbose_name") else name
        old, new = (list(change) + [None, None])[:2] if isinstance(change, list | tuple) else (None, change)
        shown = {"old": _value(field, old), "new": _value(field, new)}
        if shown["old"] == shown["new"] and old != new:
            continue  # a change below what is shown (a timestamp's seconds): not news to a reader
        rows.append({"field": formatting.label(verbose), **shown})
    return rows


_EVENT_LABELS = {"insert": "Created", "update": "Changed", "delete": "Deleted", "snapshot": "Snapshot"}


@register.filter
def event_label(value: str) -> str:
    """An audit event's kind as words: insert → Created, update → Changed."""
    return _EVENT_LABELS.get(value, formatting.label(value))
