"""The collateral API (API.md, "Collateral, limits, stress"): one module per resource family."""
