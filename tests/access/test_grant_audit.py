"""Role changes and counterparty grants are audited by database triggers, naming the acting user."""

import pytest
from django.contrib.auth.models import Group

from borrowdesk.access.models import CounterpartyGrantEvent, RoleMembershipEvent
from borrowdesk.access.services import grant_counterparty, revoke_counterparty, update_desk_user
from borrowdesk.audit import acting_as
from borrowdesk.errors import PermissionDeniedError
from borrowdesk.refdata.selectors import counterparties_for_trader


def _grants(user):
    return list(
        CounterpartyGrantEvent.objects.filter(user=user)
        .order_by("pgh_id")
        .values_list("pgh_label", "content_object__code", "pgh_context__metadata__user")
    )


def _roles(user):
    return list(
        RoleMembershipEvent.objects.filter(user=user)
        .order_by("pgh_id")
        .values_list("pgh_label", "group__name", "pgh_context__metadata__user")
    )


def test_a_grant_inside_acting_as_is_an_event_naming_the_actor(adam, alice, globex):
    with acting_as(adam):
        grant_counterparty(user=alice, counterparty=globex)
    assert _grants(alice)[-1] == ("counterparty_granted", "GLOBEX", adam.pk)


def test_a_revoke_by_an_actor_is_an_event_naming_the_actor(adam, alice, acme):
    revoke_counterparty(user=alice, counterparty=acme, actor=adam)
    assert _grants(alice)[-1] == ("counterparty_revoked", "ACME", adam.pk)
    assert list(counterparties_for_trader(alice)) == []


def test_a_role_added_inside_acting_as_is_an_event_naming_the_actor(adam, bob):
    with acting_as(adam):
        bob.groups.add(Group.objects.get(name="risk"))
    assert _roles(bob)[-1] == ("role_added", "risk", adam.pk)


def test_a_role_change_through_the_service_records_each_addition_and_removal(adam, bob):
    before = len(_roles(bob))
    update_desk_user(actor=adam, user=bob, roles=["ops", "treasury"])
    assert _roles(bob)[before:] == [("role_added", "treasury", adam.pk)]  # ops held already: no event
    update_desk_user(actor=adam, user=bob, roles=["treasury"])
    assert _roles(bob)[before + 1 :] == [("role_removed", "ops", adam.pk)]


def test_replacing_the_grants_records_the_revoke_and_the_grant(adam, alice, acme, globex):
    update_desk_user(actor=adam, user=alice, counterparties=[globex])
    assert sorted(_grants(alice)[-2:]) == [
        ("counterparty_granted", "GLOBEX", adam.pk),
        ("counterparty_revoked", "ACME", adam.pk),
    ]
    assert list(counterparties_for_trader(alice)) == [globex]


def test_a_grant_by_someone_without_the_permission_is_refused_and_leaves_no_event(bob, alice, globex):
    before = _grants(alice)
    with pytest.raises(PermissionDeniedError):
        grant_counterparty(user=alice, counterparty=globex, actor=bob)
    assert _grants(alice) == before
    assert globex not in counterparties_for_trader(alice)


def test_the_audit_page_says_whose_access_changed_and_to_what(adam, audrey, alice, bob, globex, login):
    with acting_as(adam):
        grant_counterparty(user=alice, counterparty=globex)
        bob.groups.add(Group.objects.get(name="risk"))
    page = login(audrey).get("/accounts/audit/").content.decode()
    # The object as words, the event's label as a badge, and who did it.
    assert "Counterparty grant · alice: counterparty GLOBEX</td>" in page
    assert "Counterparty granted</span></td><td>adam</td>" in page
    assert "Role membership · bob: role risk</td>" in page
    assert "Role added</span></td><td>adam</td>" in page
