"""The ledger keeps one SQL primitive, ``inventory_post_journal``, and the running function is its
source file, ``inventory/sql/post_journal.sql``: they cannot drift. The migrations that touch it
reverse and re-apply cleanly."""

import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

import inventory

SQL_FILE = Path(inventory.__file__).resolve().parent / "sql" / "post_journal.sql"


def _squash(text: str) -> str:
    """Whitespace-insensitive: runs of whitespace become one space, none beside punctuation."""
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r" ?([(),;]) ?", r"\1", text)


def _file_parts() -> tuple[str, str]:
    source = SQL_FILE.read_text()
    source = "\n".join(line for line in source.splitlines() if not line.startswith("--"))
    header, body = re.match(r"\s*CREATE OR REPLACE FUNCTION (.*?)\$\$(.*)\$\$;\s*$", source, re.S).groups()
    return header, body


def _live_definition() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_functiondef('inventory_post_journal'::regproc)")
        return cursor.fetchone()[0]


def _live_parts() -> tuple[str, str]:
    definition = _live_definition()
    header, body = re.match(
        r"CREATE OR REPLACE FUNCTION public\.(.*?)AS \$function\$(.*)\$function\$\s*$", definition, re.S
    ).groups()
    return header, body


def _ledger_functions() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace "
            "AND (proname LIKE 'inventory\\_%' OR proname LIKE 'requests\\_%') ORDER BY proname"
        )
        return [name for (name,) in cursor.fetchall()]


def _assert_live_function_is_the_file() -> None:
    file_header, file_body = _file_parts()
    live_header, live_body = _live_parts()
    assert _squash(live_body) == _squash(file_body)
    # The header: the same arguments, in order, with their defaults and OUT parameters, and language.
    # (pg_get_functiondef writes RETURNS record and LANGUAGE on lines of their own, and types by their
    # canonical names, which the file uses: "timestamp with time zone", not "timestamptz".)
    arguments = _squash(file_header.split(") LANGUAGE")[0] + ")")
    assert _squash(live_header).startswith(arguments), (_squash(live_header), arguments)
    assert "LANGUAGE plpgsql" in live_header and "LANGUAGE plpgsql" in file_header


@pytest.mark.django_db
def test_the_live_function_is_its_source_file():
    _assert_live_function_is_the_file()


@pytest.mark.django_db
def test_the_comparison_sees_a_drift():
    # A function changed in the database and not in the file fails the comparison (then rolled back).
    file_header, file_body = _file_parts()
    drifted = file_body.replace("held + r.delta < 0", "held + r.delta < -1")
    assert drifted != file_body
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE OR REPLACE FUNCTION {file_header}$${drifted}$$;")
    with pytest.raises(AssertionError):
        _assert_live_function_is_the_file()


@pytest.mark.django_db
def test_the_ledger_keeps_one_sql_primitive_and_requests_none():
    assert _ledger_functions() == ["inventory_post_journal"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_migrations_that_touch_it_reverse_and_reapply():
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    try:
        # Back to before the split: requests_open_loan and the ledger's three functions again
        # (reversing requests_app 0007 reverses inventory 0003 first, which depends on it).
        call_command("migrate", "requests_app", "0006", verbosity=0)
        assert _ledger_functions() == [
            "inventory_post_journal",
            "inventory_source_account",
            "inventory_write_journal",
            "requests_open_loan",
        ]
        assert "inventory_write_journal" in _live_definition()  # 0002's version, frozen there
    finally:
        for app, name in latest:
            call_command("migrate", app, name, verbosity=0)
    assert _ledger_functions() == ["inventory_post_journal"]
    _assert_live_function_is_the_file()
