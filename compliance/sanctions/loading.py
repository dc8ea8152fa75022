"""Writing a parsed list: bulk, with PostgreSQL COPY, inside the import's transaction.

Entries first (one COPY), then their ids read back by uid in one query, then names, postal and wallet
addresses (one COPY each). Values go as quoted CSV, so an empty text is an empty string and only None
is NULL. A rescreen's screenings and matches go the same way (``copy_instances``).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.contrib.postgres.fields import ArrayField
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models

from compliance.models import SanctionsAddress, SanctionsEntry, SanctionsName, SanctionsPostalAddress
from compliance.sanctions.files import ParsedList
from compliance.sanctions.normalize import normalize_address, normalize_name


def _csv_cell(value: object) -> str:
    """One COPY csv cell: NULL unquoted and empty, anything else quoted (an empty text stays '')."""
    if value is None:
        return ""
    text = ("t" if value else "f") if isinstance(value, bool) else str(value)
    return '"' + text.replace('"', '""') + '"'


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """COPY ``rows`` into ``table`` (its ``columns``, in order); None is NULL. The rows written."""
    buffer = io.StringIO()
    count = 0
    for row in rows:
        buffer.write(",".join(_csv_cell(value) for value in row))
        buffer.write("\n")
        count += 1
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)", buffer)
    return count


def _db_value(field: models.Field, value: object) -> object:
    if value is None:
        return None
    if isinstance(field, models.JSONField):
        return json.dumps(value, cls=DjangoJSONEncoder)
    if isinstance(field, ArrayField):
        return "{" + ",".join(str(item) for item in value) + "}"  # type: ignore[attr-defined]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def copy_instances(instances: Sequence[models.Model]) -> None:
    """Insert unsaved instances of one model with COPY, giving each its id first (taken from the
    table's identity sequence, as an INSERT would). Triggers run as for INSERTs (audit included)."""
    if not instances:
        return
    model = type(instances[0])
    table = model._meta.db_table
    with connection.cursor() as cursor:
        # Through Django's cursor and not as a bare SELECT: pghistory then sets the acting user's
        # context for the transaction (it skips statements that begin with SELECT), and the audit
        # trigger the COPY fires reads it (the driver's copy_expert goes around Django's wrappers).
        cursor.execute(
            "WITH ids AS (SELECT nextval(pg_get_serial_sequence(%s, 'id')) AS id "
            "FROM generate_series(1, %s)) SELECT id FROM ids",
            [table, len(instances)],
        )
        for instance, (pk,) in zip(instances, cursor.fetchall(), strict=True):
            instance.pk = pk
    fields = [f for f in model._meta.concrete_fields]
    copy_rows(
        table,
        [f.column for f in fields],
        ([_db_value(f, getattr(obj, f.attname)) for f in fields] for obj in instances),
    )
    for instance in instances:
        instance._state.adding = False


def load(parsed: ParsedList, version_id: int) -> None:
    """Write the parsed list's rows as version ``version_id`` (which must exist, in this transaction)."""
    copy_rows(
        SanctionsEntry._meta.db_table,
        ["version_id", "uid", "name", "entry_type", "programs", "remarks", "details"],
        (
            (version_id, e.uid, e.name, e.entry_type, e.programs, e.remarks, json.dumps(e.details))
            for e in parsed.entries
        ),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT uid, id FROM {SanctionsEntry._meta.db_table} WHERE version_id = %s", [version_id]
        )
        ids = dict(cursor.fetchall())
    copy_rows(
        SanctionsName._meta.db_table,
        ["version_id", "entry_id", "name", "normalized", "kind", "is_primary"],
        (
            (version_id, ids[uid], name, normalize_name(name), kind, "t" if is_primary else "f")
            for uid, name, kind, is_primary in parsed.names
        ),
    )
    copy_rows(
        SanctionsPostalAddress._meta.db_table,
        ["version_id", "entry_id", "address", "city", "country", "remarks"],
        ((version_id, ids[uid], *rest) for uid, *rest in parsed.postal),
    )
    copy_rows(
        SanctionsAddress._meta.db_table,
        ["version_id", "entry_id", "currency", "address", "normalized"],
        (
            (version_id, ids[uid], currency, address, normalize_address(address))
            for uid, currency, address in parsed.wallets
        ),
    )
