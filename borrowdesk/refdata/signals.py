"""How reference data tells the apps above it that something changed (ARCHITECTURE.md: signals point
up; the kernel imports no app).

Sent after commit by refdata's services, never for a change that rolled back. A receiver's failure is
logged and does not undo the change (``on_commit(..., robust=True)``): compliance's daily rescreen
catches up a screening that failed.
"""

from django.dispatch import Signal

# A counterparty was created or changed. Args: counterparty_id, created (bool).
counterparty_saved = Signal()
# A custody account was created or changed. Args: account_id, created (bool).
custody_account_saved = Signal()
