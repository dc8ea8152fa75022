"""Sanctions in Chromium: an officer uploads OFAC's 17-entry subset, previews and confirms it; a second
officer confirms the first's false-positive proposal on the counterparty it newly names, and the
counterparty's held request goes back to the approval queue (screenshots kept)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from borrowdesk.access.services import create_desk_user
from compliance.models import KycProfile, SanctionsMatch
from compliance.tasks import rescreen_after_import
from requests_app.models import BorrowRequest
from tests.browser import shot
from tests.compliance.conftest import OFACTEST
from tests.conftest import PASSWORD
from tests.inventory.factories import desk_asset
from tests.refdata.factories import CounterpartyFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_an_upload_is_previewed_then_a_false_positive_is_cleared_by_two_officers(
    login_page, live_server, personas, monkeypatch
):
    from compliance.sanctions import services
    from requests_app.services import submit_request

    scheduled = []  # the import's rescreen task, kept here instead of sent to the broker
    monkeypatch.setattr(services, "_schedule_rescreen", scheduled.append)

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

    page = login_page("carl", PASSWORD)
    page.goto(f"{live_server.url}/compliance/sanctions/import/")
    page.set_input_files("#id_list_file", str(OFACTEST / "sdn.csv"))
    page.set_input_files("#id_alt_file", str(OFACTEST / "alt.csv"))
    page.set_input_files("#id_add_file", str(OFACTEST / "add.csv"))
    page.set_input_files("#id_comments_file", str(OFACTEST / "sdn_comments.csv"))
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_test_id("preview")).to_contain_text("OFAC SDN")
    expect(page.get_by_test_id("wallets")).to_have_text("32")
    shot(page, "sanctions-import-preview")
    page.get_by_test_id("confirm-import").click()
    expect(page.locator(".alert-success")).to_contain_text("is in force")
    shot(page, "sanctions-lists")

    # The import's rescreen, as its Celery task runs it (here, in this process).
    [version_id] = scheduled
    rescreen_after_import(version_id)
    assert BorrowRequest.objects.get(pk=request.pk).status == "compliance_hold"

    page.goto(f"{live_server.url}/compliance/sanctions/matches/")
    expect(page.locator("tbody")).to_contain_text("SUEXOTC")
    shot(page, "sanctions-matches")
    match = SanctionsMatch.objects.get(counterparty=suex)
    page.goto(f"{live_server.url}/compliance/sanctions/matches/{match.pk}/")
    expect(page.get_by_test_id("explanation")).to_contain_text("suex otc")
    page.fill("#propose-reason", "Another company: registered in Prague, not Moscow")
    page.get_by_role("button", name="Propose false positive").click()
    expect(page.get_by_test_id("awaiting-second")).to_be_visible()
    shot(page, "sanctions-match-proposed")

    second = login_page("cora", PASSWORD)
    second.goto(f"{live_server.url}/compliance/sanctions/matches/{match.pk}/")
    second.get_by_test_id("confirm-false-positive").click()
    expect(second.get_by_test_id("status")).to_have_text("False positive")
    shot(second, "sanctions-match-cleared")
    assert BorrowRequest.objects.get(pk=request.pk).status == "pending_approval"
