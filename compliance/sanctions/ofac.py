"""OFAC's SDN list in its legacy CSV form (OFAC's "data specification":
../shared/data/ofac-selfxyz/dataspec.txt).

Four files in one folder: ``sdn.csv`` (the entries; the only one required), ``alt.csv`` (aliases),
``add.csv`` (postal addresses) and ``sdn_comments.csv`` (remarks longer than 1,000 characters,
continued). OFAC publishes them without a header row, with CRLF line ends, ``-0-`` (often with a
trailing space) for null, and a Ctrl-Z on the last line; some copies carry a header row
(``ent_num,SDN_name,…``), which is recognised and skipped.

Remarks carry the wallet addresses ("Digital Currency Address - XBT 1Abc…; alt. Digital Currency
Address - ETH 0x…"). A remark cut at 1,000 characters goes on in ``sdn_comments.csv`` mid-word, even
mid-address, so the two are joined before the addresses are read.

Rows of alt, add or sdn_comments naming an entry that sdn.csv does not hold are skipped and reported
as warnings (the files of one publication always agree; files of different dates do not).
"""

from __future__ import annotations

import re
from pathlib import Path

from compliance.errors import SanctionsFileError
from compliance.models import ListFormat
from compliance.sanctions.files import ParsedEntry, ParsedList, SourceFile, csv_rows, decode, fingerprint

SDN, ALT, ADD, COMMENTS = "sdn.csv", "alt.csv", "add.csv", "sdn_comments.csv"
COLUMNS = {SDN: 12, ALT: 5, ADD: 6, COMMENTS: 2}
NULL = "-0-"
# "Digital Currency Address - XBT 1Abc…" (also after "alt."): the currency code as OFAC lists it, then
# the address, which is letters and digits only (a trailing ';' or '.' ends it).
# (Codes of at most 16 characters and addresses of at most 200, the columns' sizes: no currency or
# address is longer.)
WALLET = re.compile(r"Digital Currency Address - ([A-Za-z0-9]{1,16}) ([A-Za-z0-9]{1,200})(?![A-Za-z0-9])")
MAX_UID, MAX_TYPE = 100, 32
REMARKS_LIMIT = 1000  # longer remarks are cut here and continued in sdn_comments.csv
SDN_DETAILS = ("title", "call_sign", "vessel_type", "tonnage", "grt", "vessel_flag", "vessel_owner")


def _cell(value: str) -> str:
    value = value.strip()
    return "" if value == NULL else value


def _rows(source: SourceFile, columns: int) -> tuple[list[tuple[int, list[str]]], bool]:
    """The file's records, each with ``columns`` cells (else refused with its line), and whether a
    header row was skipped (the first cell of a data row is always the entry number)."""
    rows = list(csv_rows(source, decode(source)))
    has_header = bool(rows) and rows[0][1][0].strip().lower() == "ent_num"
    if has_header:
        rows = rows[1:]
    for line, cells in rows:
        if len(cells) != columns:
            raise SanctionsFileError(
                source.name, line, f"expected {columns} columns, found {len(cells)} (a cut or broken line)."
            )
        if not cells[0].strip().isdigit() or len(cells[0].strip()) > MAX_UID:
            raise SanctionsFileError(
                source.name, line, f"the entry number {cells[0][:20]!r} is not a number."
            )
    return rows, has_header


def find_files(path: Path) -> dict[str, Path]:
    """The list's files from PATH, the folder or its sdn.csv: sdn.csv is required, the others are read
    when they are beside it."""
    folder = path if path.is_dir() else path.parent
    sdn = path if path.is_file() else folder / SDN
    if not sdn.is_file():
        raise SanctionsFileError(SDN, None, f"not found in {folder}.")
    found = {SDN: sdn}
    for name in (ALT, ADD, COMMENTS):
        candidate = folder / name
        if candidate.is_file():
            found[name] = candidate
    return found


def parse_path(path: Path) -> ParsedList:
    return parse({name: SourceFile.read(p) for name, p in find_files(path).items()})


