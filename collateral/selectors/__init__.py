"""The read side of collateral and limits: coverage (set-based SQL, ``coverage``), configuration in
force (``config``), positions, limits and breaches, recall suggestions."""
