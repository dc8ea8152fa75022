"""Template filters for how the desk reads figures."""

from django import template

from borrowdesk.pages import display

register = template.Library()


@register.filter
def qty(value):
    """A quantity without trailing zeros and never in exponent form (2.5, not 2.50000000 or 1E+1)."""
    return "—" if value is None or value == "" else display(value)
