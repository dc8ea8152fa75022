"""Two administrators taking each other's admin role at the same moment: one wins, and the desk keeps
an administrator."""

import pytest
from django.contrib.auth.models import Group

from borrowdesk.access.services import create_desk_user, update_desk_user
from tests.races import race

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_two_admins_demoting_each_other_at_once_leave_one_admin(desk_config):
    anna, ben = (
        create_desk_user(username=name, password="long-password-123", roles=["admin"])
        for name in ("anna", "ben")
    )
    for _ in range(3):
        outcomes = race(
            [
                lambda: update_desk_user(actor=anna, user=ben, roles=["ops"]),
                lambda: update_desk_user(actor=ben, user=anna, roles=["ops"]),
            ]
        )
        assert sorted(outcomes) == ["ok", "permission_denied"], outcomes
        admins = list(Group.objects.get(name="admin").user_set.values_list("username", flat=True))
        assert len(admins) == 1, admins
        # Put both back for the next round.
        winner = anna if admins == ["anna"] else ben
        loser = ben if winner is anna else anna
        update_desk_user(actor=winner, user=loser, roles=["admin"])
