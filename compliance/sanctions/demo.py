"""The demo's sanctions list: OFAC's 17-entry subset (../shared/data/ofac-watchman-ofactest), for the
demo seed to call once its counterparties and custody accounts exist.

    from compliance.sanctions.demo import import_demo_list
    import_demo_list(actor=None)  # or the demo's compliance user

It imports the subset as "OFAC SDN" (unless that list is already in force) and rescreens every
counterparty and custody address here and now (a JobRun is recorded), so a counterparty named like
an entry ("Suex OTC s.r.o.", entry 33151) or holding a listed wallet address shows as a potential
match with its requests held.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from compliance.models import ListFormat, SanctionsListVersion


def demo_list_path() -> Path:
    return Path(settings.BASE_DIR).parent / "shared" / "data" / "ofac-watchman-ofactest"


def import_demo_list(*, actor=None, path: Path | None = None) -> SanctionsListVersion | None:
    """Import the 17-entry subset and rescreen; None when its files are not there (a deployment
    without ../shared/data). Idempotent: the same files as the list in force change nothing."""
    from compliance.sanctions import services
    from compliance.tasks import rescreen_after_import

    path = path or demo_list_path()
    if not (path / "sdn.csv").is_file():
        return None
    result = services.import_sanctions_list(
        actor=actor, source_format=ListFormat.OFAC_SDN_CSV, path=path, rescreen=False
    )
    if not result.unchanged:
        rescreen_after_import(result.version.pk)
    return result.version
