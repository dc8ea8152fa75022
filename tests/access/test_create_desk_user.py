import io

import pytest
from django.core.management import CommandError, call_command

from borrowdesk.access.models import User
from borrowdesk.access.roles import has_role
from borrowdesk.refdata.selectors import counterparties_for_trader


def test_creates_a_trader_acting_for_a_counterparty(acme, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-desk-password-9\n"))
    out = io.StringIO()
    call_command(
        "create_desk_user",
        "tina",
        "--role",
        "trader",
        "--counterparty",
        "ACME",
        "--password-stdin",
        stdout=out,
    )
    tina = User.objects.get(username="tina")
    assert tina.check_password("a-long-desk-password-9")
    assert has_role(tina, "trader")
    assert list(counterparties_for_trader(tina)) == [acme]
    assert "tina" in out.getvalue()


def test_several_roles_are_all_granted(db, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-desk-password-9\n"))
    call_command(
        "create_desk_user", "max", "--role", "ops", "--role", "risk", "--password-stdin", stdout=io.StringIO()
    )
    assert set(User.objects.get(username="max").groups.values_list("name", flat=True)) == {"ops", "risk"}


def test_unknown_counterparty_is_refused_and_no_user_is_created(db, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-desk-password-9\n"))
    with pytest.raises(CommandError, match="NOPE"):
        call_command(
            "create_desk_user", "x", "--role", "trader", "--counterparty", "NOPE", "--password-stdin"
        )
    assert not User.objects.filter(username="x").exists()


def test_weak_password_is_refused(db, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    with pytest.raises(CommandError, match="too short"):
        call_command("create_desk_user", "x", "--role", "ops", "--password-stdin")
    assert not User.objects.filter(username="x").exists()


def test_unknown_role_is_refused(db, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-desk-password-9\n"))
    with pytest.raises(CommandError):
        call_command("create_desk_user", "x", "--role", "wizard", "--password-stdin")
    assert not User.objects.filter(username="x").exists()
