"""Models of the requests_app app (see ARCHITECTURE.md); built by its issue."""
