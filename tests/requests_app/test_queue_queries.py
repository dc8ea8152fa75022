"""The approval queue's query: its shape (what the planner has to weigh), its fixed number of queries,
and rows identical to what the request's own page and API show."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from requests_app import selectors
from requests_app.models import BorrowRequest
from tests.refdata.factories import CustodyAccountFactory

QUEUE = "/api/v1/queues/approval/"
pytestmark = pytest.mark.django_db


@pytest.fixture
def with_accounts(submit, cleared_acme):
    """Three requests, two of them naming a settlement and a source account (set as the approval path
    would, so that every column the queue shows has a value)."""
    requests = [submit() for _ in range(3)]
    settle = CustodyAccountFactory(code="ACME-BTC-1", owner=cleared_acme, purpose="settlement")
    source = CustodyAccountFactory(code="INV-BTC-2", owner=None, purpose="inventory")
    BorrowRequest.objects.filter(pk__in=[r.pk for r in requests[:2]]).update(
        settlement_account=settle, source_account=source
    )
    return requests


def _from_clause(sql: str) -> str:
    """The main query's FROM … JOIN … (the selected columns' subqueries come before it)."""
    start = sql.index(' FROM "requests_app_borrowrequest"')
    return sql[start : sql.index(" WHERE ", start)]


def test_the_queue_query_joins_only_counterparty_and_asset(bob, with_accounts):
    sql = str(selectors.approval_queue(bob)[:50].query)
    joined = re.findall(r'JOIN "(\w+)"', _from_clause(sql))
    # Eight relations (six select_related and the anti-join) took the planner 10-60 ms; three plus
    # the anti-join plan in under one.
    assert joined == ["refdata_counterparty", "refdata_asset"]
    assert sql.count("NOT (EXISTS(SELECT") == 1


def test_queue_items_equal_the_requests_own_api_rendering(api, bob, with_accounts):
    items = api.as_user(bob).get(QUEUE).json()["results"]
    assert {i["id"] for i in items} == {r.pk for r in with_accounts}
    shown = {(i["settlement_account"], i["source_account"], i["requested_by"]) for i in items}
    assert shown == {("ACME-BTC-1", "INV-BTC-2", "alice"), (None, None, "alice")}
    for item in items:
        detail = api.as_user(bob).get(f"/api/v1/borrow-requests/{item['id']}/").json()
        same = set(item) & set(detail) - {"priority_score", "priority_parts"}  # live: age moves
        assert same >= {
            "settlement_account",
            "source_account",
            "requested_by",
            "counterparty",
            "asset",
            "loan",
        }
        assert {k: item[k] for k in same} == {k: detail[k] for k in same}


def test_the_queue_api_runs_the_same_queries_for_three_rows_or_thirty(
    api, bob, submit, with_accounts, django_assert_num_queries
):
    client = api.as_user(bob)
    # token auth, user's roles, count, the page (codes and requester as subqueries), availability
    with django_assert_num_queries(5):
        assert client.get(QUEUE).json()["count"] == 3
    for _ in range(27):
        submit()
    with django_assert_num_queries(5):
        assert client.get(QUEUE).json()["count"] == 30


def test_the_queue_page_runs_the_same_queries_for_three_rows_or_thirty(
    login, bob, submit, with_accounts, django_assert_num_queries
):
    client = login(bob)
    client.get(reverse("requests_app:queue"))
    with django_assert_num_queries(6) as captured:
        page = client.get(reverse("requests_app:queue")).content.decode()
    assert page.count('data-request="') == 3
    for _ in range(27):
        submit()
    with django_assert_num_queries(len(captured)):
        page = client.get(reverse("requests_app:queue")).content.decode()
    assert page.count('data-request="') == 30
