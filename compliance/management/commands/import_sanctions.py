"""import_sanctions --format ofac-sdn-csv|opensanctions-csv PATH [--name NAME] [--rescreen-now]"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from borrowdesk.errors import DomainError
from compliance.models import ListFormat
from compliance.sanctions import services


class Command(BaseCommand):
    help = (
        "Import a sanctions list as the version in force of its source: OFAC's legacy CSV (PATH: the "
        "folder of sdn.csv, alt.csv, add.csv, sdn_comments.csv, or its sdn.csv) or OpenSanctions' "
        "targets.simple.csv. A broken file changes nothing and names its line."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--format", dest="source_format", required=True, choices=ListFormat.values)
        parser.add_argument("--name", default="", help="the list's name (default: OFAC SDN / OpenSanctions)")
        parser.add_argument(
            "--rescreen-now",
            action="store_true",
            help="rescreen every counterparty and address here and now, instead of by a Celery worker",
        )

    def handle(self, *args, path: Path, source_format: str, name: str, rescreen_now: bool, **options):
        try:
            result = services.import_sanctions_list(
                actor=None,
                source_format=source_format,
                path=path,
                source_name=name,
                rescreen=not rescreen_now,
            )
        except DomainError as error:
            raise CommandError(error.detail) from None
        version = result.version
        if result.unchanged:
            self.stdout.write(f"{version.source_name}: the same files as the list in force; nothing changed.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"{version.source_name} version {version.pk} in force: {version.entry_count} entries, "
                f"{version.alias_count} aliases, {version.address_count} addresses, "
                f"{version.digital_address_count} wallet addresses (sha256 {version.content_hash[:12]}…)."
            )
        )
        for warning in version.warnings:
            self.stdout.write(self.style.WARNING(warning))
        if rescreen_now:
            from borrowdesk.operations.models import JobRun
            from compliance.tasks import rescreen_after_import

            run = JobRun.objects.get(pk=rescreen_after_import(version.pk))
            self.stdout.write(f"Rescreened: {run.counts}")
        else:
            self.stdout.write("Every counterparty and address is rescreened by a worker now.")
