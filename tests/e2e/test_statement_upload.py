"""Statements in Chromium: treasury opens the upload from the Reconciliation menu, previews a CSV with
an error, fixes it, previews again and imports; the statement's page shows its lines (screenshots kept,
at 1280 px)."""

import pytest
from playwright.sync_api import expect

from reconciliation.models import ExternalStatement
from tests.browser import shot
from tests.conftest import PASSWORD
from tests.reconciliation.factories import desk

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_treasury_previews_a_statement_fixes_it_and_imports_it(
    login_page, live_server, personas, tmp_path, settings
):
    settings.RECONCILIATION_UPLOAD_DIR = tmp_path / "uploads"
    desk(("BTC", 8), ("ETH", 18), ("USDC", 6), accounts=("INV-MAIN", "INV-COLD"))
    bad = tmp_path / "custodian-bad.csv"
    bad.write_text(
        "account,asset,quantity,available,locked\n"
        "INV-MAIN,BTC,1250.5,1200.5,50\n"
        "INV-MAIN,DOGE,10,,\n"
        "INV-COLD,USDC,25000000.000001,25000000.000001,\n"
        "INV-COLD,ETH,12.3456789012345678901,,\n"
    )
    good = tmp_path / "custodian.csv"
    good.write_text(
        "account,asset,quantity,available,locked\n"
        "INV-MAIN,BTC,1250.5,1200.5,50\n"
        "INV-MAIN,ETH,3400,3400,\n"
        "INV-COLD,USDC,25000000.000001,25000000.000001,\n"
        "INV-COLD,ETH,12.345678901234567891,,\n"
    )
    page = login_page("tess", PASSWORD)
    page.set_viewport_size({"width": 1280, "height": 900})
    # "Statements" is the Reconciliation menu's entry (a menu of one shows as its link).
    nav = page.get_by_role("navigation", name="Main")
    menu = nav.get_by_role("button", name="Reconciliation")
    if menu.count():
        menu.click()
    nav.get_by_role("link", name="Statements").click()
    page.get_by_role("link", name="Upload a statement").click()

    page.fill("#id_as_of", "2026-03-02T17:00:00+00:00")
    page.set_input_files("#id_file", str(bad))
    page.get_by_test_id("preview-button").click()
    errors = page.get_by_test_id("preview-errors")
    expect(errors).to_contain_text("2 errors")
    expect(errors).to_contain_text("Unknown asset 'DOGE'")
    expect(errors).to_contain_text("More decimal places than ETH has (18)")
    expect(page.get_by_test_id("confirm-import")).to_have_count(0)
    shot(page, "statement-upload-errors")
    assert ExternalStatement.objects.count() == 0

    page.fill("#id_as_of", "2026-03-02T17:00:00+00:00")
    page.set_input_files("#id_file", str(good))
    page.get_by_test_id("preview-button").click()
    lines = page.get_by_test_id("preview-lines")
    expect(lines).to_contain_text("1,250.5")
    expect(lines).to_contain_text("25,000,000.000001")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    shot(page, "statement-upload-preview")
    page.get_by_test_id("confirm-import").click()
    expect(page.get_by_text("Imported 2 statements (4 lines, 2 accounts)")).to_be_visible()
    shot(page, "statement-list")
    assert ExternalStatement.objects.filter(source="upload").count() == 2

    statement = ExternalStatement.objects.get(account__code="INV-COLD")
    page.goto(f"{live_server.url}/reconciliation/statements/{statement.pk}/")
    expect(page.get_by_test_id("statement-lines")).to_contain_text("12.345678901234567891")
    shot(page, "statement-detail")
