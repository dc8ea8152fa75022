"""The Django admin of desk users: saves go through the services, roles and grants included."""

import pytest
from django.contrib.auth.models import Group

from borrowdesk.access.models import CounterpartyGrantEvent, RoleMembershipEvent, User
from borrowdesk.refdata.selectors import counterparties_for_trader
from tests.conftest import PASSWORD

USERS = "/admin/access/user/"
NEW_PASSWORD = "another-long-desk-password-7"


@pytest.fixture
def admin_client(client, adam):
    client.force_login(adam)
    return client


def _add(admin_client, **overrides):
    data = {
        "username": "tina",
        "email": "tina@desk.example",
        "password1": "a-long-desk-password-9",
        "password2": "a-long-desk-password-9",
        "roles": ["trader"],
        "counterparties": [],
        **overrides,
    }
    return admin_client.post(f"{USERS}add/", data)


def _roles(user):
    return set(user.groups.values_list("name", flat=True))  # fresh: ``user_roles`` caches on the object


def _change_data(user, **overrides):
    return {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "desk": user.desk_id or "",
        "is_active": "on" if user.is_active else "",
        "roles": sorted(_roles(user)),
        "counterparties": [c.pk for c in counterparties_for_trader(user)],
        "new_password1": "",
        "new_password2": "",
        **overrides,
    }


def _state():
    return (
        list(User.objects.order_by("id").values()),
        list(User.groups.through.objects.order_by("id").values()),
        sorted(counterparties_for_trader(u).count() for u in User.objects.all()),
    )


def test_the_admin_role_can_list_view_and_add_users(admin_client, alice):
    page = admin_client.get(f"{USERS}?q=ali")
    assert page.status_code == 200 and "alice" in page.content.decode()
    assert admin_client.get(f"{USERS}{alice.pk}/change/").status_code == 200
    assert admin_client.get(f"{USERS}add/").status_code == 200


@pytest.mark.parametrize("name", ["bob", "mona", "audrey", "alice"])
def test_other_roles_cannot_enter_the_admin(client, personas, name):
    client.force_login(personas[name])
    response = client.get(USERS)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_adding_a_trader_with_a_counterparty_creates_them_through_the_service(admin_client, adam, acme):
    response = _add(admin_client, counterparties=[acme.pk])
    assert response.status_code == 302
    tina = User.objects.get(username="tina")
    assert tina.check_password("a-long-desk-password-9")
    assert (_roles(tina), tina.is_staff, tina.is_superuser) == ({"trader"}, False, False)
    assert list(counterparties_for_trader(tina)) == [acme]
    [role] = RoleMembershipEvent.objects.filter(user=tina)
    [grant] = CounterpartyGrantEvent.objects.filter(user=tina)
    assert role.pgh_context.metadata["user"] == grant.pgh_context.metadata["user"] == adam.pk


def test_an_admin_added_in_the_admin_is_staff(admin_client):
    assert _add(admin_client, username="ada", roles=["admin"]).status_code == 302
    assert User.objects.get(username="ada").is_staff


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"password1": "short", "password2": "short"}, "password2"),
        ({"password2": "a-different-password-9"}, "password2"),
        ({"roles": []}, "roles"),
        ({"roles": ["wizard"]}, "roles"),
        ({"username": "ALICE"}, "username"),
    ],
)
def test_a_bad_new_user_is_a_form_error_and_writes_nothing(admin_client, alice, overrides, field):
    before = _state()
    response = _add(admin_client, **overrides)
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert _state() == before


