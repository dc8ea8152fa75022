"""Pages: the coverage table, the margin call queue with risk's actions, and the ops release form."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from borrowdesk.formatting import when
from collateral.models import MarginCall, Release
from collateral.services.valuation import revalue
from tests.collateral import valuation_helpers as h
from tests.refdata.factories import CounterpartyFactory

D = Decimal


@pytest.fixture
def book(desk_config, acme, globex):
    """ACME: 1 BTC owed against 100 SOL at 900 (1.80, ok). GLOBEX: the same with a 50 haircut (0.90,
    critical, called). Revalued once."""
    btc, sol = h.asset("BTC"), h.asset("SOL", decimals=4)
    now = timezone.now()
    h.price(btc, 50000, as_of=now - timedelta(minutes=1))
    h.price(sol, 900, as_of=now - timedelta(minutes=1))
    h.haircut(sol, 0)
    h.haircut(sol, 50, counterparty=globex)
    for cp in (acme, globex):
        h.pledge(h.collateral_account(cp), sol, 100)
        h.lend(cp, btc, 1)
    revalue()
    return {"btc": btc, "sol": sol}


def test_coverage_page_shows_states_as_badges(login, book, rita):
    response = login(rita).get("/collateral/coverage/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<span class="badge state-ok">Ok</span>' in html
    assert '<span class="badge state-critical">Critical</span>' in html
    assert '<span class="i">$90,000</span><span class="f">.00</span>' in html  # aligned on the point
    assert '<span class="i">$45,000</span>' in html
    assert 'data-testid="last-revaluation"' in html


def test_coverage_page_filters_by_state_and_sorts(login, book, rita):
    client = login(rita)
    response = client.get("/collateral/coverage/?state=critical")
    assert [row["obj"].counterparty.code for row in response.context["rows"]] == ["GLOBEX"]
    response = client.get("/collateral/coverage/?sort=-coverage_ratio")
    assert [row["obj"].counterparty.code for row in response.context["rows"]] == ["ACME", "GLOBEX"]
    assert client.get("/collateral/coverage/?state=nonsense").status_code == 400


def _row_html(html: str, code: str) -> str:
    """The table row of the page whose first cell names ``code``."""
    start = html.index(f">{code}</a></td>")
    return html[html.rindex("<tr", 0, start) : html.index("</tr>", start)]


def test_coverage_page_shows_ratios_as_percentages_and_links_to_the_risk_page(login, book, rita):
    html = login(rita).get("/collateral/coverage/").content.decode()
    globex = _row_html(html, "GLOBEX")
    # coverage 45,000 / 50,000 = 0.9 → 90.0 %; required 1.5 → 150.0 %; aligned on the point
    assert '<span class="i">90</span><span class="f">.0%</span>' in globex
    assert '<span class="i">150</span><span class="f">.0%</span>' in globex
    assert "0.9<" not in globex and "1.5<" not in globex
    assert '<a href="/collateral/counterparties/GLOBEX/">GLOBEX</a>' in globex
    assert '<a href="/collateral/counterparties/ACME/">ACME</a>' in html
    assert '<span class="i">180</span><span class="f">.0%</span>' in _row_html(html, "ACME")  # 1.8
    # the call's due time (date, time and zone) stays on one line
    due = MarginCall.objects.get(counterparty__code="GLOBEX").due_at
    assert f'<td class="text-nowrap">{when(due)}</td>' in globex


def test_margin_call_queue_shows_percentages_links_counterparties_and_keeps_due_on_one_line(
    login, book, rita, globex
):
    call = MarginCall.objects.get(counterparty=globex)
    html = login(rita).get("/collateral/margin-calls/").content.decode()
    row = html[html.index(f'<tr data-id="{call.pk}">') :]
    row = row[: row.index("</tr>")]
    assert '<a href="/collateral/counterparties/GLOBEX/">GLOBEX</a>' in row
    assert '<span class="i">90</span><span class="f">.0%</span>' in row  # coverage 0.9
    assert '<span class="i">150</span><span class="f">.0%</span>' in row  # required 1.5
    assert f'<td class="text-nowrap">{when(call.due_at)}</td>' in row
    detail = login(rita).get(f"/collateral/margin-calls/{call.pk}/").content.decode()
    assert "90.0% <span" in detail and "required 150.0%" in detail


def test_a_trader_follows_the_coverage_link_to_their_counterpartys_risk_page(login, book, alice):
    client = login(alice)
    html = client.get("/collateral/coverage/").content.decode()
    assert '<a href="/collateral/counterparties/ACME/">ACME</a>' in html
    assert client.get("/collateral/counterparties/ACME/").status_code == 200


def test_coverage_csv(login, book, rita):
    response = login(rita).get("/collateral/coverage/?format=csv&sort=counterparty__code")
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("Counterparty,State,Exposure,Collateral value,Coverage,Required")
    assert lines[1].startswith("ACME,ok,50000,90000,1.8,1.5,0,")
    assert lines[2].startswith("GLOBEX,critical,50000,45000,0.9,1.5,30000,30000,")


def test_trader_sees_only_their_counterparties_coverage(login, book, alice):
    response = login(alice).get("/collateral/coverage/")
    assert [row["obj"].counterparty.code for row in response.context["rows"]] == ["ACME"]


@pytest.mark.parametrize("count", [2, 20])
def test_list_pages_query_counts_are_fixed(login, book, rita, django_assert_num_queries, count):
    for i in range(count):
        cp = CounterpartyFactory(code=f"EXTRA{i}")
        h.pledge(h.collateral_account(cp), book["sol"], 1)
        h.lend(cp, book["btc"], "0.02")  # 1,000 of exposure against 900: each one is called
    revalue()
    assert MarginCall.objects.count() == count + 1
    client = login(rita)
    # session, user, roles, the last revaluation run, the page count, the page's rows (with their
    # levels and open call as subqueries)
    with django_assert_num_queries(6):
        response = client.get("/collateral/coverage/")
    assert len(response.context["rows"]) == count + 2
    # session, user, roles, the page count, the page's calls (with their counterparty)
    with django_assert_num_queries(5):
        response = client.get("/collateral/margin-calls/")
    assert len(response.context["rows"]) == count + 1


def test_margin_call_queue_and_detail(login, book, rita, globex):
    client = login(rita)
    call = MarginCall.objects.get(counterparty=globex)
    response = client.get("/collateral/margin-calls/")
    assert [row["obj"].pk for row in response.context["rows"]] == [call.pk]
    response = client.get(f"/collateral/margin-calls/{call.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="cancel-form"' in html and 'data-testid="escalate-form"' in html
    assert "$30,000.00" in html  # 75,000 - 45,000


def test_risk_cancels_from_the_page_and_a_refusal_is_shown(login, book, rita, globex):
    client = login(rita)
    call = MarginCall.objects.get(counterparty=globex)
    response = client.post(f"/collateral/margin-calls/{call.pk}/cancel/", {"cancel-reason": ""})
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    response = client.post(f"/collateral/margin-calls/{call.pk}/cancel/", {"cancel-reason": "agreed"})
    assert response.status_code == 302
    call.refresh_from_db()
    assert call.status == "cancelled"
    response = client.post(f"/collateral/margin-calls/{call.pk}/escalate/", {"escalate-reason": ""})
    assert response.status_code == 200
    assert "only an open call is escalated" in response.content.decode()


def test_ops_sees_the_call_without_actions_and_trader_of_another_gets_404(login, book, bob, alice, globex):
    call = MarginCall.objects.get(counterparty=globex)
    html = login(bob).get(f"/collateral/margin-calls/{call.pk}/").content.decode()
    assert "cancel-form" not in html
    assert login(alice).get(f"/collateral/margin-calls/{call.pk}/").status_code == 404


def _release_form(**fields):
    return {
        "counterparty": "ACME",
        "account": "COLL-ACME-CUST1",
        "asset": "SOL",
        "quantity": "10",
        "reference": "",
        **fields,
    }


def test_release_form_previews_the_coverage_after(login, book, bob):
    response = login(bob).post("/collateral/releases/new/", _release_form(quantity="20", preview="1"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="coverage-after">144.0%<' in html  # 80 x 900 / 50,000
    assert "Would be refused" in html
    assert not Release.objects.exists()


def test_release_form_refuses_below_required_with_the_message(login, book, bob):
    response = login(bob).post("/collateral/releases/new/", _release_form(quantity="17"))
    assert response.status_code == 200
    assert "below the required 1.50" in response.content.decode()
    assert not Release.objects.exists()


def test_release_form_releases_and_says_the_coverage_after(login, book, bob):
    client = login(bob)
    response = client.post("/collateral/releases/new/", _release_form(quantity="16"), follow=True)
    assert response.redirect_chain[-1][0] == "/collateral/coverage/?counterparty=ACME"
    assert "Released 16 SOL to ACME (coverage after: 151.2%)." in response.content.decode()
    assert Release.objects.get().quantity == D("16")


@pytest.mark.parametrize(
    "url",
    [
        "/collateral/margin-calls/99999999999999999999999/",
        "/collateral/coverage/?counterparty=%00",
        "/collateral/coverage/?page=x&sort=%00",
        "/collateral/margin-calls/?status=%00",
    ],
)
def test_hostile_page_reads_never_500(login, book, rita, url):
    assert login(rita).get(url).status_code in (200, 400, 404)
