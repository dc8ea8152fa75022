from borrowdesk.errors import ConflictError


class PriceUnavailable(ConflictError):
    code = "price_unavailable"


class IdempotencyConflict(ConflictError):
    code = "idempotency_conflict"
