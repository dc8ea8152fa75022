"""What reference data announces to the apps above it (ARCHITECTURE.md: a lower app tells a higher one
through a signal declared in its own signals.py)."""

from django.dispatch import Signal

# A price was applied (posted by the feed, an override within the tolerance, or an override
# confirmed): it counts as the asset's mark if it is the latest, and as its source's latest quote.
# Sent after the commit that applied it, with ``price_id`` and ``asset_id``; collateral revalues on it.
price_applied = Signal()
