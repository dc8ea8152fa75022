"""How compliance tells higher apps that something happened (ARCHITECTURE.md: signals point up)."""

from django.dispatch import Signal

# Sent after commit of a change that leaves the counterparty cleared (approved, unexpired KYC and no
# unresolved sanctions match), or not cleared (KYC rejected, expired or pending; a potential or
# confirmed sanctions match). Args: counterparty_id — None after a bulk rescreen that held many at
# once: every counterparty's requests are to follow its clearance. A KYC that runs out by date sends
# nothing: requests_app's 5-minute job catches that up.
counterparty_cleared = Signal()
counterparty_uncleared = Signal()
