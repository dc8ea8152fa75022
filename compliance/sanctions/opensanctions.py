"""OpenSanctions' simplified CSV export (``targets.simple.csv``): one row per listed target.

Columns (a header row, always): ``id, schema, name, aliases, birth_date, countries, addresses,
identifiers, sanctions, phones, emails, program_ids, dataset, first_seen, last_seen, last_change``;
the older export without ``program_ids`` (15 columns) is read too. Multi-valued cells hold values
joined with ';', each quoted CSV-style when it contains one. Columns are found by their header name,
so their order does not matter; a row with another number of cells than the header is refused with
its line.

A ``CryptoWallet`` target's name is its address (its public key): it becomes a screenable wallet
address, with no currency code (the export does not carry it).
"""

from __future__ import annotations

from pathlib import Path

from compliance.errors import SanctionsFileError
from compliance.models import ListFormat
from compliance.sanctions.files import (
    ParsedEntry,
    ParsedList,
    SourceFile,
    csv_rows,
    decode,
    fingerprint,
    split_multi,
)

FILE = "targets.simple.csv"
REQUIRED = ("id", "schema", "name", "aliases", "addresses", "sanctions", "dataset")
COLUMNS_2023 = (
    "id", "schema", "name", "aliases", "birth_date", "countries", "addresses", "identifiers", "sanctions",
    "phones", "emails", "dataset", "first_seen", "last_seen", "last_change",
)  # fmt: skip
COLUMNS = COLUMNS_2023[:11] + ("program_ids",) + COLUMNS_2023[11:]
DETAILS = ("birth_date", "countries", "identifiers", "phones", "emails", "dataset", "first_seen",
           "last_seen", "last_change")  # fmt: skip
ENTRY_TYPES = {
    "person": "individual", "organization": "entity", "company": "entity", "legalentity": "entity",
    "publicbody": "entity", "vessel": "vessel", "airplane": "aircraft", "cryptowallet": "wallet",
}  # fmt: skip


def find_file(path: Path) -> Path:
    file = path / FILE if path.is_dir() else path
    if not file.is_file():
        raise SanctionsFileError(FILE, None, f"not found at {path}.")
    return file


def parse_path(path: Path) -> ParsedList:
    return parse({FILE: SourceFile.read(find_file(path))})


def parse(sources: dict[str, SourceFile]) -> ParsedList:
    source = sources.get(FILE) or next(iter(sources.values()), None)
    if source is None:
        raise SanctionsFileError(FILE, None, "is required.")
    rows = iter(csv_rows(source, decode(source)))
    try:
        _, header = next(rows)
    except StopIteration:
        raise SanctionsFileError(source.name, None, "is empty.") from None
    header = [h.strip().lower() for h in header]
    missing = [name for name in REQUIRED if name not in header]
    if missing or tuple(sorted(header)) not in (tuple(sorted(COLUMNS)), tuple(sorted(COLUMNS_2023))):
        raise SanctionsFileError(
            source.name,
            1,
            "the header is not OpenSanctions' targets.simple.csv "
            f"(expected {', '.join(COLUMNS)}; program_ids may be absent).",
        )
    at = {name: i for i, name in enumerate(header)}
    parsed = ParsedList(source_format=ListFormat.OPENSANCTIONS_CSV)
    seen: set[str] = set()
    count = 0
    for line, cells in rows:
        count += 1
        if len(cells) != len(header):
            raise SanctionsFileError(
                source.name,
                line,
                f"expected {len(header)} columns, found {len(cells)} (a cut or broken line).",
            )
        row = {name: cells[i].strip() for name, i in at.items()}
        uid, name = row["id"], row["name"]
        if not uid or len(uid) > 100:
            raise SanctionsFileError(source.name, line, "the id is empty or longer than 100 characters.")
        if len(row["schema"]) > 32:
            raise SanctionsFileError(source.name, line, "the schema is not one of OpenSanctions'.")
        if uid in seen:
            raise SanctionsFileError(source.name, line, f"target {uid} is listed twice.")
        if not name:
            raise SanctionsFileError(source.name, line, f"target {uid} has no name.")
        seen.add(uid)
        schema = row["schema"]
        entry_type = ENTRY_TYPES.get(schema.lower(), schema.lower() or "entity")
        programs = split_multi(row.get("program_ids", "")) or split_multi(row["sanctions"])
        parsed.entries.append(
            ParsedEntry(
                uid=uid,
                name=name,
                entry_type=entry_type,
                programs="; ".join(programs),
                remarks=row["sanctions"],
                details={key: row[key] for key in DETAILS if row.get(key)} | {"schema": schema},
            )
        )
        parsed.names.append((uid, name, "primary", True))
        for alias in split_multi(row["aliases"]):
            if alias != name:
                parsed.names.append((uid, alias, "alias", False))
        for address in split_multi(row["addresses"]):
            parsed.postal.append((uid, address, "", "", ""))
        if entry_type == "wallet":
            if len(name) > 200:
                raise SanctionsFileError(
                    source.name, line, f"wallet {uid}: an address longer than 200 characters."
                )
            parsed.wallets.append((uid, "", name))
    if not parsed.entries:
        raise SanctionsFileError(source.name, None, "holds no targets.")
    parsed.files[FILE] = {**fingerprint(source, count), "header_row": True}
    return parsed
