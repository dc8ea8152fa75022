"""The reconciliation app's writes: runs (``runs``), the breaks workflow (``breaks``) and the pre-open
gate (``gate``)."""
