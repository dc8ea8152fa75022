"""Importing sanctions lists from the real files (../shared/data): counts equal what the files hold, the
header-row and no-header forms, remarks continued in sdn_comments.csv, OpenSanctions' export, and a
broken file that leaves the list in force and names its line."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from compliance.errors import SanctionsFileError
from compliance.models import (
    SanctionsAddress,
    SanctionsEntry,
    SanctionsListVersion,
    SanctionsName,
    SanctionsPostalAddress,
)
from tests.compliance.conftest import BENCH, OFACTEST, SELFXYZ, SOURCES, import_list, linked, ofac_holds


def _rows_of(version):
    return (
        SanctionsEntry.objects.filter(version=version).count(),
        SanctionsName.objects.filter(version=version, is_primary=False).count(),
        SanctionsPostalAddress.objects.filter(version=version).count(),
        SanctionsAddress.objects.filter(version=version).count(),
    )


def _wallets_of(version) -> set[tuple[str, str, str]]:
    return set(
        SanctionsAddress.objects.filter(version=version).values_list("entry__uid", "currency", "address")
    )


def test_the_2021_list_imports_with_every_entry_alias_and_address_the_files_hold(db):
    holds = ofac_holds(BENCH)
    assert (len(holds.entries), holds.aliases, holds.addresses) == (8976, 11910, 13837)  # SOURCE.md
    # COPY, not a row at a time: a handful of statements whatever the list's size (COPY itself goes
    # through the driver's copy_expert, which Django does not count).
    with CaptureQueriesContext(connection) as queries:
        version = import_list(BENCH).version
    assert len(queries) < 25
    counts = (len(holds.entries), holds.aliases, holds.addresses, len(holds.wallets))
    assert _rows_of(version) == counts
    assert (
        version.entry_count,
        version.alias_count,
        version.address_count,
        version.digital_address_count,
    ) == (counts)
    assert _wallets_of(version) == holds.wallets
    assert version.is_active and version.warnings == []
    assert len(version.content_hash) == 64 and set(version.files) == {
        "sdn.csv",
        "alt.csv",
        "add.csv",
        "sdn_comments.csv",
    }
    assert version.files["sdn.csv"]["header_row"] is False


def test_the_2024_list_with_a_header_row_imports_without_taking_the_header_for_an_entry(db):
    holds = ofac_holds(SELFXYZ)
    assert holds.header and len(holds.entries) == 15402
    version = import_list(SELFXYZ / "sdn.csv").version  # its sdn.csv: add.csv beside it is read too
    assert _rows_of(version) == (15402, 0, holds.addresses, len(holds.wallets))
    assert not SanctionsEntry.objects.filter(version=version, uid="ent_num").exists()
    assert version.files["sdn.csv"]["header_row"] and version.files["add.csv"]["header_row"]
    assert _wallets_of(version) == holds.wallets
    # Remarks cut at 1,000 characters with no sdn_comments.csv beside them: the address at the cut is
    # not whole, so it is not taken (and the import says so).
    assert any("cut at 1000 characters" in warning for warning in version.warnings)


def test_an_sdn_csv_alone_is_a_list(db, tmp_path):
    version = import_list(linked(tmp_path, sdn=BENCH / "sdn.csv")).version
    assert (version.entry_count, version.alias_count, version.address_count) == (8976, 0, 0)
    assert set(version.files) == {"sdn.csv"}


def test_remarks_continued_in_sdn_comments_are_joined_before_addresses_are_read(db, tmp_path):
    # The 2025 sdn_comments.csv continues remarks of the 2024 sdn.csv: addresses cut in two by the
    # 1,000-character limit are whole again, and the many addresses only in the continuation are read.
    folder = linked(tmp_path, sdn=SELFXYZ / "sdn.csv", sdn_comments=SOURCES / "sdn_comments.csv")
    holds = ofac_holds(folder)
    version = import_list(folder).version
    wallets = _wallets_of(version)
    assert wallets == holds.wallets and version.digital_address_count == len(holds.wallets)
    assert (
        "29703",
        "ETH",
        "0x8576acc5c05d6ce88f4e49bf65bdf0c62f91353c",
    ) in wallets  # "…Addres" + "s - ETH 0x…"
    assert ("39593", "XBT", "194xmrZA53UBsZau2PnJLdmVVW9m5feeS") in wallets  # "… - XBT " + "194xmr…"
    assert ("33151", "XBT", "1B64QRxfaa35MVkf7sDjuGUYAP5izQt7Qi") in wallets  # "1B64QRxf" + "aa35…"
    assert len(wallets) > 2 * len(_wallets_of(import_list(SELFXYZ, name="without comments").version))
    # The one continuation of an entry this sdn.csv does not hold is reported, not silently dropped.
    assert version.warnings == [
        "sdn_comments.csv: 1 row(s) name entries that sdn.csv does not hold; skipped."
    ]


def test_the_17_entry_subset_joins_its_split_address_and_reports_rows_of_entries_it_does_not_hold(db):
    holds = ofac_holds(OFACTEST)
    version = import_list(OFACTEST).version
    assert _rows_of(version) == (17, holds.aliases, holds.addresses, len(holds.wallets))
    assert ("33151", "XBT", "1B64QRxfaa35MVkf7sDjuGUYAP5izQt7Qi") in _wallets_of(version)
    assert sorted(version.warnings) == [
        "add.csv: 4 row(s) name entries that sdn.csv does not hold; skipped.",
        "alt.csv: 5 row(s) name entries that sdn.csv does not hold; skipped.",
    ]


def test_names_are_stored_with_their_normalized_form_and_kind(db):
    version = import_list(OFACTEST).version
    primary = SanctionsName.objects.get(version=version, entry__uid="48603", is_primary=True)
    assert (primary.name, primary.normalized, primary.kind) == (
        "KHOROSHEV, Dmitry Yuryevich",
        "dmitry yuryevich khoroshev",
        "primary",
    )
    entry = SanctionsEntry.objects.get(version=version, uid="11195")
    assert entry.programs == "NPWMD; IFSR; IRAN-CON-ARMS-EO" and entry.entry_type == "entity"
    assert SanctionsEntry.objects.get(version=version, uid="40716").details["vessel_type"] == (
        "Naval Auxiliary Vessel"
    )


def test_a_reimport_replaces_the_list_in_force_and_keeps_the_old_version(db):
    first = import_list(OFACTEST).version
    result = import_list(BENCH)
    first.refresh_from_db()
    assert result.replaced == first and not first.is_active and result.version.is_active
    assert list(SanctionsListVersion.objects.filter(is_active=True)) == [result.version]
    assert SanctionsEntry.objects.filter(version=first).count() == 17  # the old rows stay, for old matches


def test_the_same_files_again_change_nothing(db):
    first = import_list(OFACTEST).version
    again = import_list(OFACTEST)
    assert again.unchanged and again.version == first
    assert SanctionsListVersion.objects.count() == 1


def test_lists_of_different_names_are_each_in_force(db):
    ofac = import_list(OFACTEST).version
    other = import_list(OFACTEST, name="OFAC test subset").version
    assert set(SanctionsListVersion.objects.filter(is_active=True)) == {ofac, other}


def _broken_copy(tmp_path, source, mutate, name="sdn.csv"):
    folder = tmp_path / "broken"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(mutate(source.read_bytes()))
    return folder


def _line(data: bytes, number: int) -> tuple[int, int]:
    """Start and end offsets of line ``number`` (1-based) in ``data``."""
    start = 0
    for _ in range(number - 1):
        start = data.index(b"\n", start) + 1
    return start, data.index(b"\n", start)


@pytest.mark.parametrize(
    ("case", "mutate", "line", "problem"),
    [
        # The download stopped half-way through line 5,000: the file ends inside a quoted name.
        ("cut", lambda d: d[: _line(d, 5000)[0] + 12], 5000, "not valid CSV"),
        # Line 4,321 lost its last columns (a line cut after a comma).
        (
            "short line",
            lambda d: d[: _line(d, 4321)[0]] + b'4321,"CUT SHORT",-0- \r\n' + d[_line(d, 4321)[1] + 1 :],
            4321,
            "expected 12 columns, found 3",
        ),
        # A thirteenth column on line 7.
        (
            "extra column",
            lambda d: d[: _line(d, 7)[1] - 1] + b",-0- " + d[_line(d, 7)[1] - 1 :],
            7,
            "found 13",
        ),
        # A byte that is not UTF-8 on line 3.
        ("encoding", lambda d: d[: _line(d, 3)[0] + 6] + b"\xff" + d[_line(d, 3)[0] + 6 :], 3, "not UTF-8"),
        # A NUL byte on line 10.
        ("nul", lambda d: d[: _line(d, 10)[0] + 6] + b"\x00" + d[_line(d, 10)[0] + 6 :], 10, "NUL"),
    ],
)
def test_a_broken_file_leaves_the_list_in_force_and_names_its_line(db, tmp_path, case, mutate, line, problem):
    in_force = import_list(OFACTEST).version
    before = (
        SanctionsListVersion.objects.count(),
        SanctionsEntry.objects.count(),
        SanctionsName.objects.count(),
    )
    folder = _broken_copy(tmp_path, BENCH / "sdn.csv", mutate)
    with pytest.raises(SanctionsFileError) as refused:
        import_list(folder)
    assert (refused.value.file, refused.value.line) == ("sdn.csv", line)
    assert problem in refused.value.detail and f"sdn.csv, line {line}" in refused.value.detail
    in_force.refresh_from_db()
    assert in_force.is_active
    after = (
        SanctionsListVersion.objects.count(),
        SanctionsEntry.objects.count(),
        SanctionsName.objects.count(),
    )
    assert after == before


def test_a_broken_alias_file_names_its_own_file_and_line(db, tmp_path):
    folder = linked(tmp_path, sdn=BENCH / "sdn.csv")
    data = (BENCH / "alt.csv").read_bytes()
    start, end = _line(data, 11910)
    (folder / "alt.csv").write_bytes(data[: start + 20])  # its last line cut
    with pytest.raises(SanctionsFileError) as refused:
        import_list(folder)
    assert (refused.value.file, refused.value.line) == ("alt.csv", 11910)
    assert not SanctionsListVersion.objects.exists()


def test_a_header_row_shifts_nothing_in_the_line_numbers(db, tmp_path):
    data = (SELFXYZ / "sdn.csv").read_bytes()
    start, end = _line(data, 100)  # the header is line 1, so this is the 99th entry
    folder = _broken_copy(
        tmp_path, SELFXYZ / "sdn.csv", lambda d: d[:start] + b"99,broken\r\n" + d[end + 1 :]
    )
    with pytest.raises(SanctionsFileError) as refused:
        import_list(folder)
    assert refused.value.line == 100


def test_a_missing_sdn_csv_is_refused(db, tmp_path):
    with pytest.raises(SanctionsFileError, match="sdn.csv: not found"):
        import_list(tmp_path)


def test_the_import_schedules_the_rescreen_after_commit(db, django_capture_on_commit_callbacks):
    from compliance.sanctions.services import import_sanctions_list

    with django_capture_on_commit_callbacks() as callbacks:
        import_sanctions_list(actor=None, source_format="ofac-sdn-csv", path=OFACTEST)
    assert len(callbacks) == 1  # the Celery task, sent once the new list is committed


def test_only_compliance_imports_a_list(db, personas):
    from borrowdesk.errors import PermissionDeniedError
    from compliance.sanctions.services import import_sanctions_list

    for who in ("alice", "bob", "rita", "audrey", "adam"):
        with pytest.raises(PermissionDeniedError):
            import_sanctions_list(actor=personas[who], source_format="ofac-sdn-csv", path=OFACTEST)
    assert not SanctionsListVersion.objects.exists()
    version = import_sanctions_list(
        actor=personas["carl"], source_format="ofac-sdn-csv", path=OFACTEST, rescreen=False
    ).version
    assert version.imported_by == personas["carl"]


# --- the management command -----------------------------------------------------------------------


def test_the_command_imports_a_folder_and_reports_its_counts(db, capsys):
    call_command("import_sanctions", str(OFACTEST), "--format", "ofac-sdn-csv", "--rescreen-now")
    out = capsys.readouterr().out
    assert "17 entries, 13 aliases, 24 addresses, 32 wallet addresses" in out
    assert "Rescreened" in out
    assert SanctionsListVersion.objects.get().rescreened_at is not None


def test_the_command_refuses_a_broken_file_with_its_line(db, tmp_path):
    start, end = _line((OFACTEST / "sdn.csv").read_bytes(), 4)
    folder = _broken_copy(
        tmp_path, OFACTEST / "sdn.csv", lambda d: d[:start] + b'15102,"MORENO"\r\n' + d[end + 1 :]
    )
    with pytest.raises(CommandError, match=r"sdn.csv, line 4: expected 12 columns, found 2"):
        call_command("import_sanctions", str(folder), "--format", "ofac-sdn-csv")
    assert not SanctionsListVersion.objects.exists()


# --- OpenSanctions --------------------------------------------------------------------------------

HEADER = (
    "id,schema,name,aliases,birth_date,countries,addresses,identifiers,sanctions,phones,emails,"
    "program_ids,dataset,first_seen,last_seen,last_change\n"
)
# Realistic rows in the export's own shape: multi-values joined with ';', one value quoted because it
# holds a ';', a wallet as a target of its own.
ROWS = [
    'NK-2DbTtwhCHHF7fcSZXxT9Pb,Person,Vladimir Vladimirovich Putin,"Putin, Vladimir;Владимир Владимирович '
    'Путин;Vladimir Putin",1952-10-07,ru,Moscow,,"Executive Order 14024 - Block",,,US-RUSSIA-EO14024,'
    "US OFAC Specially Designated Nationals (SDN) List,2022-02-25T00:00:00,2026-07-01T00:00:00,"
    "2024-01-01T00:00:00",
    'NK-SuexOTC,Company,"SUEX OTC, S.R.O.","Suex OTC;""Suex; Exchange s.r.o.""",,cz,'
    '"Presnenskaya nab. 12, Moscow;Na Florenci 2116/15, Prague",IC 07486049,Cyber-related,,,US-CYBER2,'
    "US OFAC Specially Designated Nationals (SDN) List,2021-09-21T00:00:00,2026-07-01T00:00:00,"
    "2021-09-21T00:00:00",
    "ofac-wallet-1b64,CryptoWallet,1B64QRxfaa35MVkf7sDjuGUYAP5izQt7Qi,,,,,1B64QRxfaa35MVkf7sDjuGUYAP5izQt7Qi,"
    ",,,US-CYBER2,US OFAC Specially Designated Nationals (SDN) List,2021-09-21T00:00:00,"
    "2026-07-01T00:00:00,2021-09-21T00:00:00",
    "Q-vessel-9313133,Vessel,TASCA,,,pa,,IMO 9313133,Iran-related,,,US-IRAN-EO13846,"
    "US OFAC Specially Designated Nationals (SDN) List,2023-01-01T00:00:00,2026-07-01T00:00:00,"
    "2023-01-01T00:00:00",
]


