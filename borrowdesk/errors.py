"""Domain errors: every refused business action raises one of these before anything is written.

Each has a stable ``code`` (API.md's error codes) and an HTTP ``status``; one exception handler turns
them into API.md's error body and one form helper turns them into form errors.
"""

from __future__ import annotations


class DomainError(Exception):
    code = "invalid"
    status = 400

    def __init__(self, detail: str, *, fields: dict[str, list[str]] | None = None, code: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.fields = fields or {}
        if code:
            self.code = code


class InvalidInput(DomainError):
    code = "invalid"
    status = 400


class PermissionDeniedError(DomainError):
    code = "permission_denied"
    status = 403


class SegregationOfDuties(DomainError):
    code = "segregation_of_duties"
    status = 403


class NotFoundError(DomainError):
    code = "not_found"
    status = 404


class ConflictError(DomainError):
    code = "invalid_state"
    status = 409


class InvalidState(ConflictError):
    code = "invalid_state"
