"""The generic CSV import: parse → validate → load, a bad file refused whole with every error by line."""

from __future__ import annotations

from decimal import Decimal

import pytest

from reconciliation.models import ExternalStatement, StatementLine
from reconciliation.statements.errors import AlreadyImported, StatementRefused
from reconciliation.statements.services import import_statement, preview_statement
from tests.reconciliation.factories import desk

AS_OF = "2026-03-02T17:00:00+00:00"


@pytest.fixture
def book(db):
    return desk(("BTC", 8), ("ETH", 18), ("USDC", 6))


def _import(actor, text: str, **kw):
    return import_statement(actor=actor, format="csv", channel="csv", as_of=AS_OF, data=text.encode(), **kw)


def _nothing_stored():
    assert ExternalStatement.objects.count() == 0
    assert StatementLine.objects.count() == 0


def test_a_good_csv_makes_one_statement_per_account_with_its_lines(book, bob):
    outcome = _import(
        bob,
        "account,asset,quantity\nINV-A,BTC,1.5\nINV-A,ETH,2\nINV-B,USDC,1000000.25\n",
        filename="s.csv",
    )
    assert (outcome.line_count, outcome.account_count, len(outcome.statement_ids)) == (3, 2, 2)
    a = ExternalStatement.objects.get(account__code="INV-A")
    assert a.source == "csv" and a.imported_by == bob and a.line_count == 2 and a.filename == "s.csv"
    assert a.as_of.isoformat() == "2026-03-02T17:00:00+00:00"
    assert {(ln.asset.symbol, ln.quantity) for ln in a.lines.all()} == {
        ("BTC", Decimal("1.5")),
        ("ETH", Decimal("2")),
    }
    assert StatementLine.objects.get(asset__symbol="USDC").quantity == Decimal("1000000.25")


def test_optional_parts_are_stored_and_must_add_up(book, bob):
    _import(bob, "account,asset,quantity,available,locked,pending,frozen\nINV-A,BTC,10,6,2,1,1\n")
    line = StatementLine.objects.get()
    assert (line.available, line.locked, line.pending, line.frozen) == (6, 2, 1, 1)


def test_a_bad_file_is_refused_whole_with_every_error_by_line(book, bob):
    text = (
        "account,asset,quantity\n"
        "INV-A,BTC,1\n"  # 2: fine
        "NOPE,BTC,1\n"  # 3: unknown account
        "INV-A,XYZ,1\n"  # 4: unknown asset
        "INV-B,BTC,abc\n"  # 5: not a number
        "INV-B,USDC,1.0000001\n"  # 6: more places than USDC's 6
        "INV-B,ETH,-3\n"  # 7: negative
        "INV-A,BTC,2\n"  # 8: BTC again for INV-A
        "INV-A,USDC,123456789012345678901\n"  # 9: does not fit NUMERIC(38,18)
        "INV-A,ETH,\n"  # 10: missing
    )
    with pytest.raises(StatementRefused) as refused:
        _import(bob, text)
    got = [(e.line, e.field) for e in refused.value.errors]
    assert got == [
        (3, "account"),
        (4, "asset"),
        (5, "quantity"),
        (6, "quantity"),
        (7, "quantity"),
        (8, "asset"),
        (9, "quantity"),
        (10, "quantity"),
    ]
    messages = {e.line: e.message for e in refused.value.errors}
    assert "Unknown account 'NOPE'" in messages[3]
    assert "Unknown asset 'XYZ'" in messages[4]
    assert "Not a decimal number: 'abc'" in messages[5]
    assert "More decimal places than USDC has (6)" in messages[6]
    assert "negative" in messages[7]
    assert "first on line 2" in messages[8]
    assert "Too large" in messages[9]
    assert messages[10] == "Missing."
    assert refused.value.error_count == 8
    _nothing_stored()


def test_parts_that_do_not_add_up_or_exceed_the_total_are_refused(book, bob):
    text = "account,asset,quantity,available,pending,locked,frozen\nINV-A,BTC,10,6,2,1,2\nINV-B,BTC,1,2,,,\n"
    with pytest.raises(StatementRefused) as refused:
        _import(bob, text)
    assert [(e.line, e.field) for e in refused.value.errors] == [(2, "quantity"), (3, "available")]
    _nothing_stored()


@pytest.mark.parametrize(
    "header",
    [
        "account,asset,qty",
        "asset,account,quantity",
        "",
        "account,asset,quantity,colour",
        "account,asset,quantity,locked,locked",
    ],
)
def test_a_wrong_header_is_refused_naming_it(book, bob, header):
    with pytest.raises(StatementRefused) as refused:
        _import(bob, f"{header}\nINV-A,BTC,1\n")
    (error,) = refused.value.errors
    assert (error.line, error.field) == (1, "header")
    assert "account,asset,quantity" in error.message
    _nothing_stored()


def test_rows_of_the_wrong_shape_are_each_named_by_line(book, bob):
    text = "account,asset,quantity\nINV-A,BTC,1\nINV-A,ETH\nINV-B,BTC,1,7\n\nINV-B,USDC,oops\n"
    with pytest.raises(StatementRefused) as refused:
        _import(bob, text)
    assert [(e.line, e.field) for e in refused.value.errors] == [(3, "file"), (4, "file"), (6, "quantity")]
    _nothing_stored()


