"""The borrow-request pages: trader portal, my requests, the queue, a request's page."""

import re
from decimal import Decimal

from django.urls import reverse

from requests_app.models import BorrowRequest
from requests_app.services import approve_request


def _form(**overrides):
    data = {
        "counterparty": "ACME",
        "asset": "BTC",
        "quantity": "1.5",
        "min_quantity": "",
        "max_rate_bps": "",
        "term_days": "",
        "settlement_account": "",
        "urgency": "normal",
        "needed_by": "",
        "notes": "",
        "idempotency_key": "form-1",
    }
    data.update(overrides)
    return data


def test_trader_portal_offers_only_granted_counterparties(login, alice, cleared_acme, globex, btc):
    page = login(alice).get(reverse("requests_app:new")).content.decode()
    assert 'value="ACME"' in page and 'value="GLOBEX"' not in page


def test_quote_shows_availability_and_an_indicative_rate(login, alice, btc, stocked):
    page = login(alice).get(reverse("requests_app:quote"), {"asset": "BTC", "quantity": "2"}).content.decode()
    assert re.search(r'data-testid="available">10 BTC', page)
    assert "bps/yr" in page and "$100,000.00" in page  # 2 × $50,000


def test_submitting_the_form_creates_one_request_even_if_posted_twice(login, alice, cleared_acme, btc):
    client = login(alice)
    first = client.post(reverse("requests_app:new"), _form())
    client.post(reverse("requests_app:new"), _form())  # a double click replays the first submission
    assert first.status_code == 302
    assert BorrowRequest.objects.count() == 1


def test_form_errors_are_shown_inline_and_nothing_is_written(login, alice, cleared_acme, btc):
    response = login(alice).post(reverse("requests_app:new"), _form(quantity="0.123456789", min_quantity="5"))
    assert response.status_code == 200
    assert 'data-field="quantity"' in response.content.decode()
    assert BorrowRequest.objects.count() == 0


def test_the_availability_panel_stays_after_a_form_error(login, alice, cleared_acme, btc, stocked):
    response = login(alice).post(reverse("requests_app:new"), _form(quantity="0.123456789"))
    page = response.content.decode()
    assert response.status_code == 200 and 'data-field="quantity"' in page
    assert re.search(r'data-testid="available">10 BTC', page) and "bps/yr" in page
    assert "Pick an asset" not in page
    assert BorrowRequest.objects.count() == 0


def test_more_than_available_is_a_warning_not_a_refusal(login, alice, cleared_acme, btc, stocked):
    client = login(alice)
    quote = client.get(reverse("requests_app:quote"), {"asset": "BTC", "quantity": "12.5"}).content.decode()
    assert 'data-testid="exceeds"' in quote and "12.5 BTC is more than the 10 available now" in quote
    within = client.get(reverse("requests_app:quote"), {"asset": "BTC", "quantity": "10"}).content.decode()
    assert 'data-testid="exceeds"' not in within
    response = client.post(reverse("requests_app:new"), _form(quantity="12.5"), follow=True)
    assert BorrowRequest.objects.get().quantity == Decimal("12.5")  # submitted all the same
    assert "12.5 BTC is more than the 10 available now" in response.content.decode()


def test_messages_and_the_approval_box_show_quantities_unpadded(login, bob, submit, stocked):
    request = submit(quantity=Decimal("5"))
    page = login(bob).get(reverse("requests_app:detail", args=[request.pk])).content.decode()
    assert 'value="5"' in page and "5.000000000000000000" not in page
    queue = login(bob).get(reverse("requests_app:queue")).content.decode()
    assert "5.000000000000000000" not in queue


def test_non_traders_cannot_open_the_portal(login, bob):
    assert login(bob).get(reverse("requests_app:new")).status_code == 403


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("requests_app:queue"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_my_requests_polls_and_lets_the_trader_cancel(login, alice, submit):
    request = submit()
    client = login(alice)
    page = client.get(reverse("requests_app:mine")).content.decode()
    assert 'hx-trigger="every 5s"' in page and f'data-request="{request.pk}"' in page
    partial = client.get(reverse("requests_app:mine"), HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and f'data-request="{request.pk}"' in partial
    client.post(reverse("requests_app:cancel", args=[request.pk]))
    request.refresh_from_db()
    assert request.status == "cancelled"


def test_queue_page_lists_what_the_user_may_act_on_with_score_parts(login, bob, olivia, submit, stocked):
    request = submit()
    page = login(bob).get(reverse("requests_app:queue")).content.decode()
    assert f'data-request="{request.pk}"' in page and "urg 10" in page
    assert (
        f'data-request="{request.pk}"'
        not in login(olivia).get(reverse("requests_app:queue")).content.decode()
    )


def test_approving_from_the_queue_allocates(login, bob, submit, stocked):
    request = submit()
    login(bob).post(
        reverse("requests_app:approve", args=[request.pk]),
        {"rate_bps": "400", "next": reverse("requests_app:queue")},
    )
    request.refresh_from_db()
    assert request.status == "approved"


def test_a_refused_approval_is_a_message_not_a_500(login, bob, submit, stocked):
    for _ in range(2):
        approve_request(actor=bob, request=submit(quantity=Decimal("4")), rate_bps=Decimal("400"))
    short = submit(quantity=Decimal("4"))  # 2 BTC left
    response = login(bob).post(
        reverse("requests_app:approve", args=[short.pk]),
        {"rate_bps": "400", "next": reverse("requests_app:queue")},
        follow=True,
    )
    assert response.status_code == 200
    assert "Not enough BTC" in response.content.decode()
    short.refresh_from_db()
    assert short.status == "pending_approval"


def test_an_outside_next_url_is_ignored(login, alice, submit):
    request = submit()
    response = login(alice).post(
        reverse("requests_app:cancel", args=[request.pk]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("requests_app:detail", args=[request.pk])


def test_another_traders_request_page_is_404(login, tom, submit):
    assert login(tom).get(reverse("requests_app:detail", args=[submit().pk])).status_code == 404


def test_queue_page_runs_a_fixed_number_of_queries(login, bob, submit, stocked, django_assert_num_queries):
    client = login(bob)
    submit()
    client.get(reverse("requests_app:queue"))
    # session, user, user's roles, count, page of requests, availability, navigation roles (cached) …
    with django_assert_num_queries(6) as captured:
        client.get(reverse("requests_app:queue"))
    for _ in range(5):
        submit()
    with django_assert_num_queries(len(captured)):
        client.get(reverse("requests_app:queue"))


def test_queue_page_counts_up_to_its_cap_and_says_so(login, bob, submit, monkeypatch):
    from requests_app import views

    client = login(bob)
    for _ in range(3):
        submit()
    page = client.get(reverse("requests_app:queue")).content.decode()
    assert re.search(r">3 awaiting you<", page)
    monkeypatch.setattr(views, "QUEUE_CAP", 2)
    monkeypatch.setattr(views, "QUEUE_PAGE_SIZE", 1)
    page = client.get(reverse("requests_app:queue")).content.decode()
    assert re.search(r">2\+ awaiting you<", page)
    assert "Page 1 of 2 (the first 2 by priority" in page
    assert page.count('data-request="') == 1


def test_an_approved_requests_page_links_its_loan_with_its_status(login, bob, submit, stocked):
    request = approve_request(actor=bob, request=submit(), rate_bps=Decimal("400"))
    page = login(bob).get(reverse("requests_app:detail", args=[request.pk])).content.decode()
    link = reverse("inventory:loan_detail", args=[request.loan_id])
    assert f'<a href="{link}">#{request.loan_id}</a> · Pending Delivery' in page
