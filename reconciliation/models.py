"""Reconciliation: what custodians and venues say the firm holds.

An ``ExternalStatement`` is one custody account's balances at one instant (``as_of``) as a custodian,
a venue or a feed reported them; its ``StatementLine`` rows are the quantity per asset, optionally
split into available / pending / locked / frozen parts. Statements are facts received from outside,
so they are append-only (triggers refuse an UPDATE or DELETE): a wrong statement is corrected by
importing a newer one, never by editing the old one. A file is imported once: its SHA-256
(``content_hash``) is unique per account and source, and the import service refuses a file whose
hash is already stored.

One file may carry several accounts (a generic CSV, a Fireblocks vault list): it becomes one
statement per account, all with the file's hash.
"""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import F, Q

from borrowdesk.audit import audited
from borrowdesk.refdata.models import Asset, CustodyAccount
from inventory.models import QTY


class StatementSource(models.TextChoices):
    API = "api", "API (JSON)"
    CSV = "csv", "API (CSV file)"
    FIREBLOCKS = "fireblocks", "Fireblocks"
    COINBASE_PRIME = "coinbase_prime", "Coinbase Prime"
    BITGO = "bitgo", "BitGo"
    UPLOAD = "upload", "Upload page"
    FEED = "feed", "Feed directory"


_APPEND_ONLY = [
    pgtrigger.Protect(name="append_only_no_update", operation=pgtrigger.Update),
    pgtrigger.Protect(name="append_only_no_delete", operation=pgtrigger.Delete),
]


@audited
class ExternalStatement(models.Model):
    """One account's balances at ``as_of``, as reported by ``source``."""

    account = models.ForeignKey(CustodyAccount, on_delete=models.PROTECT, related_name="statements")
    as_of = models.DateTimeField(help_text="The instant the balances are for.")
    business_date = models.DateField(help_text="The desk's business date of as_of.")
    source = models.CharField(max_length=16, choices=StatementSource.choices)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Null for a feed (the import_statements command).",
    )
    content_hash = models.CharField(max_length=64, help_text="SHA-256 (hex) of the imported file or body.")
    filename = models.CharField(max_length=255, blank=True)
    line_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-as_of", "-id"]
        indexes = [
            # The latest statement per account (the reconciliation run's question).
            models.Index(fields=["account", "-as_of", "-id"], name="statement_latest_idx"),
            models.Index(fields=["business_date", "account"], name="statement_date_idx"),
            models.Index(fields=["content_hash"], name="statement_hash_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "source", "content_hash"], name="statement_once_per_content"
            ),
            models.CheckConstraint(
                condition=Q(source__in=StatementSource.values), name="statement_source_valid"
            ),
            models.CheckConstraint(
                condition=Q(content_hash__regex=r"^[0-9a-f]{64}$"), name="statement_hash_sha256"
            ),
            models.CheckConstraint(condition=Q(line_count__gte=0), name="statement_line_count_not_negative"),
        ]
        triggers = _APPEND_ONLY

    def __str__(self) -> str:
        return f"Statement {self.pk} {self.account_id} @ {self.as_of:%Y-%m-%d %H:%M}"


def _part_ok(name: str) -> Q:
    """A part, when given, is between 0 and the line's quantity."""
    return Q(**{f"{name}__isnull": True}) | Q(**{f"{name}__gte": 0, f"{name}__lte": F("quantity")})