def test_changing_roles_and_grants_goes_through_the_service(admin_client, adam, alice, acme, globex):
    response = admin_client.post(
        f"{USERS}{alice.pk}/change/",
        _change_data(alice, roles=["trader", "risk"], counterparties=[globex.pk], first_name="Alice"),
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert (alice.first_name, _roles(alice)) == ("Alice", {"trader", "risk"})
    assert list(counterparties_for_trader(alice)) == [globex]
    added = RoleMembershipEvent.objects.get(user=alice, group__name="risk", pgh_label="role_added")
    assert added.pgh_context.metadata["user"] == adam.pk
    labels = set(
        CounterpartyGrantEvent.objects.filter(user=alice).values_list("pgh_label", "content_object_id")
    )
    assert {("counterparty_revoked", acme.pk), ("counterparty_granted", globex.pk)} <= labels


def test_giving_the_admin_role_makes_staff_and_taking_it_away_unmakes(admin_client, bob):
    admin_client.post(f"{USERS}{bob.pk}/change/", _change_data(bob, roles=["ops", "admin"]))
    bob.refresh_from_db()
    assert bob.is_staff
    admin_client.post(f"{USERS}{bob.pk}/change/", _change_data(bob, roles=["ops"]))
    bob.refresh_from_db()
    assert not bob.is_staff


def test_setting_a_password_on_the_change_form(admin_client, bob):
    response = admin_client.post(
        f"{USERS}{bob.pk}/change/", _change_data(bob, new_password1=NEW_PASSWORD, new_password2=NEW_PASSWORD)
    )
    assert response.status_code == 302
    bob.refresh_from_db()
    assert bob.check_password(NEW_PASSWORD)


def test_a_weak_new_password_is_a_form_error_and_keeps_the_old_one(admin_client, bob):
    before = _state()
    response = admin_client.post(
        f"{USERS}{bob.pk}/change/", _change_data(bob, new_password1="short", new_password2="short")
    )
    assert response.status_code == 200
    assert "new_password2" in response.context["adminform"].form.errors
    assert _state() == before
    bob.refresh_from_db()
    assert bob.check_password(PASSWORD)


def test_the_staff_and_superuser_flags_cannot_be_set_from_the_form(admin_client, bob):
    admin_client.post(f"{USERS}{bob.pk}/change/", _change_data(bob, is_staff="on", is_superuser="on"))
    bob.refresh_from_db()
    assert (bob.is_staff, bob.is_superuser) == (False, False)


def test_an_admin_cannot_remove_their_own_admin_role(admin_client, adam):
    before = _state()
    response = admin_client.post(f"{USERS}{adam.pk}/change/", _change_data(adam, roles=["ops"]), follow=True)
    assert "cannot remove your own admin role" in response.content.decode()
    assert _state() == before
    assert Group.objects.get(name="admin").user_set.filter(pk=adam.pk).exists()


def test_the_admin_deletes_no_user_and_has_no_direct_password_page(admin_client, bob):
    before = _state()
    assert admin_client.post(f"{USERS}{bob.pk}/delete/", {"post": "yes"}).status_code == 403
    # UserAdmin's own password page would save the user without the service; it is not routed here.
    response = admin_client.post(
        f"{USERS}{bob.pk}/password/", {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 302  # the admin's catch-all redirect to a change page that is not there
    assert _state() == before
    bob.refresh_from_db()
    assert bob.check_password(PASSWORD)


def test_a_new_password_typed_once_is_a_form_error(admin_client, bob):
    response = admin_client.post(f"{USERS}{bob.pk}/change/", _change_data(bob, new_password2=NEW_PASSWORD))
    assert response.status_code == 200
    assert "new_password2" in response.context["adminform"].form.errors
    bob.refresh_from_db()
    assert bob.check_password(PASSWORD)


def test_an_admin_changing_their_own_password_stays_signed_in(admin_client, adam):
    response = admin_client.post(
        f"{USERS}{adam.pk}/change/",
        _change_data(adam, new_password1=NEW_PASSWORD, new_password2=NEW_PASSWORD),
    )
    assert response.status_code == 302
    adam.refresh_from_db()
    assert adam.check_password(NEW_PASSWORD)
    assert admin_client.get(USERS).status_code == 200  # the session still holds


def test_adding_a_user_whose_name_exists_cannot_reset_them(adam, bob):
    from borrowdesk.access.services import create_desk_user
    from borrowdesk.errors import InvalidInput

    before = _state()
    with pytest.raises(InvalidInput, match="exists already"):
        create_desk_user(actor=adam, username="bob", password=NEW_PASSWORD, roles=["admin"])
    assert _state() == before
    bob.refresh_from_db()
    assert bob.check_password(PASSWORD)
