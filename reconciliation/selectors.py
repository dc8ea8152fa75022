"""Reconciliation reads: statements and their lines."""

from __future__ import annotations

from django.db.models import QuerySet

from reconciliation.models import ExternalStatement, StatementLine


def statements() -> QuerySet[ExternalStatement]:
    """Every statement, newest first, with its account, venue and importer (a fixed number of queries)."""
    return ExternalStatement.objects.select_related("account", "account__venue", "imported_by").order_by(
        "-as_of", "-id"
    )


def statement_lines(statement: ExternalStatement) -> QuerySet[StatementLine]:
    """A statement's lines by asset symbol."""
    return StatementLine.objects.filter(statement=statement).select_related("asset").order_by("asset__symbol")