class StatementLine(models.Model):
    """One asset's balance on a statement. Not audited row by row (a feed writes a million at a time):
    the lines are append-only and their statement, which is audited, says who brought them."""

    # Not per-row foreign key constraints: a feed inserts a million lines at once, and two row-level RI
    # checks per line cost more than all the rest of the import. The same rule is held set-based: one
    # statement-level check of all inserted lines at once (``statement_line_references_exist``), which
    # also locks the few assets they name against deletion (FOR KEY SHARE, as an RI check would), and a
    # trigger on the asset table refusing to delete an asset a line names (migration 0002). Statements
    # are append-only (no UPDATE or DELETE, by trigger), so a statement a line names exists for ever.
    # ``on_delete=PROTECT`` still guards both in the ORM.
    #
    # The primary key is (statement, asset): one line per asset on a statement, held by the one index
    # the table has (no surrogate id and a second unique index for every line to go into); its prefix
    # is the statement's index, which is how lines are read.
    pk = models.CompositePrimaryKey("statement", "asset")
    statement = models.ForeignKey(
        ExternalStatement, on_delete=models.PROTECT, related_name="lines", db_constraint=False, db_index=False
    )
    # No index of its own either: lines are read by statement; only deleting an asset (which the guard
    # refuses once a line names it) looks lines up by asset.
    asset = models.ForeignKey(
        Asset, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    quantity = models.DecimalField(**QTY, help_text="The total the custodian holds for the account.")
    available = models.DecimalField(**QTY, null=True, blank=True)
    pending = models.DecimalField(**QTY, null=True, blank=True)
    locked = models.DecimalField(**QTY, null=True, blank=True)
    frozen = models.DecimalField(**QTY, null=True, blank=True)

    class Meta:
        ordering = ["statement", "asset"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=0), name="statement_line_quantity_not_negative"),
            models.CheckConstraint(condition=_part_ok("available"), name="statement_line_available_ok"),
            models.CheckConstraint(condition=_part_ok("pending"), name="statement_line_pending_ok"),
            models.CheckConstraint(condition=_part_ok("locked"), name="statement_line_locked_ok"),
            models.CheckConstraint(condition=_part_ok("frozen"), name="statement_line_frozen_ok"),
            # When every part is given they add up to the total (Fireblocks' own rule).
            models.CheckConstraint(
                condition=Q(available__isnull=True)
                | Q(pending__isnull=True)
                | Q(locked__isnull=True)
                | Q(frozen__isnull=True)
                | Q(quantity=F("available") + F("pending") + F("locked") + F("frozen")),
                name="statement_line_parts_add_up",
            ),
        ]
        triggers = [
            *_APPEND_ONLY,
            pgtrigger.Trigger(
                name="statement_line_references_exist",
                operation=pgtrigger.Insert,
                when=pgtrigger.After,
                level=pgtrigger.Statement,
                referencing=pgtrigger.Referencing(new="new_lines"),
                declare=[("statement_ids", "bigint[]"), ("asset_ids", "bigint[]")],
                func="""
                    -- One pass over the inserted lines for the statements and the assets they name (a
                    -- million lines name a thousand statements and a thousand assets).
                    SELECT array_agg(statement_id) FILTER (WHERE by_asset = 0),
                           array_agg(asset_id) FILTER (WHERE by_asset = 1)
                    INTO statement_ids, asset_ids
                    FROM (
                        SELECT statement_id, asset_id, GROUPING(statement_id) AS by_asset FROM new_lines
                        GROUP BY GROUPING SETS ((statement_id), (asset_id))
                    ) named;
                    -- The assets named stay until this commits (a concurrent DELETE waits), as RI locks them.
                    PERFORM 1 FROM refdata_asset a WHERE a.id = ANY(asset_ids) ORDER BY a.id FOR KEY SHARE;
                    IF EXISTS (
                        SELECT 1 FROM unnest(statement_ids) n(id)
                        WHERE NOT EXISTS (SELECT 1 FROM reconciliation_externalstatement s WHERE s.id = n.id)
                    ) OR EXISTS (
                        SELECT 1 FROM unnest(asset_ids) n(id)
                        WHERE NOT EXISTS (SELECT 1 FROM refdata_asset a WHERE a.id = n.id)
                    ) THEN
                        RAISE EXCEPTION 'a statement line names a statement or an asset that does not exist'
                            USING ERRCODE = 'foreign_key_violation';
                    END IF;
                    RETURN NULL;
                """,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.asset_id} {self.quantity}"


# Runs, breaks and the pre-open gate's overrides (issue 11, part reconruns): reconciliation/models_runs.py.
from reconciliation.models_runs import *  # noqa: E402, F403
