"""manage.py import_statements DIR: each file once by content hash; done/ and failed/ with its errors."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from reconciliation.models import ExternalStatement, StatementLine
from tests.reconciliation.factories import desk, map_account


@pytest.fixture
def book(db):
    return desk(("BTC", 8), ("ETH", 18))


def test_good_files_are_imported_and_moved_to_done(book, tmp_path):
    accounts, _assets = book
    map_account("bitgo", "w-1", accounts["INV-B"])
    (tmp_path / "custodian-2026-03-02.csv").write_text("account,asset,quantity\nINV-A,BTC,1\nINV-A,ETH,2\n")
    (tmp_path / "bitgo-wallets.json").write_text(
        json.dumps({"wallets": [{"id": "w-1", "coin": "btc", "balanceString": "5000"}]})
    )
    call_command("import_statements", str(tmp_path), "--as-of", "2026-03-02T17:00:00Z")
    assert sorted(p.name for p in (tmp_path / "done").iterdir()) == [
        "bitgo-wallets.json",
        "custodian-2026-03-02.csv",
    ]
    assert not list((tmp_path / "failed").iterdir())
    assert not [p for p in tmp_path.iterdir() if p.is_file()]
    feed = ExternalStatement.objects.get(source="feed")
    assert feed.imported_by is None and feed.line_count == 2 and feed.filename == "custodian-2026-03-02.csv"
    assert ExternalStatement.objects.get(source="bitgo").lines.get().quantity == Decimal("0.00005")


def test_a_bad_file_goes_to_failed_with_every_error_beside_it_and_nothing_stored(book, tmp_path):
    (tmp_path / "bad.csv").write_text("account,asset,quantity\nINV-A,BTC,1\nINV-A,XYZ,1\nNOPE,ETH,-1\n")
    with pytest.raises(CommandError, match="1 refused"):
        call_command("import_statements", str(tmp_path))
    assert (tmp_path / "failed" / "bad.csv").exists()
    report = (tmp_path / "failed" / "bad.csv.errors.txt").read_text()
    assert "line 3: asset: Unknown asset 'XYZ'." in report
    assert "line 4: account: Unknown account 'NOPE'." in report
    assert "line 4: quantity: Must not be negative: '-1'." in report
    assert ExternalStatement.objects.count() == 0 and StatementLine.objects.count() == 0


def test_the_same_file_dropped_again_is_not_imported_twice(book, tmp_path):
    text = "account,asset,quantity\nINV-A,BTC,1\n"
    (tmp_path / "a.csv").write_text(text)
    call_command("import_statements", str(tmp_path))
    (tmp_path / "a.csv").write_text(text)  # the feed sends it again
    (tmp_path / "a-copy.csv").write_text(text)  # and under another name
    call_command("import_statements", str(tmp_path))
    assert ExternalStatement.objects.count() == 1
    assert sorted(p.name for p in (tmp_path / "done").iterdir()) == ["a-copy.csv", "a.csv", "a.csv.1"]


def test_a_wrong_header_fails_the_file_naming_the_header(book, tmp_path):
    (tmp_path / "x.csv").write_text("acct,asset,qty\nINV-A,BTC,1\n")
    with pytest.raises(CommandError):
        call_command("import_statements", str(tmp_path))
    assert "line 1: header:" in (tmp_path / "failed" / "x.csv.errors.txt").read_text()
