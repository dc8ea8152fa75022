"""The statement import's refusals, in API.md's error shape."""

from __future__ import annotations

from dataclasses import dataclass

from borrowdesk.errors import ConflictError, InvalidInput

MAX_LISTED = 1000  # errors listed in an API answer or on the page (all of them go to a feed's .errors.txt)


@dataclass(frozen=True)
class LineError:
    """One thing wrong with a statement: its line (None: the whole file, e.g. ``as_of``), field, why."""

    line: int | None
    field: str
    message: str

    def as_dict(self) -> dict:
        return {"line": self.line, "field": self.field, "message": self.message}

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "file"
        return f"{where}: {self.field}: {self.message}"


class StatementRefused(InvalidInput):
    """A bad statement, refused whole: every error by line (the first ``MAX_LISTED`` in the body, and
    ``error_count`` for all of them). Nothing of it was stored."""

    def __init__(self, errors: list[LineError], *, error_count: int | None = None):
        self.errors = errors
        self.error_count = error_count if error_count is not None else len(errors)
        listed = errors[:MAX_LISTED]
        noun = "error" if self.error_count == 1 else "errors"
        super().__init__(
            f"The statement was refused ({self.error_count:,} {noun}); nothing of it was imported. "
            f"First: {listed[0]}."
            if listed
            else "The statement was refused; nothing of it was imported.",
            fields={"lines": [str(e) for e in listed]},
        )
        # Rendered beside code/detail/fields by borrowdesk.api.exception_handler.
        self.extra = {"errors": [e.as_dict() for e in listed], "error_count": self.error_count}


class AlreadyImported(ConflictError):
    """The same file (by its SHA-256) was imported before: each file once."""

    code = "already_imported"
