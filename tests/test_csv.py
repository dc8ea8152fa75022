"""CSV exports: a text a spreadsheet would run as a formula is written as text; numbers stay numbers.

Every list that offers ?format=csv writes through ``borrowdesk.pages.csv_response`` and
``borrowdesk.formatting.csv_cell``; each export is checked with a row whose text starts with one of
``= + - @``, tab or CR (OWASP's CSV injection), and with its figures unpadded and without separators.
"""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from borrowdesk.formatting import csv_cell
from inventory.services import open_loan, receive
from tests.inventory.factories import active_loan, desk_asset, firm_account
from tests.refdata.factories import (
    AssetFactory,
    CounterpartyFactory,
    CustodyAccountFactory,
    NetworkFactory,
    PriceFactory,
    VenueFactory,
)
from treasury.models import SettlementInstruction

FORMULAS = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]


@pytest.mark.parametrize("text", FORMULAS)
def test_a_text_starting_like_a_formula_is_written_as_text(text):
    assert csv_cell(text) == f"'{text}"


@pytest.mark.parametrize("text", ["BTC", "ACME Capital", "a=b", "", "1-2"])
def test_other_text_is_written_as_it_is(text):
    assert csv_cell(text) == text


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (Decimal("0E-18"), "0"),
        (Decimal("2.500000000000000000"), "2.5"),  # unpadded
        (Decimal("0.00000001"), "0.00000001"),  # 8 decimals, not 1E-8
        (Decimal("1.000000000000000001"), "1.000000000000000001"),  # 18 decimals
        (Decimal("18000000.000000000000000000"), "18000000"),  # millions, no separators
        (Decimal("-1234.5"), "-1234.5"),  # a negative number is a number, not a formula
    ],
)
def test_numbers_stay_numbers_unpadded_and_without_separators(value, cell):
    assert csv_cell(value) == cell


def test_other_cells():
    assert csv_cell(None) == ""
    assert csv_cell(-3) == -3 and csv_cell(True) is True
    assert csv_cell(datetime(2026, 12, 1, 9, 30, tzinfo=UTC)) == "2026-12-01T09:30:00+00:00"


def _rows(response) -> list[list[str]]:
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    return list(csv.reader(io.StringIO(response.content.decode())))


def _export(client, name, **query):
    return _rows(client.get(reverse(name), {"format": "csv", **query}))


# --- each export ----------------------------------------------------------------------------------


def test_counterparties_export_escapes_formulas(login, bob):
    CounterpartyFactory(code="EVIL", legal_name='=HYPERLINK("http://evil")', jurisdiction="GB")
    rows = _export(login(bob), "refdata:counterparty_list", jurisdiction="GB")
    assert rows[0][:4] == ["Code", "Legal name", "Kind", "Jurisdiction"]
    assert [r for r in rows if r[0] == "EVIL"] == [
        ["EVIL", '\'=HYPERLINK("http://evil")', "client", "GB", "medium", "True"]
    ]


def test_assets_export_escapes_formulas(login, bob):
    AssetFactory(symbol="EVL", name="@SUM(1+1)*cmd", decimals=8)
    rows = _export(login(bob), "refdata:asset_list")
    row = next(r for r in rows if r[0] == "EVL")
    assert row[1:3] == ["'@SUM(1+1)*cmd", "8"]  # the decimals stay a number


def test_networks_export_escapes_formulas(login, bob):
    NetworkFactory(code="evilnet", name="-1+cmd|' /C calc'!A0")
    row = next(r for r in _export(login(bob), "refdata:network_list") if r[0] == "evilnet")
    assert row[1] == "'-1+cmd|' /C calc'!A0"


def test_venues_export_escapes_formulas(login, bob):
    VenueFactory(code="EVILV", name="\tcmd", kind="exchange")
    row = next(r for r in _export(login(bob), "refdata:venue_list") if r[0] == "EVILV")
    assert row[1] == "'\tcmd"


def test_accounts_export_escapes_formulas(login, bob):
    CustodyAccountFactory(code="EVILACCT", address="=1+2")
    row = next(r for r in _export(login(bob), "refdata:account_list") if r[0] == "EVILACCT")
    assert row[3] == "'=1+2"


def test_prices_export_escapes_formulas_and_keeps_the_price_a_number(login, bob):
    PriceFactory(asset=AssetFactory(symbol="EVP"), price_usd=Decimal("18000000.12500000"), source="\r=evil")
    row = next(r for r in _export(login(bob), "refdata:price_list") if r[0] == "EVP")
    assert row[1] == "18000000.125"  # unpadded, no separators, no $
    assert row[3] == "'\r=evil"


def test_journals_export_escapes_formulas(login, bob, tess):
    asset = desk_asset("BTC", 8, "50000")
    journal = receive(
        actor=tess, asset=asset, account=firm_account(), quantity=Decimal("2.5"), reference="=cmd()"
    )
    row = next(r for r in _export(login(bob), "inventory:journals") if r[0] == str(journal.pk))
    assert "'=cmd()" in row and "=cmd()" not in row


def test_settlements_export_escapes_formulas_and_keeps_quantities_numbers(login, bob, tess, acme):
    asset = desk_asset("BTC", 8, "50000")
    account = firm_account()
    receive(actor=tess, asset=asset, account=account, quantity=Decimal("10"))
    loan = open_loan(
        actor=bob,
        request_id=None,
        counterparty=acme,
        asset=asset,
        account=account,
        quantity=Decimal("1.5"),
        rate_bps=Decimal("400"),
        term_days=None,
        hold_expires_at=None,
    )
    leg = SettlementInstruction.objects.filter(loan=loan).first() or SettlementInstruction.objects.create(
        kind="loan_delivery", loan=loan, asset=asset, from_account=account, quantity=Decimal("1.5")
    )
    SettlementInstruction.objects.filter(pk=leg.pk).update(status="failed", failure_reason="@SUM(A1:A9)")
    rows = _export(login(bob), "treasury:settlements")
    header, row = rows[0], next(r for r in rows[1:] if r[0] == str(leg.pk))
    assert row[header.index("Last failure")] == "'@SUM(A1:A9)"
    assert row[header.index("Quantity")] == "1.5"  # not 1.500000000000000000


def test_the_borrow_book_export_has_unpadded_quantities(login, bob, tess, acme):
    asset = desk_asset("BTC", 8, "50000")
    account = firm_account()
    receive(actor=tess, asset=asset, account=account, quantity=Decimal("10"))
    active_loan(actor=bob, counterparty=acme, asset=asset, account=account, quantity="4", rate_bps="365")
    rows = _export(login(bob), "inventory:loans")
    header, row = rows[0], rows[1]
    assert (row[header.index("Quantity")], row[header.index("Rate (bps)")]) == ("4", "365")


def test_the_requests_export_escapes_and_unpads(login, alice, acme, desk_config):
    from requests_app.services import submit_request

    asset = desk_asset("BTC", 8, "50000")
    submit_request(actor=alice, counterparty=acme, asset=asset, quantity=Decimal("1234567.5"))
    rows = _export(login(alice), "requests_app:export")
    header, row = rows[0], rows[1]
    assert row[header.index("quantity")] == "1234567.5"