def _write(tmp_path, header, rows, name="targets.simple.csv"):
    path = tmp_path / name
    path.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_an_opensanctions_export_imports_names_aliases_addresses_and_wallets(db, tmp_path):
    version = import_list(_write(tmp_path, HEADER, ROWS), source_format="opensanctions-csv").version
    assert (version.source_name, version.source_format) == ("OpenSanctions", "opensanctions-csv")
    assert _rows_of(version) == (4, 5, 3, 1)
    aliases = set(
        SanctionsName.objects.filter(version=version, entry__uid="NK-SuexOTC", is_primary=False).values_list(
            "name", flat=True
        )
    )
    assert aliases == {"Suex OTC", "Suex; Exchange s.r.o."}  # the quoted value keeps its ';'
    putin = SanctionsEntry.objects.get(version=version, uid="NK-2DbTtwhCHHF7fcSZXxT9Pb")
    assert (putin.entry_type, putin.programs, putin.details["birth_date"]) == (
        "individual",
        "US-RUSSIA-EO14024",
        "1952-10-07",
    )
    wallet = SanctionsAddress.objects.get(version=version)
    assert (wallet.entry.uid, wallet.currency, wallet.address) == (
        "ofac-wallet-1b64",
        "",
        "1B64QRxfaa35MVkf7sDjuGUYAP5izQt7Qi",
    )


