"""Audit: every business model is tracked by database triggers (django-pghistory).

``@audited`` records inserts, updates and deletes, so bulk and SQL-level changes are captured too.
The acting user and URL come from ``pghistory.middleware.HistoryMiddleware`` in requests, and from
``acting_as(user)`` in services, tasks and commands that act outside a request.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pghistory
import pgtrigger
from django.apps import apps
from django.db import connections

TRIGGER_HELPERS_SQL = Path(__file__).resolve().parent / "sql" / "trigger_helpers.sql"


def audited(
    model=None, *, exclude: list[str] | None = None, bulk_inserts: bool = False, bulk_updates: bool = False
):
    """Class decorator: track inserts, updates and deletes of a model (fresh trackers per model).

    ``bulk_inserts``: record inserts with one statement-level trigger (over the statement's transition
    table) instead of one trigger call per row, for a table written thousands of rows at a time (a
    sanctions rescreen): the events are the same rows, the acting user read once per statement.
    ``bulk_updates``: the same for updates (old and new transition tables joined by primary key; a row
    whose values did not change records no event, as the row-level trigger's condition). For a table
    updated thousands of rows at a time (a reconciliation re-run): one trigger call per statement
    instead of one per row. (Each row-level call also made two subtransactions, whose rollbacks rescan
    the queue of after-trigger events, until ``install_trigger_helpers`` replaced the two look-ups.)
    """

    def decorate(cls):
        insert = pghistory.InsertEvent(level=pgtrigger.Statement) if bulk_inserts else pghistory.InsertEvent()
        update = pghistory.UpdateEvent(level=pgtrigger.Statement) if bulk_updates else pghistory.UpdateEvent()
        return pghistory.track(insert, update, pghistory.DeleteEvent(), exclude=exclude)(cls)

    return decorate(model) if model is not None else decorate


def acting_as(user, **extra):
    """Context manager that labels every change inside it with the acting user (and extra facts)."""
    return pghistory.context(user=user.pk if user is not None else None, **extra)


def acting_as_if(user):
    """``acting_as(user)``, or nothing when there is no user (a command, the seed): an acting user set
    further out (a request, an outer ``acting_as``) stands, instead of being blanked."""
    return acting_as(user) if user is not None else contextlib.nullcontext()


def install_trigger_helpers(using: str = "default") -> None:
    """Install ``borrowdesk/sql/trigger_helpers.sql``: pgtrigger's and pghistory's settings look-ups,
    called by every trigger, without the subtransaction each of theirs opens (the file says why)."""
    with connections[using].cursor() as cursor:
        cursor.execute(TRIGGER_HELPERS_SQL.read_text())


def install_trigger_helpers_after_migrate(sender, using: str = "default", **kwargs) -> None:
    """post_migrate handler: once per migrate (or flush), when the last app with models has sent the
    signal, so after any migration that installed a trigger (which re-creates pgtrigger's look-up)."""
    last = [config for config in apps.get_app_configs() if config.models_module is not None][-1]
    if sender.label == last.label:
        install_trigger_helpers(using)
