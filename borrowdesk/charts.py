"""Charts: a figure drawn in the browser, always with its table right below and a CSV of the same figures.

A view builds a ``Chart`` (the labels along the axis and columns of figures, some of them plotted),
the page includes ``_chart.html`` with it, and ``static/js/charts.js`` draws every chart on the page
from the JSON the template writes with ``json_script``: data, never code, so the
Content-Security-Policy (no inline script) holds. The table under the chart shows every column
through ``borrowdesk.formatting``, like any other page; ``?chart=<key>&format=csv`` answers the same
figures as a CSV (``chart_csv``), numbers unformatted.

Figures are Decimals end to end: the JSON carries them as strings (exact), and only the browser turns
them into numbers to draw them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse

from borrowdesk import formatting
from borrowdesk.formatting import plain
from borrowdesk.pages import csv_response

KINDS = ("bar", "line", "doughnut")
# How a column reads in the table: each unit's formatter (``state``: a badge, ``text`` as it is).
UNITS: dict[str, Callable[[Any], Any]] = {
    "usd": formatting.usd,
    "usd_price": formatting.usd_price,
    "ratio": formatting.ratio_pct,
    "pct": formatting.pct,
    "qty": formatting.qty,
    "count": formatting.qty,  # a number of things (cases, breaks): whole numbers, whole ticks
    "date": formatting.when,
    "state": formatting.label,
    "text": lambda value: "—" if value in (None, "") else str(value),
}
NUMERIC_UNITS = ("usd", "usd_price", "ratio", "pct", "qty", "count")
# The value axis: ``usd`` draws dollars, ``ratio`` draws a ratio as a percentage (1.5 → 150), ``count``
# whole numbers (no 0.5 case on the axis).
AXIS_UNITS = ("usd", "ratio", "qty", "count")


@dataclass(frozen=True)
class ChartColumn:
    """One column of the chart's table (and CSV): a value per label. ``plot``: also drawn on the
    chart as a dataset (in the chart's axis unit); the other columns give the table its context."""

    label: str
    values: Sequence[Any]
    unit: str = "qty"
    plot: bool = False

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"Unknown chart column unit {self.unit!r}.")


@dataclass(frozen=True)
class Level:
    """A horizontal reference line at a value in the axis unit (a required or call coverage level).
    ``tone`` picks its colour and matches the state badges: ok, warning, call, critical."""

    label: str
    value: Decimal
    tone: str = "ok"


@dataclass(frozen=True)
class Chart:
    """A chart and its table. ``key`` names it on the page (its element ids, ``?chart=<key>`` for the
    CSV); ``axis_label`` heads the labels' column (Asset, Business date)."""

    key: str
    title: str
    kind: str
    unit: str
    axis_label: str
    labels: Sequence[Any]
    columns: Sequence[ChartColumn]
    levels: Sequence[Level] = ()
    empty: str = "Nothing to chart yet."
    note: str = ""
    newest_first: bool = False  # the table lists the labels from the last (a history: newest on top)
    csv_name: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Unknown chart kind {self.kind!r}.")
        if self.unit not in AXIS_UNITS:
            raise ValueError(f"Unknown chart axis unit {self.unit!r}.")
        for column in self.columns:
            if len(column.values) != len(self.labels):
                raise ValueError(
                    f"Column {column.label!r} has {len(column.values)} values for {len(self.labels)} labels."
                )

    @property
    def plotted(self) -> list[ChartColumn]:
        return [c for c in self.columns if c.plot]

    # --- what the page shows ----------------------------------------------------------------------

    @property
    def data_id(self) -> str:
        return f"chart-{self.key}-data"

    @property
    def has_data(self) -> bool:
        return any(v is not None for c in self.plotted for v in c.values)

    @property
    def csv_query(self) -> str:
        return f"chart={self.key}&format=csv"

    @property
    def headers(self) -> list[dict[str, Any]]:
        return [{"label": self.axis_label, "numeric": False}] + [
            {"label": c.label, "numeric": c.unit in NUMERIC_UNITS} for c in self.columns
        ]

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The table: one row per label, each cell formatted as the desk reads it."""
        order = range(len(self.labels) - 1, -1, -1) if self.newest_first else range(len(self.labels))
        return [
            {
                "label": _label_text(self.labels[i]),
                "cells": [
                    {
                        "value": UNITS[c.unit](c.values[i]),
                        "code": c.values[i] if c.unit == "state" else None,
                        "numeric": c.unit in NUMERIC_UNITS,
                    }
                    for c in self.columns
                ],
            }
            for i in order
        ]

    @property
    def level_text(self) -> str:
        """The reference lines in words, under the table (``Required 150.0% · Call 130.0%``)."""
        shown = formatting.ratio_pct if self.unit == "ratio" else formatting.usd
        return " · ".join(f"{level.label} {shown(level.value)}" for level in self.levels)

    def spec(self) -> dict[str, Any]:
        """The JSON ``charts.js`` draws from: labels, plotted datasets and levels, figures as strings."""
        return {
            "kind": self.kind,
            "unit": self.unit,
            "title": self.title,
            "labels": [_label_text(label) for label in self.labels],
            "datasets": [
                {"label": c.label, "data": [self._axis_value(v) for v in c.values]} for c in self.plotted
            ],
            "levels": [
                {"label": level.label, "value": self._axis_value(level.value), "tone": level.tone}
                for level in self.levels
            ],
        }

    def _axis_value(self, value: Any) -> str | None:
        if value is None:
            return None
        number = Decimal(value)
        return plain(number * 100 if self.unit == "ratio" else number)

    # --- the CSV ----------------------------------------------------------------------------------

    def csv(self) -> HttpResponse:
        """The chart's figures as a CSV: the table's columns, numbers as numbers (ratios as ratios)."""
        order = range(len(self.labels) - 1, -1, -1) if self.newest_first else range(len(self.labels))
        return csv_response(
            self.csv_name or self.key,
            [self.axis_label, *(c.label for c in self.columns)],
            ([self.labels[i], *(c.values[i] for c in self.columns)] for i in order),
        )


def _label_text(label: Any) -> str:
    if isinstance(label, datetime | date):
        return formatting.when(label)
    return str(label)


def chart_csv(request: HttpRequest, charts: Sequence[Chart]) -> HttpResponse | None:
    """The CSV a request asks for (``?chart=<key>&format=csv``) among a page's charts; None when the
    request asks for no CSV. Raises ``Http404`` for a chart the page does not have."""
    if request.GET.get("format") != "csv":
        return None
    wanted = request.GET.get("chart", "")
    for chart in charts:
        if chart.key == wanted:
            return chart.csv()
    raise Http404("This page has no such chart.")
