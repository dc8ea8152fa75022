"""Building blocks of the apps' filtersets, so every filter bar reads the same: a labelled choice
with "any" (not "---------"), a yes / no / any flag (not "Unknown"), a code box with its label."""

from __future__ import annotations

import django_filters
from django import forms

ANY = "any"


def choice(choices, label: str, **kwargs) -> django_filters.ChoiceFilter:
    """One of the model's choices, shown by label, or any."""
    return django_filters.ChoiceFilter(choices=choices, label=label, empty_label=ANY, **kwargs)


def yes_no(label: str, **kwargs) -> django_filters.BooleanFilter:
    """A flag as ?name=true / false; the page's select says any / yes / no."""
    widget = forms.Select(choices=[("", ANY), ("true", "yes"), ("false", "no")])
    return django_filters.BooleanFilter(label=label, widget=widget, **kwargs)


def code(field_name: str, label: str, **kwargs) -> django_filters.CharFilter:
    """A reference by its code (``?venue=COINVAULT``); an unknown code matches nothing."""
    return django_filters.CharFilter(field_name=field_name, label=label, **kwargs)
