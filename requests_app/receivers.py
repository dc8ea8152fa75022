"""requests_app's reactions to what lower apps announce (their signals.py)."""

from __future__ import annotations

from requests_app.services import mark_delivered, sync_compliance_holds


def on_counterparty_cleared(sender, *, counterparty_id: int, **kwargs) -> None:
    sync_compliance_holds(counterparty_id=counterparty_id)


def on_counterparty_uncleared(sender, *, counterparty_id: int, **kwargs) -> None:
    sync_compliance_holds(counterparty_id=counterparty_id)


def on_loan_delivered(sender, *, loan_id: int, **kwargs) -> None:
    mark_delivered(loan_id=loan_id)
