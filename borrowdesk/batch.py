"""Statements of several services sent in one round trip.

For the one place where a round trip is worth more than a tidy call sequence: the tail of a final
approval, where the counterparty's limit row is locked until COMMIT and every approval of that
counterparty waits for it. Each app still writes only its own tables through its own service: a service
returns its ``Statement`` (its SQL, its parameters, and how its own database errors become its domain
error) instead of running it, and the orchestrating service sends them together.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, connection


@dataclass(frozen=True)
class Statement:
    """One or more SQL statements (``%s`` placeholders) of one service, with their parameters.

    ``on_error``: the service's translation of a database error raised by its statement into its domain
    error (None when the error is not its own)."""

    sql: str
    params: list[Any] = field(default_factory=list)
    on_error: Callable[[DatabaseError], Exception | None] | None = None


def run_together(statements: Sequence[Statement]) -> tuple[Any, ...] | None:
    """Run ``statements`` in order, in one round trip, inside the caller's transaction; return the
    first row of the last statement (None when it has none). A database error of one statement stops
    the rest: it is raised as the domain error of the statement that translates it, else as it is (the
    caller's ``atomic`` rolls back)."""
    sql = ";\n".join(s.sql.strip().rstrip(";") for s in statements)
    params = [p for s in statements for p in s.params]
    with connection.cursor() as cursor:
        try:
            cursor.execute(sql, params)
        except DatabaseError as exc:
            for statement in statements:
                if statement.on_error is not None and (mapped := statement.on_error(exc)) is not None:
                    raise mapped from None
            raise
        return cursor.fetchone() if cursor.description is not None else None
