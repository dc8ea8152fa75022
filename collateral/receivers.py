"""Collateral's reactions to what the kernel announces (its signals.py)."""

from __future__ import annotations

from collateral.services.valuation import enqueue_revaluation


def on_price_applied(sender, *, price_id: int, **kwargs) -> None:
    """A new price: revalue now, in a window unique to the price (its own JobRun, run once however
    often the message is delivered). Sent after the price's commit; queued at once."""
    enqueue_revaluation(f"price:{price_id}")
