"""How reference data tells the apps above it that something changed (ARCHITECTURE.md: signals point
up; the kernel imports no app).

Sent after commit by refdata's services, never for a change that rolled back. A receiver's failure is
logged and does not undo the change (``on_commit(..., robust=True)``): compliance's daily rescreen
catches up a screening that failed, the 5-minute revaluation a revaluation that was not queued.
"""

from django.dispatch import Signal

# A price was applied (posted by the feed, an override within the tolerance, or an override
# confirmed): it counts as the asset's mark if it is the latest, and as its source's latest quote.
# Args: price_id, asset_id; collateral revalues on it.
price_applied = Signal()
# A counterparty was created or changed. Args: counterparty_id, created (bool).
counterparty_saved = Signal()
# A custody account was created or changed. Args: account_id, created (bool).
custody_account_saved = Signal()
