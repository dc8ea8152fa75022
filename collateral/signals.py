"""How collateral tells the apps above it that something happened (ARCHITECTURE.md: a lower app sends
a signal declared in its own ``signals.py``; the higher app receives it).

``collateral_released``: collateral was released back to its owner (pledged → external in the
ledger). Sent by the release service **inside the release's transaction**, once the ``Release`` row and
its journal are written, with ``release=<collateral.models.Release>``; the receiver's writes (treasury
queues a ``collateral_return`` settlement leg) commit with the release, or roll back with it. A
receiver must not send anything outside the database itself: use ``transaction.on_commit`` for that.
"""

from django.dispatch import Signal

# Sent inside the release's transaction. Args: release (collateral.models.Release).
collateral_released = Signal()
