"""How inventory tells higher apps that something happened (ARCHITECTURE.md: signals point up)."""

from django.dispatch import Signal

# Sent after commit when a loan is returned in full (closed). Args: loan_id, counterparty_id.
# compliance's AML monitoring looks for repeated borrow-and-return round trips.
loan_returned = Signal()
