"""Sanctions test set-up: the real list files (../shared/data, beside the project), read independently
of the importer to know what they hold, and a second compliance officer for the four-eyes rule."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings

from borrowdesk.access.services import create_desk_user
from tests.conftest import PASSWORD

DATA = Path(settings.BASE_DIR).parent / "shared" / "data"
OFACTEST = DATA / "ofac-watchman-ofactest"
BENCH = DATA / "ofac-watchman-bench"
SELFXYZ = DATA / "ofac-selfxyz"
SOURCES = DATA / "ofac-watchman-sources"
FIXTURES = DATA / "opensanctions-nomenklatura-ofac-fixtures" / "ofac_fixtures.csv"

WALLET = re.compile(r"Digital Currency Address - ([A-Za-z0-9]+) ([A-Za-z0-9]+)")


@dataclass
class Holds:
    """What a folder of OFAC files holds, counted here with the csv module (not the importer)."""

    entries: dict[str, list[str]] = field(default_factory=dict)  # ent_num → sdn row
    aliases: int = 0
    addresses: int = 0
    wallets: set[tuple[str, str, str]] = field(default_factory=set)  # (ent_num, code, address)
    header: bool = False


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = [r for r in csv.reader(f) if r and r != ["\x1a"]]
    return rows[1:] if rows and rows[0][0] == "ent_num" else rows


def ofac_holds(folder: Path) -> Holds:
    holds = Holds()
    sdn = _rows(folder / "sdn.csv")
    with (folder / "sdn.csv").open(encoding="utf-8") as f:
        holds.header = f.readline().startswith("ent_num")
    holds.entries = {r[0]: r for r in sdn}
    if (folder / "alt.csv").exists():
        holds.aliases = sum(1 for r in _rows(folder / "alt.csv") if r[0] in holds.entries)
    if (folder / "add.csv").exists():
        holds.addresses = sum(1 for r in _rows(folder / "add.csv") if r[0] in holds.entries)
    remarks = {uid: ("" if r[11].strip() == "-0-" else r[11]) for uid, r in holds.entries.items()}
    continued = set()
    if (folder / "sdn_comments.csv").exists():
        for uid, text in _rows(folder / "sdn_comments.csv"):
            if uid in remarks:
                remarks[uid] += text
                continued.add(uid)
    for uid, text in remarks.items():
        cut = len(holds.entries[uid][11]) >= 1000 and uid not in continued
        text = text.strip()
        for m in WALLET.finditer(text):
            if cut and m.end() == len(text):
                continue  # the end of a cut remark without its continuation: not a whole address
            holds.wallets.add((uid, m.group(1).upper(), m.group(2)))
    return holds


@pytest.fixture(autouse=True)
def _fresh_matchers():
    from compliance.sanctions.screening import forget_matchers

    forget_matchers()
    yield
    forget_matchers()


@pytest.fixture
def cora(personas):
    """A second compliance officer (carl is the first): the four-eyes rule needs two."""
    return create_desk_user(username="cora", password=PASSWORD, roles=["compliance"])


def import_list(path: Path, *, source_format: str = "ofac-sdn-csv", name: str = "", actor=None):
    """Import through the service, without scheduling the rescreen (tests run it themselves)."""
    from compliance.sanctions.services import import_sanctions_list

    return import_sanctions_list(
        actor=actor, source_format=source_format, path=path, source_name=name, rescreen=False
    )


def linked(tmp_path: Path, **files: Path) -> Path:
    """A folder of symbolic links to real files under the names OFAC gives them (nothing copied)."""
    folder = tmp_path / "list"
    folder.mkdir(exist_ok=True)
    for name, target in files.items():
        (folder / f"{name}.csv").symlink_to(target)
    return folder
