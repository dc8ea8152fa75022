"""Inventory pages: positions, availability, journals, the borrow book, a loan's page and its forms,
receipts and adjustments. Desk roles see them; traders see their counterparties' loans only."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from borrowdesk.business_day import business_date
from inventory.models import Journal, Loan, Recall
from inventory.services import propose_rerate, recall_loan
from tests.inventory.factories import active_loan, ledger_state, stock
from tests.refdata.factories import CustodyAccountFactory

DESK_PAGES = ["inventory:positions", "inventory:availability", "inventory:journals", "inventory:loans"]


def _text(response):
    return response.content.decode()


# --- who sees what -----------------------------------------------------------------------------------


@pytest.mark.parametrize("page", DESK_PAGES)
@pytest.mark.parametrize("who", ["bob", "olivia", "rita", "carl", "tess", "mona", "audrey", "adam"])
def test_desk_roles_see_the_inventory_pages(login, personas, loan, page, who):
    # Compliance reads the ledger but not the borrow book (loans.view), as its navigation says.
    expected = 403 if (who, page) == ("carl", "inventory:loans") else 200
    assert login(personas[who]).get(reverse(page)).status_code == expected


@pytest.mark.parametrize(
    "page", ["inventory:positions", "inventory:availability", "inventory:journals", "inventory:receipt"]
)
def test_traders_are_refused_the_ledger_pages(login, alice, stocked, page):
    assert login(alice).get(reverse(page)).status_code == 403


def test_pages_ask_for_a_login(client, stocked):
    response = client.get(reverse("inventory:positions"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_trader_sees_only_their_counterparties_in_the_borrow_book(
    login, alice, bob, loan, globex, btc, stocked
):
    other = active_loan(actor=bob, counterparty=globex, asset=btc, account=stocked, quantity="1")
    text = _text(login(alice).get(reverse("inventory:loans")))
    assert f'data-id="{loan.pk}"' in text and f'data-id="{other.pk}"' not in text


def test_another_counterpartys_loan_page_is_404_to_a_trader(login, tom, loan):
    assert login(tom).get(reverse("inventory:loan_detail", args=[loan.pk])).status_code == 404


# --- positions, availability, journals ---------------------------------------------------------------


def test_positions_show_buckets_side_by_side_right_aligned(login, bob, loan):
    text = _text(login(bob).get(reverse("inventory:positions")))
    assert 'data-id="BTC-INV-MAIN"' in text
    assert '<td class="num dp-0"><span class="i">6</span><span class="f"></span></td>' in text
    assert '<td class="num dp-0"><span class="i">4</span><span class="f"></span></td>' in text


def test_positions_filter_in_the_query_string(login, bob, stocked, tess):
    from tests.inventory.factories import desk_asset

    stock(desk_asset("ETH", 18, "3000"), stocked, "5", actor=tess)
    text = _text(login(bob).get(reverse("inventory:positions"), {"asset": "ETH"}))
    assert 'data-id="ETH-INV-MAIN"' in text and 'data-id="BTC-INV-MAIN"' not in text


def test_positions_export_as_csv(login, bob, loan):
    response = login(bob).get(reverse("inventory:positions"), {"format": "csv"})
    assert response["Content-Type"] == "text/csv"
    lines = response.content.decode().splitlines()
    assert lines[0] == "Asset,Account,Venue,Available,Allocated,On loan,In transit"
    assert lines[1:] == ["BTC,INV-MAIN,CUST1,6,0,4,0"]  # quantities unpadded (not 6.000000000000000000)


def test_the_positions_page_runs_a_fixed_number_of_queries(
    login, bob, stocked, btc, tess, django_assert_num_queries
):
    client = login(bob)
    client.get(reverse("inventory:positions"))
    # session, user, user's roles, count of rows, page of rows (buckets summed per asset and account)
    with django_assert_num_queries(5):
        client.get(reverse("inventory:positions"))
    for i in range(5):
        stock(btc, CustodyAccountFactory(code=f"INV-{i}"), "1", actor=tess)
    with django_assert_num_queries(5):
        response = client.get(reverse("inventory:positions"))
    assert _text(response).count('data-id="BTC-INV-') == 6


def test_availability_shows_utilization(login, bob, loan):
    text = _text(login(bob).get(reverse("inventory:availability")))
    assert 'data-id="BTC"' in text and "40%" in text


def test_availability_exports_as_csv(login, bob, loan):
    response = login(bob).get(reverse("inventory:availability"), {"format": "csv"})
    assert response.content.decode().splitlines() == [
        "Asset,Available,Allocated,On loan,Utilization",
        "BTC,6,0,4,0.4",  # unpadded
    ]


def test_the_journal_browser_filters_by_kind(login, bob, loan):
    text = _text(login(bob).get(reverse("inventory:journals"), {"kind": "delivery"}))
    delivery = Journal.objects.get(kind="delivery")
    assert f'data-id="{delivery.pk}"' in text
    assert f'data-id="{Journal.objects.get(kind="receipt").pk}"' not in text


def test_the_journal_browser_paginates(login, bob, btc, account, tess):
    for _ in range(51):
        stock(btc, account, "1", actor=tess)
    client = login(bob)
    assert "Page 1 of 2" in _text(client.get(reverse("inventory:journals")))
    assert _text(client.get(reverse("inventory:journals"), {"page": 2})).count("<tr data-id=") == 1


# --- the borrow book ---------------------------------------------------------------------------------


def test_the_borrow_book_shows_the_buy_in_and_maturity_flags(login, bob, loan):
    recall = recall_loan(
        actor=bob, loan=loan, quantity=Decimal(1), due_at=timezone.now() + timedelta(hours=1)
    )
    Recall.objects.filter(pk=recall.pk).update(due_at=timezone.now() - timedelta(minutes=1))
    Loan.objects.filter(pk=loan.pk).update(maturity_date=business_date() - timedelta(days=1))
    text = _text(login(bob).get(reverse("inventory:loans")))
    assert ">buy-in</span>" in text and ">past maturity</span>" in text


def test_the_borrow_book_filters_by_status(login, bob, loan, globex, btc, stocked):
    from inventory.services import return_loan

    other = active_loan(actor=bob, counterparty=globex, asset=btc, account=stocked, quantity="1")
    return_loan(actor=bob, loan=other, quantity=Decimal(1))
    text = _text(login(bob).get(reverse("inventory:loans"), {"status": "closed"}))
    assert f'data-id="{other.pk}"' in text and f'data-id="{loan.pk}"' not in text


def test_the_borrow_book_exports_flags_in_csv(login, bob, loan):
    lines = login(bob).get(reverse("inventory:loans"), {"format": "csv"}).content.decode().splitlines()
    assert lines[0].endswith("Accrued fee,Recalled,Buy-in,Past maturity")
    assert lines[1].endswith(",False,False") and len(lines) == 2


def test_the_borrow_book_runs_a_fixed_number_of_queries(
    login, bob, loan, btc, stocked, acme, django_assert_num_queries
):
    client = login(bob)
    client.get(reverse("inventory:loans"))
    # session, user, user's roles, count, page of loans (fee, recall, rate and flag subqueries)
    with django_assert_num_queries(5):
        client.get(reverse("inventory:loans"))
    for _ in range(4):
        active_loan(actor=bob, counterparty=acme, asset=btc, account=stocked, quantity="1")
    with django_assert_num_queries(5):
        response = client.get(reverse("inventory:loans"))
    assert _text(response).count('data-testid="flags"') == 5


# --- a loan's page and its forms ---------------------------------------------------------------------


def test_the_loan_page_offers_operations_its_forms_with_csrf(loan, bob):
    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)
    text = _text(client.get(reverse("inventory:loan_detail", args=[loan.pk])))
    for form in ("return-form", "recall-form", "rerate-form"):
        assert f'data-testid="{form}"' in text
    assert "csrfmiddlewaretoken" in text and "data-confirm=" in text  # asked by static/js, not inline


def test_a_trader_sees_the_loan_page_without_the_desk_forms(login, alice, loan):
    text = _text(login(alice).get(reverse("inventory:loan_detail", args=[loan.pk])))
    assert "Loan #" in text and 'data-testid="return-form"' not in text


def test_returning_from_the_loan_page_redirects_to_it(login, bob, loan):
    response = login(bob).post(reverse("inventory:loan_return", args=[loan.pk]), {"return-quantity": "1"})
    assert response.status_code == 302 and response["Location"] == reverse(
        "inventory:loan_detail", args=[loan.pk]
    )
    loan.refresh_from_db()
    assert loan.open_quantity == Decimal(3)


def test_a_refused_return_re_renders_the_page_with_the_error(login, bob, loan):
    before = ledger_state()
    response = login(bob).post(reverse("inventory:loan_return", args=[loan.pk]), {"return-quantity": "5"})
    assert response.status_code == 200
    assert 'data-field="return-quantity"' in _text(response) and "At most 4." in _text(response)
    assert "4.000000000000000000" not in _text(response)  # no padding in the message
    assert ledger_state() == before


@pytest.mark.parametrize("quantity", ["abc", "NaN", "Infinity", "0.000000001", "0"])
def test_a_bad_return_quantity_is_a_form_error(login, bob, loan, quantity):
    before = ledger_state()
    response = login(bob).post(
        reverse("inventory:loan_return", args=[loan.pk]), {"return-quantity": quantity}
    )
    assert response.status_code == 200 and 'data-field="return-quantity"' in _text(response)
    assert ledger_state() == before


def test_a_recall_due_in_the_past_is_a_form_error(login, bob, loan):
    response = login(bob).post(
        reverse("inventory:loan_recall", args=[loan.pk]),
        {"recall-quantity": "1", "recall-due_at": "2020-01-01T10:00"},
    )
    assert response.status_code == 200 and 'data-field="recall-due_at"' in _text(response)
    assert not Recall.objects.exists()


def test_recalling_from_the_loan_page(login, bob, loan):
    due = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = login(bob).post(
        reverse("inventory:loan_recall", args=[loan.pk]), {"recall-quantity": "1", "recall-due_at": due}
    )
    assert response.status_code == 302 and Recall.objects.get().quantity == Decimal(1)


def test_proposing_a_rerate_from_the_loan_page(login, bob, loan):
    response = login(bob).post(
        reverse("inventory:loan_rerate", args=[loan.pk]),
        {"rerate-rate_bps": "500", "rerate-effective_date": business_date().isoformat()},
    )
    assert response.status_code == 302 and loan.rerates.get().status == "proposed"


def test_a_trader_cannot_post_the_desk_forms(login, alice, loan):
    before = ledger_state()
    response = login(alice).post(reverse("inventory:loan_return", args=[loan.pk]), {"return-quantity": "1"})
    assert response.status_code == 403 and ledger_state() == before


def test_the_borrowers_trader_accepts_a_rerate_on_the_loan_page(login, bob, alice, loan):
    rerate = propose_rerate(actor=bob, loan=loan, rate_bps=Decimal(500), effective_date=business_date())
    client = login(alice)
    assert "Accept</button>" in _text(client.get(reverse("inventory:loan_detail", args=[loan.pk])))
    response = client.post(reverse("inventory:rerate_decide", args=[loan.pk, rerate.pk, "accept"]))
    assert response.status_code == 302
    rerate.refresh_from_db()
    assert rerate.status == "accepted"


def test_a_refused_rerate_answer_is_shown_on_the_page(login, bob, alice, loan):
    from tests.inventory.factories import accrue

    rerate = propose_rerate(actor=bob, loan=loan, rate_bps=Decimal(500), effective_date=business_date())
    accrue(business_date())
    response = login(alice).post(reverse("inventory:rerate_decide", args=[loan.pk, rerate.pk, "accept"]))
    assert response.status_code == 200 and 'data-testid="action-error"' in _text(response)
    rerate.refresh_from_db()
    assert rerate.status == "proposed"


def test_another_trader_cannot_answer_a_rerate_on_the_page(login, bob, tom, loan):
    rerate = propose_rerate(actor=bob, loan=loan, rate_bps=Decimal(500), effective_date=business_date())
    response = login(tom).post(reverse("inventory:rerate_decide", args=[loan.pk, rerate.pk, "accept"]))
    assert response.status_code == 404
    rerate.refresh_from_db()
    assert rerate.status == "proposed"


# --- receipts and adjustments ------------------------------------------------------------------------


def test_treasury_records_a_receipt_on_the_page(login, tess, btc, account):
    response = login(tess).post(
        reverse("inventory:receipt"), {"asset": "BTC", "account": "INV-MAIN", "quantity": "1.5"}
    )
    assert response.status_code == 302 and response["Location"].startswith(reverse("inventory:positions"))
    assert Journal.objects.get().kind == "receipt"


def test_a_receipt_too_fine_for_the_asset_is_a_form_error(login, tess, btc, account):
    response = login(tess).post(
        reverse("inventory:receipt"), {"asset": "BTC", "account": "INV-MAIN", "quantity": "0.000000001"}
    )
    assert response.status_code == 200 and 'data-field="quantity"' in _text(response)
    assert not Journal.objects.exists()


def test_a_receipt_into_a_counterparty_account_is_a_form_error(login, tess, btc, acme):
    CustodyAccountFactory(code="ACME-WALLET", owner=acme)
    response = login(tess).post(
        reverse("inventory:receipt"), {"asset": "BTC", "account": "ACME-WALLET", "quantity": "1"}
    )
    assert response.status_code == 200 and 'data-field="account"' in _text(response)
    assert not Journal.objects.exists()


def test_senior_operations_adjust_on_the_page(login, olivia, stocked):
    response = login(olivia).post(
        reverse("inventory:adjustment"),
        {"asset": "BTC", "account": "INV-MAIN", "quantity": "-1", "reason": "custodian count"},
    )
    assert response.status_code == 302
    assert Journal.objects.get(kind="adjustment").memo == "custodian count"


def test_an_adjustment_below_zero_is_a_form_error(login, olivia, stocked):
    before = ledger_state()
    response = login(olivia).post(
        reverse("inventory:adjustment"),
        {"asset": "BTC", "account": "INV-MAIN", "quantity": "-11", "reason": "x"},
    )
    assert response.status_code == 200 and 'data-testid="form-errors"' in _text(response)
    assert ledger_state() == before


@pytest.mark.parametrize("who", ["bob", "tess", "alice"])
def test_only_senior_operations_see_the_adjustment_form(login, personas, stocked, who):
    assert login(personas[who]).get(reverse("inventory:adjustment")).status_code == 403
