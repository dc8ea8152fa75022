"""The admin shows the ledger and the book read-only: no adding, changing or deleting there."""

import pytest

from inventory.models import Journal

ADMIN = "/admin/inventory/"


@pytest.fixture
def admin_client(client, adam):
    client.force_login(adam)
    return client


@pytest.mark.parametrize("model", ["journal", "position", "loan", "loanaccrual"])
def test_the_admin_lists_the_ledger_and_the_book(admin_client, loan, model):
    assert admin_client.get(f"{ADMIN}{model}/").status_code == 200


def test_a_journal_is_shown_with_its_entries_read_only(admin_client, stocked):
    journal = Journal.objects.get()
    text = admin_client.get(f"{ADMIN}journal/{journal.pk}/change/").content.decode()
    assert "INV-MAIN" in text and 'name="_save"' not in text


def test_the_admin_cannot_add_change_or_delete_ledger_rows(admin_client, stocked):
    journal = Journal.objects.get()
    assert admin_client.get(f"{ADMIN}journal/add/").status_code == 403
    assert admin_client.post(f"{ADMIN}journal/{journal.pk}/change/", {"memo": "x"}).status_code == 403
    assert admin_client.post(f"{ADMIN}journal/{journal.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Journal.objects.get().memo == ""
