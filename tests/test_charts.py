"""The chart component (borrowdesk/charts.py): a chart's JSON for the browser, its table and its CSV
carry the same figures, Decimals as exact strings, ratios drawn as percentages."""

from datetime import date
from decimal import Decimal

import pytest
from django.http import Http404
from django.template.loader import render_to_string
from django.test import RequestFactory

from borrowdesk.charts import Chart, ChartColumn, Level, chart_csv


def coverage_chart() -> Chart:
    return Chart(
        key="history",
        title="Coverage",
        kind="line",
        unit="ratio",
        axis_label="Business date",
        labels=[date(2026, 3, 2), date(2026, 3, 3)],
        columns=[
            ChartColumn("Coverage", [Decimal("1.523456"), None], "ratio", plot=True),
            ChartColumn("Exposure", [Decimal("1000.5"), Decimal("0")], "usd"),
        ],
        levels=[Level("Required", Decimal("1.5"))],
        newest_first=True,
    )


def test_the_json_carries_exact_figures_a_ratio_as_a_percentage_and_gaps_as_null():
    spec = coverage_chart().spec()
    assert spec["labels"] == ["2026-03-02", "2026-03-03"]
    assert spec["datasets"] == [{"label": "Coverage", "data": ["152.3456", None]}]
    assert spec["levels"] == [{"label": "Required", "value": "150", "tone": "ok"}]


def test_the_table_reads_like_the_desk_newest_first():
    rows = coverage_chart().rows
    assert [r["label"] for r in rows] == ["2026-03-03", "2026-03-02"]
    assert [[c["value"] for c in r["cells"]] for r in rows] == [["—", "$0.00"], ["152.3%", "$1,000.50"]]


def test_the_csv_has_the_table_figures_as_plain_numbers():
    request = RequestFactory().get("/", {"chart": "history", "format": "csv"})
    response = chart_csv(request, [coverage_chart()])
    assert response.content.decode().splitlines() == [
        "Business date,Coverage,Exposure",
        "2026-03-03,,0",
        "2026-03-02,1.523456,1000.5",
    ]


def test_no_csv_asked_is_none_and_an_unknown_chart_is_404():
    assert chart_csv(RequestFactory().get("/"), [coverage_chart()]) is None
    with pytest.raises(Http404):
        chart_csv(RequestFactory().get("/", {"chart": "other", "format": "csv"}), [coverage_chart()])


def test_a_column_must_have_a_value_per_label():
    with pytest.raises(ValueError, match="values for 2 labels"):
        Chart(
            key="k",
            title="t",
            kind="bar",
            unit="usd",
            axis_label="a",
            labels=["x", "y"],
            columns=[ChartColumn("c", [1])],
        )


def test_the_template_writes_data_not_script_and_no_inline_style():
    html = render_to_string("_chart.html", {"chart": coverage_chart()})
    assert '<script id="chart-history-data" type="application/json">' in html
    assert "<script>" not in html and "style=" not in html
    assert 'data-chart="chart-history-data"' in html and "chart.umd.min.js" in html
    assert "Dashed lines: Required 150.0%" in html


def test_a_chart_with_nothing_to_draw_shows_its_table_only():
    empty = Chart(
        key="e",
        title="t",
        kind="bar",
        unit="usd",
        axis_label="a",
        labels=[],
        columns=[],
        empty="Nothing pledged.",
    )
    html = render_to_string("_chart.html", {"chart": empty})
    assert "<canvas" not in html and "Nothing pledged." in html
