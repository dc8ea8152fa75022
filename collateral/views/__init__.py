"""Collateral pages, one module per concern (configuration, pledges, …); ``collateral/urls.py``
routes to them."""
