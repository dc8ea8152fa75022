"""Case pages: the compliance home (cases breaching their SLA today), the queue and my cases with SLA
timers, a case with its timeline and actions (htmx notes, the four-eyes closure), the backlog chart,
and the SLA check job."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from borrowdesk.access.services import create_desk_user
from borrowdesk.business_day import business_date, business_day_end
from borrowdesk.operations.models import JobRun
from compliance.cases import services
from compliance.cases.models import Case, CaseEvent
from compliance.cases.tasks import sla_check
from tests.conftest import PASSWORD

HOME = reverse("compliance:home")
QUEUE = reverse("compliance:cases")
MINE = reverse("compliance:my_cases")
BACKLOG = reverse("compliance:case_backlog")


@pytest.fixture
def cora(personas):
    return create_desk_user(username="cora", password=PASSWORD, roles=["compliance"])


def _due(case, at):
    Case.objects.filter(pk=case.pk).update(sla_due_at=at)


def _detail(pk):
    return reverse("compliance:case_detail", args=[pk])


def test_home_lists_the_cases_breaching_their_sla_today(login, carl, acme, globex):
    late = services.open_or_join_case(kind="aml", counterparty=acme, subject="Late one")
    _due(late, timezone.now() - timedelta(hours=2))
    later_today = services.open_or_join_case(kind="kyc", counterparty=acme, subject="Due tonight")
    _due(later_today, business_day_end(business_date()) - timedelta(minutes=1))
    tomorrow = services.open_or_join_case(kind="kyc", counterparty=globex, subject="Due tomorrow")
    _due(tomorrow, business_day_end(business_date()) + timedelta(hours=1))
    page = login(carl).get(HOME)
    assert page.status_code == 200
    shown = [case.subject for case in page.context["breaching"]]
    assert shown == ["Late one", "Due tonight"]
    html = page.content.decode()
    assert "Overdue by 2\u00a0h" in html and "Due tomorrow" not in html
    assert 'data-testid="overdue-cases">1<' in html and 'data-testid="open-cases">3<' in html


def test_queue_shows_sla_timers_and_filters(login, carl, acme, globex):
    late = services.open_or_join_case(kind="aml", counterparty=acme, subject="Late one", priority="low")
    _due(late, timezone.now() - timedelta(days=1, hours=3))
    services.open_or_join_case(kind="sanctions", counterparty=globex, subject="Fresh", priority="critical")
    client = login(carl)
    html = client.get(QUEUE).content.decode()
    assert (
        "Overdue by 1\u00a0d\u00a03\u00a0h" in html and "Due in 3\u00a0h" in html
    )  # critical sanctions: 4 h, minus a moment
    overdue = client.get(QUEUE, {"overdue": "true"})
    assert [row["obj"].subject for row in overdue.context["rows"]] == ["Late one"]
    assert client.get(QUEUE, {"kind": "nonsense"}).status_code == 400
    csv = client.get(QUEUE, {"format": "csv"})
    assert csv.status_code == 200 and b"Late one" in csv.content


def test_queue_runs_a_fixed_number_of_queries(login, carl, acme, globex, django_assert_num_queries):
    client = login(carl)
    client.get(QUEUE)
    for cp in (acme, globex):
        for kind in ("aml", "kyc", "sanctions", "travel_rule"):
            services.open_or_join_case(kind=kind, counterparty=cp, subject=f"{kind} {cp.code}")
    # session, user, roles, count, the page of cases with their counterparty, assignee, team (one join)
    with django_assert_num_queries(5):
        assert client.get(QUEUE).status_code == 200


def test_my_cases_lists_only_mine(login, carl, cora, acme, globex):
    mine = services.open_or_join_case(kind="aml", counterparty=acme, subject="Mine")
    services.assign_case(actor=carl, case=mine, user=carl)
    other = services.open_or_join_case(kind="aml", counterparty=globex, subject="Cora's")
    services.assign_case(actor=carl, case=other, user=cora)
    page = login(carl).get(MINE)
    assert [row["obj"].subject for row in page.context["rows"]] == ["Mine"]


def test_a_note_through_htmx_answers_the_timeline(login, carl, acme):
    case = services.open_or_join_case(kind="aml", counterparty=acme, subject="Spike")
    response = login(carl).post(
        reverse("compliance:case_note", args=[case.pk]),
        {"text": "Called the client."},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="timeline"') and "Called the client." in html
    assert "<html" not in html
    assert list(CaseEvent.objects.filter(case=case).values_list("kind", flat=True)) == ["opened", "note"]


def test_an_empty_note_through_htmx_shows_the_error_and_adds_nothing(login, carl, acme):
    case = services.open_or_join_case(kind="aml", counterparty=acme, subject="Spike")
    response = login(carl).post(
        reverse("compliance:case_note", args=[case.pk]), {"text": "  "}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and 'data-field="text"' in response.content.decode()
    assert CaseEvent.objects.filter(case=case).count() == 1


def test_four_eyes_closure_in_the_browser(login, client, carl, cora, acme):
    case = services.open_or_join_case(kind="sanctions", counterparty=acme, subject="Potential match")
    page = login(carl)
    proposed = page.post(
        reverse("compliance:case_close", args=[case.pk]), {"disposition": "false_positive", "reason": "Other"}
    )
    assert proposed.status_code == 302
    detail = page.get(_detail(case.pk)).content.decode()
    assert 'data-testid="awaiting-second"' in detail and 'data-testid="approve-closure"' not in detail
    refused = page.post(reverse("compliance:case_approve_closure", args=[case.pk]), {})
    assert refused.status_code == 200
    assert "second compliance officer" in refused.content.decode()
    assert Case.objects.get().status == "open"
    client.force_login(cora)
    assert 'data-testid="approve-closure"' in client.get(_detail(case.pk)).content.decode()
    done = client.post(reverse("compliance:case_approve_closure", args=[case.pk]), {"reason": "Agreed"})
    assert done.status_code == 302
    assert Case.objects.values_list("status", "disposition").get() == ("closed", "false_positive")


def test_a_case_of_another_team_is_a_404(login, carl, acme):
    from django.contrib.auth.models import Group

    team = Group.objects.create(name="compliance-emea")
    case = services.open_or_join_case(kind="aml", counterparty=acme, subject="S", team=team)
    client = login(carl)
    assert client.get(_detail(case.pk)).status_code == 404
    assert client.post(reverse("compliance:case_note", args=[case.pk]), {"text": "x"}).status_code == 404
    assert CaseEvent.objects.filter(case=case).count() == 1


def test_open_a_case_by_hand(login, carl, acme):
    client = login(carl)
    bad = client.post(
        reverse("compliance:case_new"),
        {"kind": "aml", "subject": "S", "counterparty": "NOPE", "priority": "low"},
    )
    assert bad.status_code == 200 and not Case.objects.exists()
    done = client.post(
        reverse("compliance:case_new"),
        {"kind": "aml", "subject": "S", "counterparty": "ACME", "priority": "low"},
    )
    case = Case.objects.get()
    assert done["Location"] == _detail(case.pk) and case.opened_by == carl


def test_backlog_counts_open_cases_by_kind_and_age(login, audrey, acme, globex, carl):
    old = services.open_or_join_case(kind="aml", counterparty=acme, subject="Old")
    Case.objects.filter(pk=old.pk).update(opened_at=timezone.now() - timedelta(days=10))
    services.open_or_join_case(kind="aml", counterparty=globex, subject="New")
    closed = services.open_or_join_case(kind="kyc", counterparty=acme, subject="Done")
    services.close_case(actor=carl, case=closed, disposition="cleared")
    page = login(audrey).get(BACKLOG)
    assert page.status_code == 200
    backlog = page.context["backlog"]
    assert backlog.counts["aml"] == [1, 0, 0, 1, 0] and backlog.counts["kyc"] == [0, 0, 0, 0, 0]
    assert 'data-testid="chart-ageing"' in page.content.decode()
    csv = login(audrey).get(BACKLOG, {"chart": "ageing", "format": "csv"})
    assert csv.status_code == 200
    assert csv.content.decode().splitlines()[2].startswith("AML,1,0,0,1,0")


def test_sla_check_flags_overdue_cases_once(acme, globex):
    late = services.open_or_join_case(kind="aml", counterparty=acme, subject="Late")
    _due(late, timezone.now() - timedelta(minutes=5))
    services.open_or_join_case(kind="aml", counterparty=globex, subject="On time")
    run = JobRun.objects.get(pk=sla_check())
    assert (run.outcome, run.counts) == ("succeeded", {"checked": 1, "flagged": 1})
    assert CaseEvent.objects.filter(kind="sla_breached").count() == 1
    assert Case.objects.get(pk=late.pk).sla_breached_at is not None
    assert sla_check.work(business_date()) == {"checked": 0, "flagged": 0}  # a second run flags nothing
    assert CaseEvent.objects.filter(kind="sla_breached").count() == 1
