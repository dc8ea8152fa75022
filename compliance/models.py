"""Models of the compliance app (see ARCHITECTURE.md); built by its issue."""
