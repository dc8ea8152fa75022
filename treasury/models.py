"""Models of the treasury app (see ARCHITECTURE.md); built by its issue."""
