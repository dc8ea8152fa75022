"""Cases in Chromium: a list import names a client; its potential match opens a sanctions case and
holds the client's request. An officer works the case from the queue (assign, note, evidence) to a
proposed false positive; a second officer approves it, the case closes, the match is cleared and the
held request moves on to approval. Screenshots of the compliance home, the queue, the case at each
step and the backlog are kept."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from borrowdesk.access.services import create_desk_user
from compliance.cases import services as case_services
from compliance.cases.models import Case
from compliance.models import KycProfile, SanctionsMatch
from requests_app.models import BorrowRequest
from tests.browser import open_from_menu, shot
from tests.compliance.conftest import OFACTEST
from tests.conftest import PASSWORD
from tests.inventory.factories import desk_asset
from tests.refdata.factories import CounterpartyFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _other_cases(acme, globex):
    """A few cases of the other kinds, one of them past its SLA, so the queue reads like a real day."""
    late = case_services.open_or_join_case(
        kind="aml", counterparty=acme, subject="Notional 14× the 30-day average", priority="high"
    )
    Case.objects.filter(pk=late.pk).update(
        opened_at=timezone.now() - timedelta(days=3), sla_due_at=timezone.now() - timedelta(hours=5)
    )
    case_services.open_or_join_case(
        kind="kyc", counterparty=globex, subject="Periodic KYC review", priority="low"
    )
    case_services.open_or_join_case(kind="travel_rule", subject="Transfer 412: beneficiary VASP unknown")


def test_an_officer_works_a_sanctions_case_to_a_false_positive_with_a_second_officers_approval(
    login_page, live_server, personas, acme, globex, tmp_path, settings
):
    from compliance.sanctions.services import import_sanctions_list, rescreen_all
    from requests_app.services import submit_request

    settings.CASE_ATTACHMENT_DIR = tmp_path / "attachments"
    suex = CounterpartyFactory(code="SUEXOTC", legal_name="Suex OTC s.r.o.", risk_rating="low")
    KycProfile.objects.create(
        counterparty=suex,
        status="approved",
        risk_rating="low",
        expires_on=timezone.now().date() + timedelta(days=90),
    )
    sam = create_desk_user(username="sam", password=PASSWORD, roles=["trader"], counterparties=[suex])
    create_desk_user(username="cora", password=PASSWORD, roles=["compliance"])
    request = submit_request(
        actor=sam, counterparty=suex, asset=desk_asset("BTC", 8, "50000"), quantity=Decimal("1")
    )
    assert request.status == "pending_approval"
    _other_cases(acme, globex)

    # The list names SUEXOTC: the rescreen after the import finds the match, which opens the case.
    import_sanctions_list(actor=None, source_format="ofac-sdn-csv", path=OFACTEST, rescreen=False)
    rescreen_all()
    assert BorrowRequest.objects.get(pk=request.pk).status == "compliance_hold"
    case = Case.objects.get(kind="sanctions", counterparty=suex)

    page = login_page("carl", PASSWORD)
    open_from_menu(page, "Compliance home", menu="Compliance")
    expect(page.get_by_test_id("breaching-today")).to_contain_text("Notional 14")
    shot(page, "cases-compliance-home")
    open_from_menu(page, "Case queue", menu="Compliance")
    row = page.locator(f'tr[data-id="{case.pk}"]')
    expect(row).to_contain_text("SUEXOTC")
    shot(page, "cases-queue")
    row.get_by_role("link", name="Potential sanctions match: Suex OTC s.r.o.").click()
    expect(page.get_by_test_id("status")).to_have_text("Open")
    expect(page.get_by_test_id("timeline")).to_contain_text("sanctions match")

    # Work it: take it, note what was checked (htmx), attach the registry extract, propose the closure.
    page.get_by_test_id("assign").get_by_role("button", name="Assign", exact=True).click()
    expect(page.get_by_test_id("assignee")).to_have_text("carl")
    page.fill(
        "#note-text", "Czech commercial register: SUEX OTC s.r.o. is registered in Prague, ID 05224311."
    )
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_test_id("timeline")).to_contain_text("Czech commercial register")
    extract = tmp_path / "register-extract.txt"
    extract.write_text("Obchodni rejstrik: SUEX OTC s.r.o., Praha\n", encoding="utf-8")
    page.set_input_files("#attach-file", str(extract))
    page.get_by_test_id("attach").get_by_role("button", name="Attach", exact=True).click()
    expect(page.get_by_test_id("attachments")).to_contain_text("register-extract.txt")
    page.select_option("#close-disposition", "false_positive")
    page.fill("#close-reason", "Different company: registry number and address differ from the listed entry")
    page.get_by_test_id("close").get_by_role("button", name="Close", exact=True).click()
    expect(page.get_by_test_id("awaiting-second")).to_be_visible()
    expect(page.get_by_test_id("proposal")).to_contain_text("False positive by carl")
    shot(page, "cases-detail-proposed")
    assert BorrowRequest.objects.get(pk=request.pk).status == "compliance_hold"  # one officer is not enough

    second = login_page("cora", PASSWORD)
    second.goto(f"{live_server.url}/compliance/cases/{case.pk}/")
    second.fill("#approve-reason", "Agreed: the registry extract settles it")
    second.get_by_test_id("approve-closure").click()
    expect(second.get_by_test_id("status")).to_have_text("Closed")
    expect(second.get_by_test_id("disposition")).to_have_text("False positive")
    shot(second, "cases-detail-closed")

    assert SanctionsMatch.objects.get(counterparty=suex).status == "false_positive"
    assert BorrowRequest.objects.get(pk=request.pk).status == "pending_approval"

    open_from_menu(second, "Case backlog", menu="Compliance")
    expect(second.get_by_test_id("chart-ageing-table")).to_contain_text("AML")
    canvas = second.locator("[data-testid=chart-ageing] canvas")
    expect(canvas).to_have_attribute("data-drawn", "true")
    ticks = canvas.evaluate("c => window.Chart.getChart(c).scales.y.ticks.map(t => t.value)")
    assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks), ticks  # cases: 1, 2, never 0.5
    shot(second, "cases-backlog")
    widths = second.evaluate("document.documentElement.scrollWidth")
    assert widths <= 1440
