"""The write side of collateral and limits, one module per concern: risk configuration with four eyes
(``config``), pledges (``pledges``), releases, revaluation and margin calls (``valuation``), stress
(``stress``), limits and breaches (``limits``)."""