def parse(sources: dict[str, SourceFile]) -> ParsedList:
    """Parse the files (keyed by their role: sdn.csv, alt.csv, add.csv, sdn_comments.csv)."""
    if SDN not in sources:
        raise SanctionsFileError(SDN, None, "is required.")
    parsed = ParsedList(source_format=ListFormat.OFAC_SDN_CSV)
    rows = {}
    for role, source in sources.items():
        rows[role], has_header = _rows(source, COLUMNS[role])
        parsed.files[role] = {**fingerprint(source, len(rows[role])), "header_row": has_header}

    entries: dict[str, ParsedEntry] = {}
    for line, cells in rows[SDN]:
        uid = cells[0].strip()
        if uid in entries:
            raise SanctionsFileError(sources[SDN].name, line, f"entry {uid} is listed twice.")
        name = _cell(cells[1])
        if not name:
            raise SanctionsFileError(sources[SDN].name, line, f"entry {uid} has no name.")
        if len(_cell(cells[2])) > MAX_TYPE:
            raise SanctionsFileError(sources[SDN].name, line, f"entry {uid} has no type OFAC uses.")
        programs = "; ".join(p.strip() for p in _cell(cells[3]).split("] [") if p.strip())
        details = {
            key: _cell(value) for key, value in zip(SDN_DETAILS, cells[4:11], strict=True) if _cell(value)
        }
        entries[uid] = ParsedEntry(
            uid=uid,
            name=name,
            entry_type=_cell(cells[2]).lower() or "entity",
            programs=programs,
            # Not stripped yet: a remark cut at 1,000 characters may end in the space before an address.
            remarks=cells[11] if _cell(cells[11]) else "",
            details=details,
        )
    if not entries:
        raise SanctionsFileError(sources[SDN].name, None, "holds no entries.")

    skipped: dict[str, int] = {}
    # A remark of exactly 1,000 characters was cut: the rest is in sdn_comments.csv, joined as it is
    # (the cut falls anywhere, even inside an address).
    cut = {uid for uid, entry in entries.items() if len(entry.remarks) >= REMARKS_LIMIT}
    for _line, cells in rows.get(COMMENTS, []):
        entry = entries.get(cells[0].strip())
        if entry is None:
            skipped[COMMENTS] = skipped.get(COMMENTS, 0) + 1
            continue
        entry.remarks += cells[1]
        cut.discard(entry.uid)

    incomplete = 0
    for entry in entries.values():
        entry.remarks = entry.remarks.strip()
        parsed.entries.append(entry)
        parsed.names.append((entry.uid, entry.name, "primary", True))
        seen = set()
        if "Digital Currency Address" not in entry.remarks:
            continue  # most entries: no need to run the pattern
        for match in WALLET.finditer(entry.remarks):
            if entry.uid in cut and match.end() == len(entry.remarks):
                incomplete += 1  # cut with its continuation missing: a part of an address is not one
                continue
            currency, address = match.group(1).upper(), match.group(2)
            if (currency, address) not in seen:
                seen.add((currency, address))
                parsed.wallets.append((entry.uid, currency, address))
    if incomplete:
        parsed.warnings.append(
            f"{incomplete} wallet address(es) at the end of a remark cut at {REMARKS_LIMIT} characters, "
            f"whose continuation ({COMMENTS}) is missing, were skipped: they may be incomplete."
        )

    for _line, cells in rows.get(ALT, []):
        uid, name = cells[0].strip(), _cell(cells[3])
        if uid not in entries:
            skipped[ALT] = skipped.get(ALT, 0) + 1
            continue
        if name:
            parsed.names.append((uid, name, _cell(cells[2]).lower() or "aka", False))

    for _line, cells in rows.get(ADD, []):
        uid = cells[0].strip()
        if uid not in entries:
            skipped[ADD] = skipped.get(ADD, 0) + 1
            continue
        parsed.postal.append((uid, _cell(cells[2]), _cell(cells[3]), _cell(cells[4]), _cell(cells[5])))

    for role, count in sorted(skipped.items()):
        parsed.warnings.append(f"{role}: {count} row(s) name entries that {SDN} does not hold; skipped.")
    return parsed
