"""Recall suggestions: the ranking with its parts and reasons, the plan against the quantity needed, the
page with its one-click recall through inventory's own recall, and its fixed query count.

The book (marks now: BTC 50,000, ETH 3,000, SOL 100; haircuts BTC 10 %, SOL 20 %; default levels:
return 1.75, critical 1.15; weights rate 40, term 20, coverage 25, relationship 15). The firm received
23 ETH and lent all of it:

    loan  counterparty  ETH  rate     term        exposure  collateral                  coverage
    L1    ACME          10   400 bps  open-ended  30,000    2 BTC x 50,000 x 0.9=90,000  3.0  (ok)
    L2    GLOBEX         5   200 bps  90 days     15,000    200 SOL x 100 x 0.8=16,000   1.066667 (critical)
    L3    INITECH        8   300 bps  open-ended  24,000    none                         0    (critical)

    rate:         GLOBEX lowest → 40; INITECH (400 - 300) / (400 - 200) = 0.5 → 20; ACME highest → 0
    term:         ACME, INITECH open-ended → 20; GLOBEX fixed → 0
    coverage:     ACME 3.0 above return 1.75 → 0; GLOBEX and INITECH at or below critical → 25
    relationship: GLOBEX 15,000 smallest → 15; INITECH (30,000 - 24,000) / 15,000 = 0.4 → 6; ACME → 0
    score:        GLOBEX 80, INITECH 71, ACME 20
"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest

from collateral.selectors.recall import LoanToRank, rank_candidates, recall_plan
from inventory.models import Recall
from tests.collateral import stress_helpers as s
from tests.collateral import valuation_helpers as h
from tests.inventory.factories import ledger_state
from tests.refdata.factories import CounterpartyFactory

D = Decimal
URL = "/collateral/recalls/"


@pytest.fixture
def book(desk_config, acme, globex):
    initech = CounterpartyFactory(code="INITECH")
    btc, eth, sol = h.asset("BTC"), h.asset("ETH"), h.asset("SOL")
    for a, p in ((btc, 50000), (eth, 3000), (sol, 100)):
        h.price(a, p)
    h.haircut(btc, 10)
    h.haircut(sol, 20)
    s.receive_from(eth, 23)
    loans = {
        "acme": s.loan(acme, eth, 10, rate_bps=400),
        "globex": s.loan(globex, eth, 5, rate_bps=200, term_days=90),
        "initech": s.loan(initech, eth, 8, rate_bps=300),
    }
    h.pledge(h.collateral_account(acme), btc, 2)
    h.pledge(h.collateral_account(globex), sol, 200)
    return {"eth": eth, "btc": btc, "sol": sol, "loans": loans, "initech": initech}


def test_loans_are_ranked_with_their_parts_and_reasons(book):
    plan = recall_plan(asset=book["eth"], demand=D("10"))
    ranked = [(c.loan.counterparty_code, c.score) for c in plan.candidates]
    assert ranked == [("GLOBEX", D("80")), ("INITECH", D("71")), ("ACME", D("20"))]
    globex, initech, acme = plan.candidates
    assert globex.parts == {"rate": D("40"), "term": D("0"), "coverage": D("25"), "relationship": D("15")}
    assert initech.parts == {"rate": D("20"), "term": D("20"), "coverage": D("25"), "relationship": D("6")}
    assert acme.parts == {"rate": D("0"), "term": D("20"), "coverage": D("0"), "relationship": D("0")}
    assert globex.reasons == [
        "rate 2.00 % (lowest of 3)",
        f"fixed term to {book['loans']['globex'].maturity_date.isoformat()}",
        "coverage 1.07 (below critical)",
        "relationship $15,000.00 open (smallest of 3)",
    ]
    assert initech.reasons == [
        "rate 3.00 % (2nd lowest of 3)",
        "open-ended: callable any day",
        "coverage 0.00 (below critical)",
        "relationship $24,000.00 open (2nd smallest of 3)",
    ]
    assert acme.reasons[0] == "rate 4.00 % (highest of 3)"
    assert acme.reasons[2:] == ["coverage 3.00 (ok)", "relationship $30,000.00 open (largest of 3)"]


def test_the_plan_takes_loans_in_order_until_the_need_is_covered(book):
    plan = recall_plan(asset=book["eth"], demand=D("10"))
    assert (plan.available, plan.in_flight, plan.gap) == (D("0"), D("0"), D("10"))
    assert [(p.candidate.loan.counterparty_code, p.quantity, p.cumulative) for p in plan.loans] == [
        ("GLOBEX", D("5"), D("5")),
        ("INITECH", D("5"), D("10")),  # 5 of its 8: the need is met
    ]
    assert plan.gap_left == 0
    more = recall_plan(asset=book["eth"], demand=D("30"))
    assert (more.recalled, more.gap_left) == (D("23"), D("7"))  # every loan, and still 7 short


def test_available_inventory_comes_first(book):
    s.receive_from(book["eth"], 4)
    plan = recall_plan(asset=book["eth"], demand=D("3"))
    assert (plan.available, plan.gap, plan.loans) == (D("4"), D("0"), [])


def test_weights_come_from_settings(book, settings):
    settings.COLLATERAL_RECALL_WEIGHTS = {"rate": 0, "term": 0, "coverage": 0, "relationship": 100}
    plan = recall_plan(asset=book["eth"], demand=D("1"))
    # relationship alone: GLOBEX 15,000 → 100; INITECH 0.4 → 40; ACME → 0
    assert [(c.loan.counterparty_code, c.score) for c in plan.candidates] == [
        ("GLOBEX", D("100")),
        ("INITECH", D("40")),
        ("ACME", D("0")),
    ]


def test_equal_rates_give_equal_points_and_a_mark_under_review_gives_none():
    loans = [
        LoanToRank(1, 10, "A", 1, "ETH", D("300"), None, None, D("5"), D("0")),
        LoanToRank(2, 11, "B", 1, "ETH", D("300"), None, None, D("5"), D("5")),  # all recalled already
    ]
    (only,) = rank_candidates(loans, coverage={})
    assert only.loan.loan_id == 1  # nothing left to recall on loan 2
    assert only.parts["rate"] == D("40") and only.reasons[0] == "rate 3.00 % (the only loan)"
    assert only.parts["coverage"] == 0 and "under review" in only.reasons[2]
    assert only.reasons[3] == "relationship unknown (no mark): no points"


def test_the_page_shows_the_ranking_and_the_need(login, bob, book):
    response = login(bob).get(URL, {"asset": "ETH", "quantity": "10"})
    assert response.status_code == 200
    body = response.content.decode()
    rows = re.findall(r'<tr data-id="(\d+)"( class="table-active" data-in-plan="1")?', body)
    loans = book["loans"]
    assert [(int(pk), bool(flag)) for pk, flag in rows] == [
        (loans["globex"].pk, True),
        (loans["initech"].pk, True),
        (loans["acme"].pk, False),
    ]
    assert "rate 2.00 % (lowest of 3)" in body
    assert "coverage 1.07 (below critical)" in body


def test_one_click_recalls_through_the_loans_own_recall(login, bob, book):
    client = login(bob)
    body = client.get(URL, {"asset": "ETH", "quantity": "10"}).content.decode()
    loan = book["loans"]["globex"]
    form = re.search(
        rf'<form method="post" action="(/inventory/loans/{loan.pk}/recall/)"[^>]*data-confirm="[^"]+">'
        r'.*?name="recall-quantity" value="([^"]+)".*?name="recall-due_at" value="([^"]+)"',
        body,
        re.S,
    )
    assert form is not None
    action, quantity, due_at = form.groups()
    assert quantity == "5"
    response = client.post(action, {"recall-quantity": quantity, "recall-due_at": due_at})
    assert response.status_code == 302
    (recall,) = Recall.objects.filter(loan=loan)
    assert recall.quantity == D("5")
    # The recall is in flight: the need left is 5, which INITECH's loan covers next.
    plan = recall_plan(asset=book["eth"], demand=D("10"))
    assert (plan.in_flight, plan.gap) == (D("5"), D("5"))
    assert [(p.candidate.loan.counterparty_code, p.quantity) for p in plan.loans] == [("INITECH", D("5"))]


def test_risk_sees_the_suggestions_but_recalls_are_operations(login, rita, mona, book):
    for user in (rita, mona):
        body = login(user).get(URL, {"asset": "ETH", "quantity": "10"}).content.decode()
        assert 'data-testid="suggestions"' in body
        assert 'data-testid="recall-form"' not in body


def test_traders_and_compliance_do_not_see_it(login, alice, carl, book):
    assert login(alice).get(URL).status_code == 403
    assert login(carl).get(URL).status_code == 403


@pytest.mark.parametrize(
    "query",
    [
        {"asset": "NOPE"},
        {"asset": "ETH", "quantity": "-1"},
        {"asset": "ETH", "quantity": "1e999"},
        {"asset": "ETH", "quantity": "abc"},
    ],
)
def test_bad_input_is_a_400_with_nothing_changed(login, bob, book, query):
    before = ledger_state()
    response = login(bob).get(URL, query)
    assert response.status_code == 400
    assert ledger_state() == before


def test_the_csv(login, bob, book):
    response = login(bob).get(URL, {"asset": "ETH", "quantity": "10", "format": "csv"})
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["Rank", "Loan", "Counterparty"]
    assert [r[2] for r in rows[1:]] == ["GLOBEX", "INITECH", "ACME"]
    assert rows[1][8] == "80" and rows[1][13] == "5"  # score, suggested recall


def test_the_page_takes_a_fixed_number_of_queries(login, bob, book, django_assert_num_queries):
    client = login(bob)
    client.get(URL)
    # 1. the session; 2. the user; 3. the user's roles; 4. the asset chosen; 5. availability;
    # 6. recalls in flight; 7. the asset's active loans; 8. the borrowers' coverage (the coverage SQL);
    # 9. the assets of the form's select
    with django_assert_num_queries(9):
        client.get(URL, {"asset": "ETH", "quantity": "10"})
    for i in range(5):
        cp = CounterpartyFactory(code=f"MORE{i}")
        s.receive_from(book["eth"], 1)
        s.loan(cp, book["eth"], 1, rate_bps=100 + i, term_days=30)
    with django_assert_num_queries(9):
        response = client.get(URL, {"asset": "ETH", "quantity": "10"})
    assert len(response.context["rows"]) == 8
