"""What every list format parses into, and how a list's files are read: as text, line by line, with the
file and line named in every refusal.

A parser reads everything before anything is written, so a broken file (a cut line, a wrong number of
columns, bytes that are not UTF-8) raises ``SanctionsFileError`` and leaves the list in force as it is.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from compliance.errors import SanctionsFileError

CTRL_Z = "\x1a"  # DOS end-of-file: OFAC's files end with it on a line of its own


@dataclass
class ParsedEntry:
    uid: str
    name: str
    entry_type: str
    programs: str = ""
    remarks: str = ""
    details: dict = field(default_factory=dict)


@dataclass
class ParsedList:
    """A list as read from its files, ready to load: entries and their names, postal and wallet
    addresses (each keyed by the entry's uid), what was skipped, and the files' fingerprints."""

    source_format: str
    entries: list[ParsedEntry] = field(default_factory=list)
    names: list[tuple[str, str, str, bool]] = field(default_factory=list)  # uid, name, kind, is_primary
    postal: list[tuple[str, str, str, str, str]] = field(
        default_factory=list
    )  # uid, address, city, country, remarks
    wallets: list[tuple[str, str, str]] = field(default_factory=list)  # uid, currency, address
    warnings: list[str] = field(default_factory=list)
    files: dict[str, dict] = field(default_factory=dict)  # file name → {sha256, bytes, rows}

    @property
    def alias_count(self) -> int:
        return sum(1 for *_, is_primary in self.names if not is_primary)

    @property
    def content_hash(self) -> str:
        """SHA-256 over the files' own hashes, by file name: the same files give the same hash."""
        digest = hashlib.sha256()
        for name in sorted(self.files):
            digest.update(f"{name}:{self.files[name]['sha256']}\n".encode())
        return digest.hexdigest()

    def counts(self) -> dict[str, int]:
        return {
            "entries": len(self.entries),
            "aliases": self.alias_count,
            "addresses": len(self.postal),
            "digital_addresses": len(self.wallets),
        }


@dataclass
class SourceFile:
    """One file of a list: its name as shown in errors, and its bytes."""

    name: str
    data: bytes

    @classmethod
    def read(cls, path: Path) -> SourceFile:
        try:
            return cls(path.name, path.read_bytes())
        except OSError as error:
            raise SanctionsFileError(path.name, None, f"cannot be read ({error.strerror}).") from None


def decode(source: SourceFile) -> str:
    """The file as text: UTF-8 (ASCII, which OFAC's specification names, is a part of it), with a
    leading byte-order mark dropped and a trailing Ctrl-Z line removed. Bytes that are not UTF-8, a NUL
    byte, or a Ctrl-Z anywhere but at the end are refused with their line."""
    try:
        text = source.data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = source.data.count(b"\n", 0, error.start) + 1
        raise SanctionsFileError(
            source.name, line, f"is not UTF-8 text (byte 0x{source.data[error.start]:02x})."
        ) from None
    text = text.removeprefix("\ufeff")
    stripped = text.rstrip("\r\n")
    if stripped.endswith(CTRL_Z):
        text = stripped[:-1]
    for bad, what in (("\x00", "a NUL byte"), (CTRL_Z, "a Ctrl-Z before the end of the file")):
        at = text.find(bad)
        if at >= 0:
            raise SanctionsFileError(source.name, text.count("\n", 0, at) + 1, f"holds {what}.")
    return text


def fingerprint(source: SourceFile, rows: int) -> dict:
    return {"sha256": hashlib.sha256(source.data).hexdigest(), "bytes": len(source.data), "rows": rows}


def csv_rows(source: SourceFile, text: str, *, delimiter: str = ",") -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every record, blank lines skipped. An unterminated quote (a file cut in
    the middle of a field) is refused with the line it starts on."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise SanctionsFileError(source.name, start, f"is not valid CSV ({error}).") from None
        if cells and any(cell.strip() for cell in cells):
            yield start, cells
        start = reader.line_num + 1


def split_multi(value: str) -> list[str]:
    """OpenSanctions' multi-value cell: values joined with ';', each quoted CSV-style when it holds one."""
    if not value:
        return []
    return [v.strip() for v in next(csv.reader([value], delimiter=";")) if v.strip()]