def test_a_bom_crlf_and_quoted_values_are_read(book, bob):
    outcome = _import(bob, '\ufeffaccount,asset,quantity\r\n"INV-A","BTC","0.5"\r\nINV-B,ETH,1\r\n')
    assert outcome.line_count == 2
    assert StatementLine.objects.get(asset__symbol="BTC").quantity == Decimal("0.5")


def test_a_file_is_imported_once_by_its_content_hash(book, bob, tess):
    text = "account,asset,quantity\nINV-A,BTC,1\n"
    first = _import(bob, text)
    with pytest.raises(AlreadyImported) as again:
        _import(
            tess,
            text,
        )
    assert again.value.status == 409 and again.value.code == "already_imported"
    assert ExternalStatement.objects.count() == 1
    assert ExternalStatement.objects.get().content_hash == first.content_hash


def test_the_preview_shows_lines_and_errors_and_stores_nothing(book, bob):
    good = preview_statement(
        actor=bob, format="csv", data=b"account,asset,quantity\nINV-A,BTC,1.25\n", as_of=AS_OF
    )
    assert good.ok and [(p.line, p.account, p.asset, p.quantity) for p in good.preview] == [
        (2, "INV-A", "BTC", Decimal("1.25"))
    ]
    bad = preview_statement(
        actor=bob, format="csv", data=b"account,asset,quantity\nINV-A,ZZZ,1\n", as_of=AS_OF
    )
    assert not bad.ok and [(e.line, e.field) for e in bad.errors] == [(2, "asset")]
    _nothing_stored()


@pytest.mark.parametrize("persona", ["alice", "rita", "carl", "mona", "audrey", "pete", "olivia"])
def test_roles_other_than_ops_and_treasury_may_not_import(book, personas, persona):
    from borrowdesk.errors import PermissionDeniedError

    if persona == "olivia":  # ops_senior is operations: allowed
        _import(personas[persona], "account,asset,quantity\nINV-A,BTC,1\n")
        return
    with pytest.raises(PermissionDeniedError):
        _import(personas[persona], "account,asset,quantity\nINV-A,BTC,1\n")
    _nothing_stored()


def test_statements_and_lines_are_append_only(book, bob):
    from django.db import InternalError, connection, transaction

    _import(bob, "account,asset,quantity\nINV-A,BTC,1\n")
    with pytest.raises(InternalError), transaction.atomic():
        StatementLine.objects.update(quantity=2)
    with pytest.raises(InternalError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM reconciliation_statementline")
    with pytest.raises(InternalError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE reconciliation_externalstatement SET line_count = 0")


def test_a_line_for_a_statement_that_does_not_exist_is_refused_by_the_database(book, bob):
    from django.db import IntegrityError, connection, transaction

    accounts, assets = book
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO reconciliation_statementline (statement_id, asset_id, quantity) "
            "VALUES (987654, %s, 1)",
            [assets["BTC"].pk],
        )


def test_a_line_for_an_asset_that_does_not_exist_is_refused_by_the_database(book, bob):
    from django.db import IntegrityError, connection, transaction

    _import(bob, "account,asset,quantity\nINV-A,BTC,1\n")
    statement = ExternalStatement.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO reconciliation_statementline (statement_id, asset_id, quantity) "
            "VALUES (%s, 987654, 1)",
            [statement.pk],
        )


def test_an_asset_named_by_a_statement_line_cannot_be_deleted_even_in_sql(book, bob):
    from django.db import IntegrityError, connection, transaction

    _accounts, assets = book
    _import(bob, "account,asset,quantity\nINV-A,USDC,1\n")
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM refdata_asset WHERE id = %s", [assets["USDC"].pk])
    assert StatementLine.objects.filter(asset=assets["USDC"]).exists()


def test_a_clean_csv_goes_to_the_database_by_copy_never_row_by_row(book, bob, monkeypatch):
    from reconciliation.statements import adapters

    calls = []
    original = adapters.parse_csv

    def spy(data, *, rows):
        calls.append(rows)
        return original(data, rows=rows)

    monkeypatch.setattr(adapters, "parse_csv", spy)
    text = "account,asset,quantity\n" + "".join(
        f"INV-A,{s},{i}.5\n" for i, s in enumerate(["BTC", "ETH", "USDC"])
    )
    assert _import(bob, text).line_count == 3
    assert calls == [False]  # the header only; the rows went by COPY


def test_a_blank_line_inside_a_csv_still_imports_with_the_right_line_numbers(book, bob):
    with pytest.raises(StatementRefused) as refused:
        _import(bob, "account,asset,quantity\nINV-A,BTC,1\n\nINV-A,XYZ,1\n")
    assert [(e.line, e.field) for e in refused.value.errors] == [(4, "asset")]
    assert _import(bob, "account,asset,quantity\nINV-A,BTC,1\n\nINV-A,ETH,1\n").line_count == 2
