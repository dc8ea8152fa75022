from django.contrib.auth.models import Group

from borrowdesk.access.roles import ROLES, has_role


def test_every_role_exists_as_a_group_with_permissions(db):
    groups = {g.name: g for g in Group.objects.filter(name__in=ROLES)}
    assert set(groups) == set(ROLES)
    assert all(groups[r].permissions.exists() for r in ROLES)


def test_persona_holds_exactly_its_role(bob):
    assert has_role(bob, "ops")
    assert not has_role(bob, "ops_senior", "trader", "admin")
