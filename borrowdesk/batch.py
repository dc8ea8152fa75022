"""Statements of several services sent in one round trip.

For the one place where a round trip is worth more than a tidy call sequence: the tail of a final
approval, where the counterparty's limit row is locked until COMMIT and every approval of that
counterparty waits for it. Each app still writes only its own tables through its own service: a service
returns its ``Statement`` (its SQL, its parameters, and how its own database errors become its domain
error) instead of running it, and the orchestrating service sends them together.
"""

from __future__ import annotations

import functools
import weakref
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


# The statements prepared on each database connection of this process, by name. A prepared statement
# lives as long as its session, whatever happens to the transaction that prepared it.
_prepared: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()


def prepared(name: str, sql: str) -> str:
    """Prepare ``sql`` (one statement, ``%s`` placeholders) on this connection under ``name`` the first
    time (a round trip of its own, once per connection) and return the ``EXECUTE name (%s, …)`` that
    runs it with the same parameters: for a hot statement whose planning costs more than running it.

    Called on every final approval, so it costs a set lookup once the statement is prepared: no cursor,
    and the text worked out once per (name, statement)."""
    body, execute = _texts(name, sql)
    raw = connection.connection
    if raw is None or name not in _prepared.get(raw, ()):
        with connection.cursor() as cursor:  # connects first if needed
            names = _prepared.setdefault(connection.connection, set())
            if name not in names:
                cursor.execute(f"PREPARE {name} AS {body}")
                names.add(name)
    return execute


@functools.cache
def _texts(name: str, sql: str) -> tuple[str, str]:
    """``sql`` with ``$1``, ``$2``… for its ``%s`` (the PREPARE's body), and the ``EXECUTE`` that runs it."""
    pieces = sql.split("%s")
    body = pieces[0] + "".join(f"${n}{piece}" for n, piece in enumerate(pieces[1:], start=1))
    count = len(pieces) - 1
    return body, (f"EXECUTE {name} ({', '.join(['%s'] * count)})" if count else f"EXECUTE {name}")
