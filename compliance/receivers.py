"""compliance's reactions to what the kernel announces (borrowdesk/refdata/signals.py): a counterparty
or a custody account created or changed is screened at once, after refdata's commit, so a name newly
on a list holds its requests before anyone can act on them."""

from __future__ import annotations

from compliance.aml import services as aml
from compliance.models import ScreeningTrigger
from compliance.sanctions import services


def on_counterparty_saved(sender, *, counterparty_id: int, created: bool = False, **kwargs) -> None:
    trigger = ScreeningTrigger.COUNTERPARTY_CREATED if created else ScreeningTrigger.COUNTERPARTY_CHANGED
    services.screen_counterparty(counterparty_id=counterparty_id, trigger=trigger)


def on_custody_account_saved(sender, *, account_id: int, created: bool = False, **kwargs) -> None:
    services.screen_custody_account(account_id=account_id, trigger=ScreeningTrigger.ACCOUNT_SAVED)


def on_loan_returned(sender, *, loan_id: int, counterparty_id: int, **kwargs) -> None:
    """A loan returned in full: AML monitoring looks for a repeated borrow-and-return pattern."""
    aml.monitor_loan_returned(loan_id=loan_id, counterparty_id=counterparty_id)
