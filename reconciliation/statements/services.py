"""Importing custodian statements: parse → validate → load, in one transaction.

``import_statement`` reads a file (or an API body) with its format's adapter, puts its rows in a
temporary staging table — a generic CSV by one ``COPY`` of the file as it is, never row by row —
checks every row at once in SQL (unknown account or asset, a quantity that does not parse, is
negative, has more places than its asset or does not fit, parts that do not add up, the same asset
twice for an account), and inserts the statements and their lines with ``INSERT … SELECT``. A bad file
is refused whole (``StatementRefused`` with every error by line) and nothing of it is stored: the
transaction rolls back. Each file is imported once: a file whose SHA-256 is already stored is
refused (``AlreadyImported``), two imports of the same file at once are serialised by an advisory lock
on its hash.

``preview_statement`` runs exactly the same steps and rolls them back: the upload page shows what
would be stored, and every error, before anyone confirms.

The SQL is in ``reconciliation/sql/statement_import.sql``.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from psycopg2 import Error as DriverError

from borrowdesk.access.policy import require
from borrowdesk.audit import acting_as_if
from borrowdesk.business_day import business_date, business_day_end
from borrowdesk.refdata.models import Custodian
from reconciliation.models import StatementSource
from reconciliation.statements import adapters
from reconciliation.statements.adapters import CUSTODIAN_SOURCES, Format, Parsed
from reconciliation.statements.errors import MAX_LISTED, AlreadyImported, LineError, StatementRefused

log = logging.getLogger(__name__)
SQL_PATH = Path(__file__).resolve().parent.parent / "sql" / "statement_import.sql"
IMPORT_LOCK = 0x52454353  # "RECS": one import of a given file (hash) at a time
PREVIEW_LINES = 200
MAX_FUTURE = timedelta(minutes=5)  # clocks differ a little; a statement from the future does not exist
WHOLE_NUMBER = r"^[0-9]+(\.[0-9]+)?$"
BASE_UNITS = r"^[0-9]+$"


def _sections() -> dict[str, str]:
    sections: dict[str, str] = {}
    name = None
    for line in SQL_PATH.read_text().splitlines():
        match = re.match(r"^-- name: (\w+)\s*$", line)
        if match:
            name = match.group(1)
            sections[name] = ""
        elif name:
            sections[name] += line + "\n"
    return sections


SQL = _sections()


def _sql(name: str, parsed: Parsed) -> str:
    """A section with its fixed fragments for ``parsed``'s units and ids (never input)."""
    custodian = Custodian(parsed.custodian).label if parsed.custodian else ""
    fragments = {
        "{number}": BASE_UNITS if parsed.base_units else WHOLE_NUMBER,
        # Base units to the asset's units exactly: "150000000" || "e-8" reads as 1.5 (a division would
        # round to numeric's default precision).
        "{unit}": " || 'e-' || decimals" if parsed.base_units else "",
        "{number_kind}": "whole number of base units" if parsed.base_units else "decimal number",
        "{account_hint}": f" (no {custodian} mapping in reference data)" if custodian else "",
        "{asset_hint}": f" (no {custodian} mapping in reference data)" if custodian else "",
    }
    text = SQL[name]
    for key, value in fragments.items():
        text = text.replace(key, value)
    return text


@dataclass(frozen=True)
class PreviewLine:
    line: int
    account: str
    asset: str
    quantity: Decimal
    available: Decimal | None
    pending: Decimal | None
    locked: Decimal | None
    frozen: Decimal | None


@dataclass
class Outcome:
    """What an import did (or, for a preview, would do)."""

    content_hash: str
    format: str
    source: str
    as_of: datetime
    business_date: date
    errors: list[LineError] = field(default_factory=list)
    error_count: int = 0
    line_count: int = 0
    account_count: int = 0
    asset_count: int = 0
    statement_ids: list[int] = field(default_factory=list)
    preview: list[PreviewLine] = field(default_factory=list)
    already_imported: bool = False

    @property
    def ok(self) -> bool:
        return not self.error_count and not self.already_imported


# --- as_of ------------------------------------------------------------------------------------------------


