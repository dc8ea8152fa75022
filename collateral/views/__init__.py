"""The collateral pages, one module per page family: risk.py (a counterparty's risk page),
config.py (haircut rules, limits, agreements, pending approvals, scenario versions), pledges.py
(pledges and collateral positions), limits.py (the limit breaches list), stress.py, recalls.py and
monitoring.py (stress, recall suggestions, concentration and expiries)."""
