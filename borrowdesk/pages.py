"""List pages: one helper for the desk's tables (filters in the URL, sortable columns, pagination, CSV).

A view builds its queryset through a selector, names its columns, and passes the app's filterset (the
same one its API uses); ``table_page`` does the rest, so every list looks and behaves the same.
Figures and times are shown through ``borrowdesk.formatting`` (the template filters use the same
functions), and every CSV export goes through ``csv_response``.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.functional import cached_property

from borrowdesk.formatting import csv_cell, label, qty, split_fraction, usd_price, when

CSV_LIMIT = 50_000


class CappedPaginator(Paginator):
    """Pages over at most ``cap`` rows, counted with ``LIMIT cap + 1`` instead of an exact COUNT.

    For a work queue with tens of thousands of rows where only the best few hundred matter on screen:
    counting every row (with the queue's anti-join) would cost more than showing the page. ``capped``
    says there were more than ``cap``; the page shows "1,000+" and its API keeps the exact count.
    """

    def __init__(self, object_list: QuerySet, per_page: int, *, cap: int = 1000, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.queryset = object_list
        self.cap = cap
        self.capped = False

    @cached_property
    def count(self) -> int:
        found = self.queryset.order_by()[: self.cap + 1].count()
        self.capped = found > self.cap
        return min(found, self.cap)


@dataclass(frozen=True)
class Column:
    label: str
    path: str  # dotted attribute path on the row ("venue.code")
    sort: str | None = None  # ORM field to order by, when the column is sortable
    numeric: bool = False  # right-aligned, tabular figures, aligned on the decimal point
    link: Callable[[Any], str] | None = None  # URL of the row's page, for this cell
    badge: bool = False  # render as a status badge
    usd: bool = False  # a price in dollars ($97,250.00) on the page; a plain number in the CSV
    nowrap: bool = False  # kept on one line (a time with its zone, a timer)

    def value(self, row: Any) -> Any:
        value = row
        for part in self.path.split("."):
            value = getattr(value, part, None) if value is not None else None
            if callable(value) and not hasattr(value, "_meta"):
                value = value()
        return value

    def shown(self, row: Any) -> Any:
        """The cell as the page shows it: a choice's label (``Pending delivery``, not the stored
        ``pending_delivery``) when the field has choices, else ``display`` of the value."""
        value = self.value(row)
        if self.usd:
            return usd_price(value) if value is not None else None
        if isinstance(value, str) and value:
            *parents, last = self.path.split(".")
            owner = row
            for part in parents:
                owner = getattr(owner, part, None) if owner is not None else None
            get_label = getattr(owner, f"get_{last}_display", None)
            if callable(get_label):
                return get_label()
            if self.badge:
                return label(value)
        return display(value)


def display(value: Any) -> Any:
    """A value as the desk reads it: quantities with thousands separators and no padding
    (``18,000,000``, ``2.5``), times in the desk's time zone with its name (``2026-12-01 09:30 GMT``),
    dates as YYYY-MM-DD; anything else unchanged (ids and counts, booleans, text)."""
    if isinstance(value, Decimal):
        return qty(value)
    if isinstance(value, datetime | date):
        return when(value)
    return value


def _cell(column: Column, row: Any) -> dict[str, Any]:
    raw = column.value(row)
    shown = column.shown(row)
    whole, fraction = (
        split_fraction(shown)
        if column.numeric and isinstance(raw, Decimal) and isinstance(shown, str)
        else (None, "")
    )
    return {
        "value": shown,
        "code": raw if column.badge else None,  # the stored value, for the badge's colour class
        "whole": whole,
        "fraction": fraction,
        "numeric": column.numeric,
        "badge": column.badge,
        "link": column.link(row) if column.link else None,
        "nowrap": column.nowrap,
    }


def csv_response(name: str, header: list[str], rows: Iterable[Iterable[Any]]) -> HttpResponse:
    """A CSV download: every cell through ``csv_cell`` (numbers stay numbers, unpadded and without
    separators; a text a spreadsheet would run as a formula is written as text)."""
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    writer = csv.writer(response)
    writer.writerow([csv_cell(h) for h in header])
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
    return response


def table_page(
    request,
    *,
    title: str,
    queryset: QuerySet,
    columns: list[Column],
    filterset_class=None,
    csv_name: str,
    page_size: int = 50,
    empty: str = "Nothing here yet.",
    intro: str = "",
    actions: list[dict[str, str]] | None = None,
    template: str = "pages/table.html",
    extra: dict[str, Any] | None = None,
    row_adapter: Callable[[Any], Any] | None = None,
):
    filterset = filterset_class(request.GET or None, queryset=queryset) if filterset_class else None
    if filterset is not None:
        for field in filterset.form.fields.values():
            select = hasattr(field.widget, "choices")
            field.widget.attrs["class"] = (
                "form-select form-select-sm" if select else "form-control form-control-sm"
            )
    rows, status = queryset, 200
    if filterset is not None and filterset.is_bound:
        # A filter that does not parse (a date out of range, a value outside the choices) is a 400 that
        # shows its error beside the field and no rows, never every row as if it were not there.
        if filterset.is_valid():
            rows = filterset.qs
        else:
            rows, status = queryset.none(), 400
            if request.GET.get("format") == "csv":
                errors = "; ".join(f"{k}: {' '.join(v)}" for k, v in filterset.errors.items())
                return HttpResponse(f"Invalid filter: {errors}", status=400, content_type="text/plain")
    sortable = {c.sort: c for c in columns if c.sort}
    sort = request.GET.get("sort", "")
    if sort.lstrip("-") in sortable:
        rows = rows.order_by(sort, "pk")
    if request.GET.get("format") == "csv":
        adapted_rows = map(row_adapter or (lambda r: r), rows[:CSV_LIMIT])
        return csv_response(
            csv_name, [c.label for c in columns], ([c.value(r) for c in columns] for r in adapted_rows)
        )
    page = Paginator(rows, page_size).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    base_query = query.copy()
    base_query.pop("sort", None)
    headers = [
        {
            "label": c.label,
            "numeric": c.numeric,
            "sort_query": (
                f"{base_query.urlencode()}&sort={'-' if sort == c.sort else ''}{c.sort}".lstrip("&")
                if c.sort
                else None
            ),
            "sorted": sort.lstrip("-") == c.sort if c.sort else False,
            "descending": sort.startswith("-"),
        }
        for c in columns
    ]
    adapted = map(row_adapter or (lambda r: r), page)
    body = [{"obj": row, "cells": [_cell(c, row) for c in columns]} for row in adapted]
    # Figures line up on the decimal point: each numeric column's fractions take the width of its
    # longest one on this page (a CSS class per width, ``dp-0`` … ``dp-18``).
    for i, header in enumerate(headers):
        if header["numeric"]:
            width = max((len(r["cells"][i]["fraction"]) for r in body), default=0)
            for r in body:
                r["cells"][i]["dp"] = f"dp-{max(width - 1, 0)}"
    return render(
        request,
        template,
        {
            **(extra or {}),
            "title": title,
            "intro": intro,
            "headers": headers,
            "rows": body,
            "page": page,
            "filter": filterset,
            "query": query.urlencode(),
            "csv_query": f"{query.urlencode()}&format=csv".lstrip("&"),
            "empty": empty,
            "actions": actions or [],
        },
        status=status,
    )