def resolve_as_of(value: Any, *, now: datetime | None = None) -> tuple[datetime, date]:
    """``as_of`` as (instant, business date). A timestamp (ISO 8601 with offset) is that instant, in
    its business date; a date ``YYYY-MM-DD`` is the end of that business date — now, for today.
    Raises ``StatementRefused`` (field ``as_of``) for anything else, or a time in the future."""
    now = now or timezone.now()

    def refuse(message: str) -> StatementRefused:
        return StatementRefused([LineError(None, "as_of", message)])

    if isinstance(value, datetime):
        instant = value
    elif isinstance(value, date):
        day = value
        return min(business_day_end(day), now), day
    elif isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            raise refuse("Not a real date (YYYY-MM-DD).") from None
        if day > business_date(now):
            raise refuse("A business date in the future.")
        return min(business_day_end(day), now), day
    elif isinstance(value, str) and value.strip():
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            parsed = None
        if parsed is None:
            raise refuse(
                "Give a timestamp with its offset (2026-03-02T17:00:00+00:00) "
                "or a business date (2026-03-02)."
            )
        instant = parsed
    else:
        raise refuse("Required: a timestamp with its offset, or a business date.")
    if timezone.is_naive(instant):
        raise refuse("A timestamp needs its UTC offset (…+00:00 or …Z).")
    if instant > now + MAX_FUTURE:
        raise refuse("A time in the future.")
    return instant, business_date(instant)


# --- reading ----------------------------------------------------------------------------------------------


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def body_bytes(body: dict) -> bytes:
    """An API body as the bytes its hash is taken of (keys sorted: the same statement, the same hash)."""
    return json.dumps(body, sort_keys=True, default=str, separators=(",", ":")).encode()


def _source_for(fmt: str, channel: str) -> str:
    """A custodian's format is its own source whatever the channel; the desk's formats say the channel."""
    return CUSTODIAN_SOURCES.get(fmt, channel)


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    return '"' + str(value).replace('"', '""') + '"'


def _copy_rows(rows: list[adapters.Row]) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write(",".join(_csv_cell(v) for v in row))
        buffer.write("\n")
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(
            "COPY recon_staging (line, account, asset, quantity, available, pending, locked, frozen) "
            "FROM STDIN WITH (FORMAT csv)",
            buffer,
        )


def _copy_csv_file(data: bytes, parsed: Parsed, table: str) -> bool:
    """The generic CSV's rows by one COPY of the file as it is (after its header). False when COPY
    could not read it, or its rows are not one per physical line (a blank line, a quoted line break):
    the caller then reads it row by row to name every broken line."""
    body = io.BytesIO(data)
    body.seek(parsed.copy_offset)
    columns = ", ".join(parsed.columns)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)", body)
            copied = cursor.cursor.rowcount
            newlines = data.count(b"\n", parsed.copy_offset)
            ends_open = len(data) > parsed.copy_offset and not data.endswith(b"\n")
            if copied != newlines + (1 if ends_open else 0):
                raise _NotOnePerLine
    except (_NotOnePerLine, DatabaseError, DriverError):  # the driver's own: copy_expert is under Django
        return False
    return True


class _NotOnePerLine(Exception):
    pass


def _fetch(cursor, name: str, parsed: Parsed, params: list[Any] | None = None) -> list[tuple]:
    start = time.perf_counter()
    cursor.execute(_sql(name, parsed), params or [])
    rows = cursor.fetchall()
    log.debug("statement import: %s in %.3f s", name, time.perf_counter() - start)
    return rows


class _Step:
    """Logs how long a step of the import took (DEBUG), to see where a large file's time goes."""

    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        self.start = time.perf_counter()

    def __exit__(self, *exc):
        log.debug("statement import: %s in %.3f s", self.name, time.perf_counter() - self.start)


def _stage(data: bytes | None, parsed: Parsed, *, typed: bool = True) -> Parsed:
    """Fill ``recon_resolved``: the file's rows with their ids and numbers, and whether each is clean.

    A generic CSV first goes the fast way: one COPY of the file as it is into a typed table (COPY
    parses the numbers), one pass of lookups and checks. When COPY cannot read it or any row is not
    clean, that is undone and the file goes the text way — every value staged as text, parsed in SQL
    with a message for each fault (a row COPY cannot read at all is read here, row by row, for its
    line). The other formats, parsed by their adapters, go the text way directly. ``typed`` False: the
    fast way was tried already (``_import_clean_csv``) and found a fault; straight to the text way."""
    with connection.cursor() as cursor:
        cursor.execute(_sql("staging", parsed))
        if parsed.custodian:
            cursor.execute(_sql("accounts_by_mapping", parsed), [parsed.custodian])
            cursor.execute(_sql("assets_by_mapping", parsed), [parsed.custodian])
        else:
            cursor.execute(_sql("accounts_by_code", parsed))
            cursor.execute(_sql("assets_by_symbol", parsed))
        cursor.execute(_sql("analyze_maps", parsed))
        if parsed.rows is None:
            assert data is not None
            if typed and _fast_csv(cursor, data, parsed):
                return parsed
            if not _copy_csv_file(data, parsed, "recon_staging"):
                log.debug("statement import: COPY could not read the file as it is; reading it row by row")
                parsed = adapters.parse_csv(data, rows=True)
                _copy_rows(parsed.rows or [])
        else:
            _copy_rows(parsed.rows)
        with _Step("resolve"):
            cursor.execute(_sql("resolve", parsed))
    return parsed


