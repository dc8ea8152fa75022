"""KYC in Chromium: the KYC list by status and review due, filtered; a counterparty's KYC page where an
officer uploads a document (a renamed .exe is refused on the page, a PDF is kept) and an auditor
downloads it (logged); the tables fit 1280 px (screenshots kept)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from borrowdesk.access.models import AccessLog
from borrowdesk.business_day import business_date
from compliance.models import KycDocument
from compliance.services import set_kyc
from tests.browser import shot
from tests.compliance.test_kyc_documents import EXE, PDF
from tests.conftest import PASSWORD
from tests.refdata.factories import CounterpartyFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture(autouse=True)
def document_dir(settings, tmp_path):
    settings.KYC_DOCUMENT_DIR = tmp_path / "kyc-documents"
    return settings.KYC_DOCUMENT_DIR


def test_an_officer_works_kyc_in_the_browser(login_page, live_server, personas, tmp_path):
    carl = personas["carl"]
    today = business_date()
    set_kyc(actor=carl, counterparty=_cp("ACME"), status="approved", risk_rating="low")
    set_kyc(
        actor=carl,
        counterparty=_cp("GLOBEX"),
        status="approved",
        risk_rating="medium",
        expires_on=today + timedelta(days=12),
    )
    set_kyc(
        actor=carl,
        counterparty=CounterpartyFactory(code="KESTREL", legal_name="Kestrel Digital Assets Ltd"),
        status="rejected",
        risk_rating="high",
    )
    set_kyc(
        actor=carl,
        counterparty=CounterpartyFactory(code="MARLIN", legal_name="Marlin Crypto Partners LP"),
        status="expired",
        risk_rating="medium",
        expires_on=timezone.now().date() - timedelta(days=3),
    )

    page = login_page("carl", PASSWORD)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/compliance/kyc/")
    expect(page.locator("table tbody tr")).to_have_count(4)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    shot(page, "kyc-list")
    page.select_option("#id_due", "30")
    page.get_by_role("button", name="Filter").click()
    # Due within 30 days: GLOBEX expiring in 12, MARLIN already expired; not ACME (36 months) or the
    # rejected KESTREL (not in review).
    expect(page.locator("table tbody tr")).to_have_count(2)
    expect(page.locator("table tbody")).to_contain_text("GLOBEX")
    expect(page.locator("table tbody")).to_contain_text("MARLIN")
    shot(page, "kyc-list-due")

    page.get_by_role("link", name="GLOBEX").click()
    expect(page.get_by_test_id("status")).to_have_text("Approved")
    exe = tmp_path / "invoice.pdf"
    exe.write_bytes(EXE)
    page.set_input_files("#id_file", str(exe))
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("[data-field=file]")).to_contain_text("not a PDF, PNG or JPEG")
    assert not KycDocument.objects.exists()
    pdf = tmp_path / "globex-register-extract.pdf"
    pdf.write_bytes(PDF)
    page.select_option("#id_kind", "incorporation")
    page.set_input_files("#id_file", str(pdf))
    page.fill("#id_description", "Companies House extract, November 2026")
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_test_id("documents")).to_contain_text("globex-register-extract.pdf")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    shot(page, "kyc-detail")

    auditor = login_page("audrey", PASSWORD)
    auditor.goto(f"{live_server.url}/compliance/kyc/GLOBEX/")
    with auditor.expect_download() as download:
        auditor.get_by_role("link", name="Download").click()
    saved = tmp_path / "downloaded.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes() == PDF
    assert download.value.suggested_filename.startswith("GLOBEX-incorporation-")
    assert AccessLog.objects.filter(user=personas["audrey"], view_name="compliance:kyc_document").count() == 1


def _cp(code):
    from borrowdesk.refdata.models import Counterparty

    return Counterparty.objects.get(code=code)