def test_the_older_opensanctions_layout_without_program_ids_is_read(db, tmp_path):
    header = HEADER.replace("program_ids,", "")
    rows = ROWS
    for program in ("US-RUSSIA-EO14024", "US-CYBER2", "US-IRAN-EO13846"):
        rows = [row.replace(f",{program},", ",") for row in rows]
    version = import_list(_write(tmp_path, header, rows), source_format="opensanctions-csv").version
    assert version.entry_count == 4
    putin = SanctionsEntry.objects.get(version=version, uid="NK-2DbTtwhCHHF7fcSZXxT9Pb")
    assert putin.programs == "Executive Order 14024 - Block"  # from sanctions, as there are no program ids


def test_an_opensanctions_row_with_a_wrong_column_count_names_its_line(db, tmp_path):
    path = _write(tmp_path, HEADER, [*ROWS[:2], "NK-cut,Person,Cut Off", *ROWS[2:]])
    with pytest.raises(SanctionsFileError) as refused:
        import_list(path, source_format="opensanctions-csv")
    assert (refused.value.file, refused.value.line) == ("targets.simple.csv", 4)
    assert "expected 16 columns, found 3" in refused.value.detail
    assert not SanctionsListVersion.objects.exists()


def test_a_file_that_is_not_an_opensanctions_export_is_refused_at_its_header(db):
    with pytest.raises(SanctionsFileError) as refused:
        import_list(BENCH / "sdn.csv", source_format="opensanctions-csv")
    assert (refused.value.file, refused.value.line) == ("sdn.csv", 1)


def test_values_too_long_for_their_columns_are_refused_with_their_line_not_a_500(db, tmp_path):
    row = '9{n},"HOSTILE",-0- ,"X",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n'
    folder = tmp_path / "long"
    folder.mkdir()
    (folder / "sdn.csv").write_text(row.replace("{n}", "1") + row.replace("{n}", "1" * 150))
    with pytest.raises(SanctionsFileError) as refused:
        import_list(folder)
    assert refused.value.line == 2
    long_type = '1,"HOSTILE","' + "t" * 40 + '","X",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n'
    (folder / "sdn.csv").write_text(long_type)
    with pytest.raises(SanctionsFileError):
        import_list(folder)
    # An "address" longer than any is not taken for one.
    remark = "Digital Currency Address - XBT " + "1" * 300
    (folder / "sdn.csv").write_text(f'1,"HOSTILE",-0- ,"X",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"{remark}"\r\n')
    assert import_list(folder).version.digital_address_count == 0
