"""How compliance tells higher apps that something happened (ARCHITECTURE.md: signals point up)."""

from django.dispatch import Signal

# Sent after commit when a counterparty becomes cleared (approved, unexpired KYC). Args: counterparty_id.
counterparty_cleared = Signal()

# Sent after commit when a cleared counterparty stops being cleared (KYC rejected, expired, or set back
# to pending). Args: counterparty_id.
counterparty_uncleared = Signal()
