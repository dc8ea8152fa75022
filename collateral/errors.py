"""The collateral app's domain errors (API.md: 409 ``coverage_breach``, 409 ``limit_exceeded``)."""

from borrowdesk.errors import ConflictError


class CoverageBreach(ConflictError):
    """A release (or another change) would leave the counterparty's coverage below its required level."""

    code = "coverage_breach"


class LimitExceeded(ConflictError):
    """A final approval would break one of the counterparty's limits or its coverage covenant; the
    detail names the limit and the figures."""

    code = "limit_exceeded"
