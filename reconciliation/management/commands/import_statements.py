"""import_statements DIR [--format FORMAT] [--as-of WHEN] [--account ID]

Import every statement file custodians' feeds dropped in DIR, each file once (by its SHA-256). A file
imported (or one imported before) is moved to DIR/done/; a refused one to DIR/failed/ with
``<name>.errors.txt`` beside it listing every error by line. Nothing of a refused file is stored.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from borrowdesk.errors import DomainError
from reconciliation.models import StatementSource
from reconciliation.statements.adapters import FORMATS, Format
from reconciliation.statements.errors import AlreadyImported, StatementRefused
from reconciliation.statements.services import import_statement

SKIPPED_SUFFIXES = (".errors.txt", ".tmp", ".part", ".partial")
NAME_PREFIXES = {  # a .json file's format by its name, when --format does not say
    "fireblocks": Format.FIREBLOCKS,
    "coinbase_prime": Format.COINBASE_PRIME,
    "coinbase-prime": Format.COINBASE_PRIME,
    "bitgo": Format.BITGO,
}


def format_of(path: Path, default: str | None) -> str:
    """--format, else by the file's name: ``*.csv`` the generic CSV; ``fireblocks*.json``,
    ``coinbase_prime*.json``, ``bitgo*.json`` the custodians'; any other ``.json`` API.md's body."""
    if default:
        return default
    name = path.name.lower()
    if name.endswith(".csv"):
        return Format.CSV
    for prefix, fmt in NAME_PREFIXES.items():
        if name.startswith(prefix):
            return fmt
    return Format.JSON


def _free(folder: Path, name: str) -> Path:
    """``folder/name``, or ``name.1``, ``name.2``… when a file of that name is already there."""
    target, n = folder / name, 0
    while target.exists():
        n += 1
        target = folder / f"{name}.{n}"
    return target


class Command(BaseCommand):
    help = (
        "Import the statement files in DIR (each once, by content hash): imported ones go to DIR/done/, "
        "refused ones to DIR/failed/ with <name>.errors.txt listing every error by line."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)
        parser.add_argument(
            "--format", choices=FORMATS, default=None, help="every file's format (default: by name)"
        )
        parser.add_argument(
            "--as-of", dest="as_of", default=None, help="timestamp or business date (default: now)"
        )
        parser.add_argument(
            "--account", default=None, help="Coinbase Prime: the portfolio id a file does not name"
        )

    def handle(
        self, *args, directory: Path, format: str | None, as_of: str | None, account: str | None, **options
    ):
        if not directory.is_dir():
            raise CommandError(f"{directory} is not a directory.")
        done, failed = directory / "done", directory / "failed"
        done.mkdir(exist_ok=True)
        failed.mkdir(exist_ok=True)
        files = sorted(
            p
            for p in directory.iterdir()
            if p.is_file() and not p.name.startswith(".") and not p.name.endswith(SKIPPED_SUFFIXES)
        )
        counts = {"imported": 0, "already": 0, "failed": 0}
        for path in files:
            outcome = self._one(path, done, failed, format_of(path, format), as_of, account)
            counts[outcome] += 1
        summary = (
            f"{counts['imported']} imported, {counts['already']} imported before, {counts['failed']} refused."
        )
        if counts["failed"]:
            raise CommandError(summary + f" See {failed}/*.errors.txt.")
        self.stdout.write(self.style.SUCCESS(summary))

    def _one(
        self, path: Path, done: Path, failed: Path, fmt: str, as_of: str | None, account: str | None
    ) -> str:
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # another run took it meanwhile
            return "already"
        errors: list[str]
        if len(data) > settings.RECONCILIATION_MAX_FILE_BYTES:
            errors = [f"file: larger than {settings.RECONCILIATION_MAX_FILE_BYTES:,} bytes."]
        else:
            try:
                outcome = import_statement(
                    actor=None,
                    format=fmt,
                    channel=StatementSource.FEED,
                    as_of=as_of or timezone.now(),
                    data=data,
                    account=account,
                    filename=path.name,
                    list_limit=None,
                )
            except AlreadyImported:
                shutil.move(path, _free(done, path.name))
                self.stdout.write(f"{path.name}: imported before (same SHA-256); moved to done/.")
                return "already"
            except StatementRefused as refused:
                errors = [str(e) for e in refused.errors]
            except DomainError as error:
                errors = [error.detail]
            else:
                shutil.move(path, _free(done, path.name))
                self.stdout.write(
                    f"{path.name}: {outcome.line_count:,} lines, {len(outcome.statement_ids):,} statements "
                    f"({fmt}); moved to done/."
                )
                return "imported"
        target = _free(failed, path.name)
        shutil.move(path, target)
        report = target.with_name(target.name + ".errors.txt")
        report.write_text(
            f"{path.name} ({fmt}) was refused whole; nothing of it was imported. {len(errors):,} errors:\n"
            + "\n".join(errors)
            + "\n"
        )
        self.stderr.write(
            f"{path.name}: refused ({len(errors):,} errors); moved to failed/ with {report.name}."
        )
        return "failed"
