"""The collateral app's pages, one module per family (``limits``: the limit breaches list)."""
