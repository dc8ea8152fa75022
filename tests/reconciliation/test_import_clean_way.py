"""A clean generic CSV's short way (one COPY, one read-only check, the lines straight from staging),
the way back to every error by line when the file is not clean, and what the lines' table itself
refuses whichever way a line comes in."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from reconciliation.models import ExternalStatement, StatementLine
from reconciliation.statements import services
from reconciliation.statements.errors import StatementRefused
from reconciliation.statements.services import import_statement, preview_statement
from tests.reconciliation.factories import desk

AS_OF = "2026-03-02T17:00:00+00:00"


@pytest.fixture
def book(db):
    return desk(("BTC", 8), ("ETH", 18), ("USDC", 6))


def _import(actor, text: str):
    return import_statement(actor=actor, format="csv", channel="csv", as_of=AS_OF, data=text.encode())


def _nothing_stored():
    assert ExternalStatement.objects.count() == 0
    assert StatementLine.objects.count() == 0


def test_a_clean_csv_is_stored_without_the_line_by_line_pass(book, bob, monkeypatch):
    def no_text_way(*args, **kwargs):
        raise AssertionError("a clean file went the way that names faults by line")

    monkeypatch.setattr(services, "_stage", no_text_way)
    outcome = _import(
        bob,
        "account,asset,quantity\nINV-A,BTC,1.5\nINV-A,ETH,2\nINV-B,USDC,3\nINV-B,BTC,0\nINV-A,USDC,7.25\n",
    )
    assert (outcome.line_count, outcome.account_count, outcome.asset_count) == (5, 2, 3)
    counts = dict(ExternalStatement.objects.values_list("account__code", "line_count"))
    assert counts == {"INV-A": 3, "INV-B": 2}
    assert sorted(outcome.statement_ids) == sorted(ExternalStatement.objects.values_list("pk", flat=True))
    lines = {(ln.statement.account.code, ln.asset.symbol): ln.quantity for ln in StatementLine.objects.all()}
    assert lines == {
        ("INV-A", "BTC"): Decimal("1.5"),
        ("INV-A", "ETH"): Decimal("2"),
        ("INV-A", "USDC"): Decimal("7.25"),
        ("INV-B", "USDC"): Decimal("3"),
        ("INV-B", "BTC"): Decimal("0"),
    }


def test_a_clean_csv_with_parts_is_stored_with_them(book, bob):
    _import(
        bob,
        "account,asset,quantity,available,pending,locked,frozen\nINV-A,BTC,10,6,2,1,1\nINV-B,ETH,3,3,,,\n",
    )
    parts = {
        ln.asset.symbol: (ln.available, ln.pending, ln.locked, ln.frozen)
        for ln in StatementLine.objects.all()
    }
    assert parts == {"BTC": (6, 2, 1, 1), "ETH": (3, None, None, None)}


def test_an_asset_twice_for_an_account_in_an_otherwise_clean_file_is_named_by_line(book, bob):
    with pytest.raises(StatementRefused) as refused:
        _import(bob, "account,asset,quantity\nINV-A,BTC,1\nINV-A,ETH,1\nINV-B,BTC,1\nINV-A,BTC,2\n")
    assert [(e.line, e.field) for e in refused.value.errors] == [(5, "asset")]
    assert "first on line 2" in refused.value.errors[0].message
    assert refused.value.error_count == 1
    _nothing_stored()


def test_a_missing_quantity_in_an_otherwise_clean_file_is_refused_by_line(book, bob):
    text = "account,asset,quantity\nINV-A,BTC,1\nINV-A,ETH,\n"
    preview = preview_statement(actor=bob, format="csv", data=text.encode(), as_of=AS_OF)
    assert [(e.line, e.field, e.message) for e in preview.errors] == [(3, "quantity", "Missing.")]
    with pytest.raises(StatementRefused) as refused:
        _import(bob, text)
    assert [(e.line, e.field, e.message) for e in refused.value.errors] == [(3, "quantity", "Missing.")]
    _nothing_stored()


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ("INV-A,BTC,0.000000001", "quantity"),  # 9 places, BTC has 8
        ("INV-A,BTC,-1", "quantity"),
        ("INV-A,BTC,NaN", "quantity"),
        ("INV-C,BTC,1", "account"),
        ("INV-A,DOGE,1", "asset"),
    ],
)
def test_one_bad_row_among_clean_ones_refuses_the_file(book, bob, row, field):
    with pytest.raises(StatementRefused) as refused:
        _import(bob, f"account,asset,quantity\nINV-A,ETH,1\nINV-B,BTC,2\n{row}\nINV-B,USDC,4\n")
    assert [(e.line, e.field) for e in refused.value.errors] == [(4, field)]
    _nothing_stored()


def _insert_lines(rows):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO reconciliation_statementline (statement_id, asset_id, quantity) "
            "SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::numeric[])",
            [[r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]],
        )


def test_a_second_line_of_an_asset_on_a_statement_is_refused_by_the_database(book, bob):
    _accounts, assets = book
    _import(bob, "account,asset,quantity\nINV-A,BTC,1\n")
    statement = ExternalStatement.objects.get()
    with pytest.raises(IntegrityError):
        _insert_lines([(statement.pk, assets["BTC"].pk, 2)])
    assert StatementLine.objects.get().quantity == 1


def test_one_line_naming_a_missing_asset_or_statement_refuses_the_whole_insert(book, bob):
    _accounts, assets = book
    _import(bob, "account,asset,quantity\nINV-A,BTC,1\nINV-B,BTC,1\n")
    a, b = ExternalStatement.objects.order_by("account__code")
    good = [(a.pk, assets["ETH"].pk, 1), (b.pk, assets["ETH"].pk, 1), (b.pk, assets["USDC"].pk, 1)]
    with pytest.raises(IntegrityError, match="does not exist"):
        _insert_lines([*good, (a.pk, 987654, 1)])
    with pytest.raises(IntegrityError, match="does not exist"):
        _insert_lines([*good, (987654, assets["USDC"].pk, 1)])
    assert StatementLine.objects.count() == 2
    _insert_lines(good)  # the same lines without the bad one go in
    assert StatementLine.objects.count() == 5