def _fast_csv(cursor, data: bytes, parsed: Parsed) -> bool:
    """The generic CSV's fast way (see ``_stage``): True when every row came through clean."""
    sid = transaction.savepoint()
    with _Step("fast COPY"):
        copied = _copy_csv_file(data, parsed, "recon_staging_typed")
    if copied:
        with _Step("fast resolve"):
            cursor.execute(_sql("resolve_typed", parsed))
        (bad,) = _fetch(cursor, "bad_count", parsed)[0]
        if not bad:
            transaction.savepoint_commit(sid)
            parsed.known_clean = True
            return True
    transaction.savepoint_rollback(sid)
    return False


class _NotClean(Exception):
    pass


def _import_clean_csv(data: bytes, parsed: Parsed, outcome: Outcome, *, actor, filename: str) -> bool:
    """A generic CSV imported the shortest way, when every row is clean: one COPY of the file into a
    typed staging table, one read-only pass over it checking every row and counting each account's
    lines (``clean_counts``), the statements, and the lines inserted straight from staging. True when
    stored; False (nothing of it left: its savepoint is rolled back) when a row is not clean or an
    asset comes twice for an account — the caller then goes the way that names every fault by line.
    The lines' table still checks every line as it goes in (primary key, CHECKs, the statement-level
    reference check)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_sql("staging", parsed))
            cursor.execute(_sql("accounts_by_code", parsed))
            cursor.execute(_sql("assets_by_symbol", parsed))
            cursor.execute(_sql("analyze_maps", parsed))
            with _Step("clean COPY"):
                if not _copy_csv_file(data, parsed, "recon_staging_clean"):
                    raise _NotClean
            counts = _fetch(cursor, "clean_counts", parsed)
            by_account = [(account, lines) for by_asset, account, _a, lines, _b in counts if not by_asset]
            if not by_account or any(bad for *_x, bad in counts) or any(a is None for a, _n in by_account):
                raise _NotClean
            accounts = sorted(by_account)
            with _Step("insert statements"):
                cursor.execute(
                    _sql("insert_counted_statements", parsed),
                    [
                        outcome.as_of,
                        outcome.business_date,
                        outcome.source,
                        actor.pk if actor is not None else None,
                        outcome.content_hash,
                        filename[:255],
                        [a for a, _n in accounts],
                        [n for _a, n in accounts],
                    ],
                )
                statements = cursor.fetchall()
                cursor.execute(
                    _sql("statements_by_ref", parsed),
                    [[row[0] for row in statements], [row[1] for row in statements]],
                )
            with _Step("insert lines"):
                cursor.execute(_sql("insert_clean_lines", parsed))
                inserted = cursor.rowcount
            line_count = sum(n for _a, n in accounts)
            if inserted != line_count:  # every clean row has its statement and asset: never
                raise AssertionError(f"{inserted} lines inserted of {line_count} staged")
    except (_NotClean, IntegrityError):
        return False
    outcome.statement_ids = [row[0] for row in statements]
    outcome.line_count = line_count
    outcome.account_count = len(accounts)
    outcome.asset_count = sum(1 for by_asset, _a, asset, _l, _b in counts if by_asset and asset is not None)
    return True


def _declared_account_ids(parsed: Parsed) -> tuple[list[int], list[LineError]]:
    """The accounts a file names without lines, resolved like the lines' accounts."""
    if not parsed.accounts:
        return [], []
    with connection.cursor() as cursor:
        cursor.execute("SELECT ref, account_id FROM recon_accounts WHERE ref = ANY(%s)", [parsed.accounts])
        found = dict(cursor.fetchall())
    unknown = [ref for ref in dict.fromkeys(parsed.accounts) if ref not in found]
    kind = f"{Custodian(parsed.custodian).label} account" if parsed.custodian else "account"
    errors = [LineError(None, "account", f"Unknown {kind} {ref[:60]!r}.") for ref in unknown]
    return sorted(set(found.values())), errors


