"""Writing a parsed list: bulk, with PostgreSQL COPY, inside the import's transaction.

Entries first (one COPY), then their ids read back by uid in one query, then names, postal and wallet
addresses (one COPY each). Values go as quoted CSV, so an empty text is an empty string, not NULL.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence

from django.db import connection

from compliance.models import SanctionsAddress, SanctionsEntry, SanctionsName, SanctionsPostalAddress
from compliance.sanctions.files import ParsedList
from compliance.sanctions.normalize import normalize_address, normalize_name


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """COPY ``rows`` into ``table`` (its ``columns``, in order); the number of rows written."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)", buffer)
    return count


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
