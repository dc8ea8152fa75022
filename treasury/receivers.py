"""Treasury's receivers of signals from the apps below it. Receivers call services; no rules here."""

from __future__ import annotations

from django.dispatch import receiver

from collateral.models import Release
from collateral.signals import collateral_released
from treasury.services import queue_collateral_return


@receiver(collateral_released, dispatch_uid="treasury.queue_collateral_return")
def queue_return_of_released_collateral(sender, *, release: Release, **kwargs) -> None:
    """A release moved collateral out of the ledger: queue the leg that sends the coins."""
    queue_collateral_return(release=release)