def _validate(
    parsed: Parsed,
    outcome: Outcome,
    declared_errors: list[LineError],
    limit: int,
    force_duplicates: bool = False,
) -> None:
    """Every error of the staged rows, with the adapter's own, into ``outcome``."""
    with connection.cursor() as cursor:
        (bad,) = (0,) if parsed.known_clean else _fetch(cursor, "bad_count", parsed)[0]
        # Duplicates are looked for here only in a file refused anyway; a clean file's are found by the
        # lines' unique index at the insert (``_load``), at no cost to a good file.
        (duplicates,) = (
            _fetch(cursor, "duplicate_count", parsed)[0]
            if (bad or parsed.errors or declared_errors or force_duplicates)
            else (0,)
        )
        errors = list(parsed.errors) + declared_errors
        count = len(errors)
        if bad:
            errors += [LineError(*row) for row in _fetch(cursor, "errors", parsed, [limit])]
            # The listing stops at MAX_LISTED; the count is of every error.
            cursor.execute(
                "SELECT count(*) FROM (" + _sql("errors", parsed).rstrip().rstrip(";") + ") e",
                [10**9],
            )
            count += cursor.fetchone()[0]
        if duplicates:
            for line, first, account, asset in _fetch(cursor, "duplicates", parsed, [limit]):
                errors.append(
                    LineError(line, "asset", f"{asset} appears again for {account} (first on line {first}).")
                )
            count += duplicates
    errors.sort(key=lambda e: (e.line is not None, e.line or 0))
    outcome.errors = errors[:limit]
    outcome.error_count = count


def _load(parsed: Parsed, outcome: Outcome, *, actor, filename: str, declared: list[int]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            _sql("insert_statements", parsed),
            [
                outcome.as_of,
                outcome.business_date,
                outcome.source,
                actor.pk if actor is not None else None,
                outcome.content_hash,
                filename[:255],
                declared,
            ],
        )
        outcome.statement_ids = [row[0] for row in cursor.fetchall()]
        # The lines' foreign keys are deferred (Django makes them so): a million lines would queue two
        # million checks for the commit. Checked as each line goes in instead — the same checks, less
        # bookkeeping; the rows were looked up already, so none fails.
        cursor.execute(
            "SELECT string_agg(quote_ident(conname), ', ') FROM pg_constraint "
            "WHERE conrelid = 'reconciliation_statementline'::regclass AND contype = 'f' AND condeferred"
        )
        (deferred,) = cursor.fetchone()
        if deferred:
            cursor.execute(f"SET CONSTRAINTS {deferred} IMMEDIATE")
        cursor.execute(_sql("insert_lines", parsed), [outcome.content_hash, outcome.source])


