"""The runs and breaks pages: the queue with its filters, a break's actions, runs, statistics, the gate
and the reconciled statement."""

from __future__ import annotations

import re

import pytest

from borrowdesk.business_day import business_date
from reconciliation.models_runs import Break, GateOverride, ReconciliationRun
from tests.inventory.factories import desk_asset, firm_account, stock
from tests.reconciliation.run_helpers import run, statement


@pytest.fixture
def book(desk_config):
    btc, sol = desk_asset("BTC", 8), desk_asset("SOL", 9, "150")
    main = firm_account("INV-MAIN")
    stock(btc, main, "12500")
    statement(main, {btc: "12499.5", sol: "3"})
    run()
    return {"btc": btc, "main": main}


def test_the_queue_lists_breaks_with_readable_figures_and_filters(book, client, mona):
    client.force_login(mona)
    page = re.sub(r"<[^>]+>", "", client.get("/reconciliation/breaks/").content.decode())
    assert "12,500" in page and "12,499.5" in page and "Missing in the book" in page
    assert "Today's pre-open reconciliation" in page and "2 open breaks" in page
    filtered = client.get("/reconciliation/breaks/?kind=missing_internal").content.decode()
    assert "SOL" in filtered and "12,499.5" not in filtered
    assert client.get("/reconciliation/breaks/?kind=nonsense").status_code == 400
    csv = client.get("/reconciliation/breaks/?format=csv").content.decode()
    assert csv.splitlines()[0].startswith("#,Date,Account,Asset,Kind")


def test_a_break_is_assigned_commented_and_resolved_from_its_page(book, client, bob, tess):
    brk = Break.objects.get(kind="mismatch")
    client.force_login(bob)
    url = f"/reconciliation/breaks/{brk.pk}/"
    assert client.post(url, {"action": "assign", "assign-owner": tess.pk}).status_code == 302
    assert client.post(url, {"action": "comment", "comment-text": "asked the custodian"}).status_code == 302
    bad = client.post(url, {"action": "resolve", "resolve-reason": "other", "resolve-text": ""})
    assert bad.status_code == 200 and "required" in bad.content.decode().lower()
    assert (
        client.post(
            url, {"action": "resolve", "resolve-reason": "timing", "resolve-text": "settles tomorrow"}
        ).status_code
        == 302
    )
    brk.refresh_from_db()
    assert (brk.status, brk.reason, brk.owner, brk.resolved_by) == ("resolved", "timing", tess, bob)
    page = client.get(url).content.decode()
    assert "asked the custodian" in page and "Timing: settles tomorrow" in page


def test_the_adjustment_page_is_ops_senior_only(book, client, bob, olivia):
    brk = Break.objects.get(kind="mismatch")
    client.force_login(bob)
    assert client.get(f"/reconciliation/breaks/{brk.pk}/adjust/").status_code == 403
    client.force_login(olivia)
    response = client.post(
        f"/reconciliation/breaks/{brk.pk}/adjust/", {"text": "receipt booked twice", "quantity": ""}
    )
    assert response.status_code == 302
    brk.refresh_from_db()
    assert brk.status == "resolved" and brk.reason == "booking_error" and brk.adjustment_id


def test_runs_page_starts_a_run(book, client, tess, django_capture_on_commit_callbacks):
    client.force_login(tess)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            "/reconciliation/runs/", {"business_date": business_date().isoformat(), "scope": "inventory"}
        )
    assert response.status_code == 302 and len(callbacks) == 1
    assert ReconciliationRun.objects.get(scope="inventory").status == "queued"
    bad = client.post("/reconciliation/runs/", {"business_date": "2999-01-01", "scope": "all"})
    assert bad.status_code == 200 and "today" in bad.content.decode()


def test_statistics_page_has_the_chart_and_its_table(book, client, audrey):
    client.force_login(audrey)
    page = client.get("/reconciliation/statistics/").content.decode()
    assert 'data-testid="chart-breaks-per-account"' in page and 'data-testid="chart-ageing"' in page
    assert "INV-MAIN" in page and "Median resolution time" in page
    assert client.get("/reconciliation/statistics/?chart=ageing&format=csv").status_code == 200


def test_the_gate_page_says_why_and_takes_an_override(book, client, olivia, settings):
    settings.RECONCILIATION_GATE = True
    client.force_login(olivia)
    page = client.get("/reconciliation/gate/").content.decode()
    assert "Nothing is held" in page  # today's run finished, the breaks are young
    Break.objects.update(opened_at=Break.objects.first().opened_at.replace(year=2020))
    page = client.get("/reconciliation/gate/").content.decode()
    assert "INV-MAIN: 2 open breaks older than" in page
    response = client.post(
        "/reconciliation/gate/", {"account": "INV-MAIN", "reason": "custodian confirmed by phone"}
    )
    assert response.status_code == 302 and GateOverride.objects.get().by == olivia
    assert "overridden" in client.get("/reconciliation/gate/").content.decode()


def test_the_approval_queue_says_why_final_approvals_are_held(book, client, bob, settings):
    settings.RECONCILIATION_GATE = True
    ReconciliationRun.objects.all().update(status="failed")
    client.force_login(bob)
    page = client.get("/requests/queue/").content.decode()
    assert 'data-testid="gate-notice"' in page and "is failed" in page


def test_the_reconciled_statement_page_and_csv(book, client, audrey, olivia):
    brk = Break.objects.get(kind="mismatch")
    from reconciliation.services.breaks import resolve_break

    resolve_break(actor=olivia, brk=brk, reason="fee", text="custody fee")
    client.force_login(audrey)
    query = f"account=INV-MAIN&business_date={business_date().isoformat()}"
    page = client.get(f"/reconciliation/reconciled/?{query}").content.decode()
    assert "12,499.5" in page and "Fee: custody fee" in page and "SOL" in page
    csv = client.get(f"/reconciliation/reconciled/?{query}&format=csv").content.decode().splitlines()
    assert csv[0].startswith("Account,Business date,Statement as of,Asset,Statement,Book,Difference")
    btc = next(line for line in csv if ",BTC," in line)
    assert ",12499.5,12500,-0.5," in btc and "fee" in btc and "custody fee" in btc
    assert client.get("/reconciliation/reconciled/?account=NOPE&business_date=2026-01-01").status_code == 400


def test_home_pages_say_whether_todays_pre_open_reconciliation_ran(book, client, bob, tess, mona):
    for user in (bob, tess, mona):
        client.force_login(user)
        page = client.get("/").content.decode()
        assert 'data-testid="pre-open-status"' in page, user.username
        assert (
            "Today's pre-open reconciliation" in page and "ran, finished" in page and "2 open breaks" in page
        )
    client.force_login(mona)
    from reconciliation.models_runs import ReconciliationRun as Run

    Run.objects.filter(scope="all").update(business_date="2020-01-01")
    assert "has not run" in client.get("/").content.decode()


def test_health_says_whether_todays_pre_open_reconciliation_ran(book, client):
    body = client.get("/api/v1/health/").json()
    section = body["reconciliation"]
    assert section["ran"] is True and section["status"] == "finished" and section["open_breaks"] == 2
    assert section["business_date"] == business_date().isoformat() and section["finished_at"]
    ReconciliationRun.objects.update(status="failed")
    assert client.get("/api/v1/health/").json()["reconciliation"]["ran"] is False
