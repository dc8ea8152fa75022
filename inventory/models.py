"""Models of the inventory app (see ARCHITECTURE.md); built by its issue."""
