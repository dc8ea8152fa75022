"""The reconciliation app's domain errors."""

from borrowdesk.errors import ConflictError


class ReconciliationHold(ConflictError):
    """The pre-open gate holds a final approval allocating from an account (409 ``reconciliation_hold``):
    today's pre-open reconciliation has not finished, or the account has aged open breaks. An
    ops_senior's override (with a reason) releases the account for the business date."""

    code = "reconciliation_hold"
