"""The inventory services check the access policy themselves (``require`` against
borrowdesk.access.policy.ACTIONS), whatever page or endpoint calls them: a role without the action is
refused with ``permission_denied`` and nothing is written."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from borrowdesk.access.policy import ACTIONS
from borrowdesk.access.roles import ROLES
from borrowdesk.business_day import business_date
from borrowdesk.errors import PermissionDeniedError
from inventory.services import adjust, decide_rerate, propose_rerate, recall_loan, receive, return_loan
from tests.conftest import ROLE_PERSONA
from tests.inventory.factories import ledger_state


def _refused(action):
    return sorted(ROLE_PERSONA[r] for r in ROLES if r in ROLE_PERSONA and r not in ACTIONS[action])


def _calls(loan, btc, account):
    return {
        "inventory.receive": lambda actor: receive(
            actor=actor, asset=btc, account=account, quantity=Decimal(1)
        ),
        "inventory.adjust": lambda actor: adjust(
            actor=actor, asset=btc, account=account, quantity=Decimal(1), reason="count"
        ),
        "loans.operate": lambda actor: return_loan(actor=actor, loan=loan, quantity=Decimal(1)),
        "loans.operate (recall)": lambda actor: recall_loan(
            actor=actor, loan=loan, quantity=Decimal(1), due_at=timezone.now() + timedelta(days=1)
        ),
        "loans.operate (rerate)": lambda actor: propose_rerate(
            actor=actor, loan=loan, rate_bps=Decimal(500), effective_date=business_date()
        ),
    }


@pytest.mark.parametrize(
    "call",
    [
        "inventory.receive",
        "inventory.adjust",
        "loans.operate",
        "loans.operate (recall)",
        "loans.operate (rerate)",
    ],
)
def test_each_inventory_service_refuses_every_role_without_its_action(personas, loan, btc, stocked, call):
    action = call.split(" ")[0]
    refused = _refused(action)
    assert refused  # some roles lack every one of these actions
    before = ledger_state()
    for name in refused:
        with pytest.raises(PermissionDeniedError):
            _calls(loan, btc, stocked)[call](personas[name])
    assert ledger_state() == before


def test_answering_a_rerate_needs_the_answer_action(personas, loan, bob):
    rerate = propose_rerate(actor=bob, loan=loan, rate_bps=Decimal(500), effective_date=business_date())
    before = ledger_state()
    for name in _refused("loans.answer_rerate"):
        with pytest.raises(PermissionDeniedError):
            decide_rerate(actor=personas[name], rerate=rerate, accept=True)
    assert ledger_state() == before
    rerate.refresh_from_db()
    assert rerate.status == "proposed"
