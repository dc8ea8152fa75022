"""The collateral pages, one module per page family (risk.py: a counterparty's risk page)."""