def _run(
    *,
    actor,
    fmt: str,
    data: bytes | None,
    body: dict | None,
    as_of: Any,
    channel: str,
    account: str | None,
    filename: str,
    dry_run: bool,
    limit: int = MAX_LISTED,
) -> Outcome:
    if fmt not in adapters.FORMATS:
        raise StatementRefused(
            [LineError(None, "format", f"Unknown format; one of {', '.join(adapters.FORMATS)}.")]
        )
    if body is not None:
        parsed = adapters.parse_json_body(body, account=account)
        data_for_hash = body_bytes(body)
    else:
        assert data is not None
        parsed = adapters.parse(data, format=fmt, account=account)
        data_for_hash = data
    if as_of is None or as_of == "":
        as_of = parsed.as_of
    if isinstance(as_of, Decimal):
        as_of = str(as_of)
    instant, day = resolve_as_of(as_of)
    outcome = Outcome(
        content_hash=content_hash(data_for_hash),
        format=fmt,
        source=_source_for(fmt, channel),
        as_of=instant,
        business_date=day,
    )
    if parsed.errors and parsed.rows is None:  # the header or the file itself: nothing to stage
        outcome.errors, outcome.error_count = parsed.errors[:limit], len(parsed.errors)
        return outcome
    with transaction.atomic(durable=not dry_run), acting_as_if(actor), connection.cursor() as cursor:
        # The same file twice at once: the second waits for the first, then finds its hash stored.
        cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [IMPORT_LOCK, outcome.content_hash])
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM reconciliation_externalstatement WHERE content_hash = %s)",
            [outcome.content_hash],
        )
        outcome.already_imported = cursor.fetchone()[0]
        clean_way = (
            not dry_run
            and not outcome.already_imported
            and parsed.rows is None
            and not parsed.custodian
            and not parsed.accounts
        )
        if clean_way:
            assert data is not None
            if _import_clean_csv(data, parsed, outcome, actor=actor, filename=filename):
                return outcome
            log.debug("statement import: not clean; every fault by line")
        with _Step("stage and resolve"):
            parsed = _stage(data, parsed, typed=not clean_way)
        declared, declared_errors = _declared_account_ids(parsed)
        _validate(parsed, outcome, declared_errors, limit)
        outcome.line_count, outcome.account_count, outcome.asset_count = _fetch(cursor, "totals", parsed)[0]
        if declared:
            outcome.account_count = len(set(declared) | set(_account_ids(cursor)))
        if dry_run:
            outcome.preview = [
                PreviewLine(*row) for row in _fetch(cursor, "preview", parsed, [PREVIEW_LINES])
            ]
            transaction.set_rollback(True)
            return outcome
        if outcome.error_count or outcome.already_imported:
            transaction.set_rollback(True)
            return outcome
        try:
            with _Step("load"), transaction.atomic():
                _load(parsed, outcome, actor=actor, filename=filename, declared=declared)
        except IntegrityError:
            # The same asset twice for an account (the lines' unique index): list every such line.
            _validate(parsed, outcome, declared_errors, limit, force_duplicates=True)
            if not outcome.error_count:
                raise
            transaction.set_rollback(True)
            outcome.statement_ids = []
            return outcome
    return outcome


def _account_ids(cursor) -> list[int]:
    cursor.execute("SELECT DISTINCT account_id FROM recon_resolved WHERE account_id IS NOT NULL")
    return [row[0] for row in cursor.fetchall()]


# --- the service ------------------------------------------------------------------------------------------


def preview_statement(
    *,
    actor,
    format: str,
    data: bytes,
    as_of: Any,
    account: str | None = None,
    channel: str = StatementSource.UPLOAD,
) -> Outcome:
    """What importing ``data`` would store (the first lines) and every error, with nothing stored.
    ``reconciliation.statement.import``. Raises ``PermissionDeniedError`` or ``StatementRefused`` for
    a bad ``as_of``/format; the file's own errors are in the outcome."""
    require(actor, "reconciliation.statement.import", "Only operations and treasury import statements.")
    return _run(
        actor=actor,
        fmt=format,
        data=data,
        body=None,
        as_of=as_of,
        channel=channel,
        account=account,
        filename="",
        dry_run=True,
    )


def import_statement(
    *,
    actor,
    format: str,
    channel: str,
    as_of: Any,
    data: bytes | None = None,
    body: dict | None = None,
    account: str | None = None,
    filename: str = "",
    list_limit: int | None = MAX_LISTED,
) -> Outcome:
    """Import one file (``data`` in ``format``) or one API body (``body``, API.md's JSON) as statements:
    one per account it names, each with its lines, all or nothing.

    ``channel``: ``api``, ``csv``, ``upload`` or ``feed`` (a custodian's format is its own source).
    ``actor`` None is a feed (the import_statements command). ``reconciliation.statement.import``.
    Raises ``PermissionDeniedError``; ``StatementRefused`` with every error by line (nothing stored);
    ``AlreadyImported`` when a file with the same SHA-256 was imported before. ``list_limit``: the errors
    listed (None: all of them, for a feed's .errors.txt); ``error_count`` counts every one."""
    if actor is not None:
        require(actor, "reconciliation.statement.import", "Only operations and treasury import statements.")
    outcome = _run(
        actor=actor,
        fmt=Format.JSON if body is not None else format,
        data=data,
        body=body,
        as_of=as_of,
        channel=channel,
        account=account,
        filename=filename,
        dry_run=False,
        limit=list_limit if list_limit is not None else 10**9,
    )
    if outcome.error_count:
        raise StatementRefused(outcome.errors, error_count=outcome.error_count)
    if outcome.already_imported:
        raise AlreadyImported(
            f"This file was imported before (SHA-256 {outcome.content_hash[:12]}…): each file once.",
        )
    return outcome
