"""Compliance cases: the unit of work of a compliance officer (kyc, aml, sanctions, travel rule).
Models here (imported by ``compliance.models``), writes in ``services``, reads in ``selectors``."""
