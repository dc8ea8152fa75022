"""In Chromium, the reconciliation journey: treasury uploads a CSV statement, previews it, imports it,
runs the reconciliation from the runs page, sees the breaks, and resolves one. Screenshots are kept under
test-artifacts/e2e/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from borrowdesk.business_day import business_date
from borrowdesk.celery import app
from reconciliation.models import ExternalStatement
from reconciliation.models_runs import Break, ReconciliationRun
from tests.browser import open_from_menu, shot
from tests.conftest import PASSWORD
from tests.inventory.factories import desk_asset, firm_account, stock

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

CSV = "account,asset,quantity\nINV-FORTIS-BTC,BTC,1250.45\nINV-FORTIS-BTC,SOL,12000\n"


@pytest.fixture
def eager_tasks():
    """The run's task runs where it is sent (no worker in this test): Celery's eager mode, restored."""
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def test_upload_preview_import_run_see_the_breaks_and_resolve_one(
    login_page, live_server, personas, eager_tasks, tmp_path
):
    btc, eth = desk_asset("BTC", 8), desk_asset("ETH", 18, "3000")
    desk_asset("SOL", 9, "150")
    main = firm_account("INV-FORTIS-BTC")
    stock(btc, main, "1250.5")
    stock(eth, main, "18000")
    statement_file = tmp_path / "fortis-btc.csv"
    statement_file.write_text(CSV)

    page = login_page("tess", PASSWORD)
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.set_viewport_size({"width": 1280, "height": 900})
    open_from_menu(page, "Statements", menu="Reconciliation")
    page.goto(f"{live_server.url}/reconciliation/statements/upload/")
    page.select_option("#id_format", "csv")
    page.fill("#id_as_of", business_date().isoformat())
    page.set_input_files("#id_file", str(statement_file))
    page.locator('[data-testid="preview-button"]').click()
    expect(page.locator('[data-testid="preview-lines"]')).to_contain_text("1,250.45")
    expect(page.locator('[data-testid="line-count"]')).to_have_text("2")
    assert ExternalStatement.objects.count() == 0  # nothing stored before the confirmation
    shot(page, "reconciliation-journey-1-preview")
    page.locator('[data-testid="confirm-import"]').click()  # confirm() is accepted by the fixture
    expect(page.locator(".alert-success")).to_be_visible()
    assert ExternalStatement.objects.count() == 1
    shot(page, "reconciliation-journey-2-imported")

    open_from_menu(page, "Runs", menu="Reconciliation")
    page.fill("#id_business_date", business_date().isoformat())
    page.select_option("#id_scope", "all")
    page.get_by_role("button", name="Run reconciliation").click()
    expect(page.locator(".alert-success")).to_contain_text("queued")
    page.reload()
    expect(page.locator("tbody tr").first).to_contain_text("Finished")
    assert ReconciliationRun.objects.get().status == "finished"
    shot(page, "reconciliation-journey-3-run")

    open_from_menu(page, "Breaks", menu="Reconciliation")
    expect(page.locator("tbody tr")).to_have_count(
        3
    )  # BTC mismatch, SOL missing in the book, ETH missing on it
    expect(page.locator("tbody")).to_contain_text("Missing in the book")
    shot(page, "reconciliation-journey-4-breaks")
    mismatch = Break.objects.get(kind="mismatch")
    page.locator(f'tr[data-id="{mismatch.pk}"] a').first.click()
    page.select_option("#id_resolve-reason", "timing")
    page.fill("#id_resolve-text", "A 0.05 BTC withdrawal settled after the statement's cut")
    page.locator('[data-testid="form-resolve"] button').click()
    expect(page.locator('[data-testid="break-status"]')).to_have_text("Resolved")
    shot(page, "reconciliation-journey-5-resolved")
    mismatch.refresh_from_db()
    assert (mismatch.status, mismatch.reason, mismatch.resolved_by.username) == ("resolved", "timing", "tess")
    assert problems == []
