from borrowdesk.errors import ConflictError


class NotCleared(ConflictError):
    """The counterparty is not cleared by compliance (no approved, unexpired KYC): nothing may be
    approved or allocated for it until it is."""

    code = "compliance_hold"
