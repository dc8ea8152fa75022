"""Models of the collateral app (see ARCHITECTURE.md); built by its issue."""
