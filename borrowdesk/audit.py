"""Audit: every business model is tracked by database triggers (django-pghistory).

``@audited`` records inserts, updates and deletes, so bulk and SQL-level changes are captured too.
The acting user and URL come from ``pghistory.middleware.HistoryMiddleware`` in requests, and from
``acting_as(user)`` in services, tasks and commands that act outside a request.
"""

from __future__ import annotations

import contextlib

import pghistory
import pgtrigger


def audited(model=None, *, exclude: list[str] | None = None, bulk_inserts: bool = False):
    """Class decorator: track inserts, updates and deletes of a model (fresh trackers per model).

    ``bulk_inserts``: record inserts with one statement-level trigger (over the statement's transition
    table) instead of one trigger call per row, for a table written thousands of rows at a time (a
    sanctions rescreen): the events are the same rows, the acting user read once per statement.
    """

    def decorate(cls):
        insert = pghistory.InsertEvent(level=pgtrigger.Statement) if bulk_inserts else pghistory.InsertEvent()
        return pghistory.track(insert, pghistory.UpdateEvent(), pghistory.DeleteEvent(), exclude=exclude)(cls)

    return decorate(model) if model is not None else decorate


def acting_as(user, **extra):
    """Context manager that labels every change inside it with the acting user (and extra facts)."""
    return pghistory.context(user=user.pk if user is not None else None, **extra)


def acting_as_if(user):
    """``acting_as(user)``, or nothing when there is no user (a command, the seed): an acting user set
    further out (a request, an outer ``acting_as``) stands, instead of being blanked."""
    return acting_as(user) if user is not None else contextlib.nullcontext()
