"""Reading several figures as of one instant.

``one_snapshot()`` runs what it wraps in a read-only REPEATABLE READ transaction: every query inside
sees the same committed state, so figures read by separate queries (a summary's utilization, queues,
coverage and backlog) add up with each other even while approvals, settlements and imports commit
around them. PostgreSQL's default (READ COMMITTED) gives each query its own snapshot.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def one_snapshot() -> Iterator[None]:
    """Inside an open transaction (a caller's, a test's) its rules stand: a snapshot cannot be chosen
    once a transaction has run a query. Outside one, a transaction of its own whose first statement
    sets it read-only and repeatable-read (sent on the driver's cursor, before anything a wrapper
    would prepend)."""
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        connection.ensure_connection()
        with connection.connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield
