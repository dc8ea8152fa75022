"""What collateral announces to the apps above it (treasury queues a ``collateral_return`` leg)."""

from django.dispatch import Signal

# Collateral was released to its owner (pledged → external); sent after commit with ``release=``.
collateral_released = Signal()
