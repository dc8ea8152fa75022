"""Template filters for how the desk reads figures, times and codes (``{% load desk %}``).

Thin wrappers over ``borrowdesk.formatting``, the same functions the table helper and the CSV
exports use, so a figure reads the same on every page.
"""

from django import template
from django.utils.html import format_html

from borrowdesk import formatting
from borrowdesk.access.roles import ROLE_LABELS

register = template.Library()


@register.filter
def qty(value):
    """A quantity with thousands separators and no padding: 18,000,000 · 2.5 · -0.00000001."""
    return formatting.qty(value)


@register.filter
def plain_qty(value):
    """A quantity for an input box: unpadded, no separators (what the form field parses back)."""
    return formatting.unpadded(value)


@register.filter
def usd(value):
    """Dollars with two decimals: $486,250.00."""
    return formatting.usd(value)


@register.filter
def usd_price(value):
    """A price in dollars: at least two decimals, more when it carries them ($0.00001234)."""
    return formatting.usd_price(value)


@register.filter
def when(value):
    """A time in the desk's time zone with the zone's name: 2026-12-01 09:30 GMT."""
    return formatting.when(value)


@register.filter
def label(value):
    """A stored code as words: pending_delivery → Pending delivery."""
    return formatting.label(value)


@register.filter
def aligned(value):
    """A quantity split on its decimal point, for a table column aligned on it (see ``.num .f``)."""
    whole, fraction = formatting.split_fraction(formatting.qty(value))
    return format_html('<span class="i">{}</span><span class="f">{}</span>', whole, fraction)


@register.filter
def role_label(value):
    """A role's name as people say it: ops_senior → Senior operations."""
    return ROLE_LABELS.get(value, formatting.label(value))
