"""borrowdesk.batch: statements prepared once per connection, and several services' statements in one
round trip with each one's own error translation."""

import pytest
from django.db import DatabaseError, connection, transaction

from borrowdesk.batch import Statement, prepared, run_together

pytestmark = pytest.mark.django_db


def _prepared_count(name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name = %s", [name])
        return cursor.fetchone()[0]


def test_a_statement_is_prepared_once_per_connection_and_runs_with_its_parameters():
    execute = prepared("test_batch_sum", "SELECT %s::int + %s::int * 10")
    assert execute == "EXECUTE test_batch_sum (%s, %s)"
    assert prepared("test_batch_sum", "SELECT %s::int + %s::int * 10") == execute
    assert _prepared_count("test_batch_sum") == 1
    with connection.cursor() as cursor:
        cursor.execute(execute, [2, 3])
        assert cursor.fetchone() == (32,)


@pytest.mark.django_db(
    transaction=True, serialized_rollback=True
)  # the connection is closed: no test transaction around it
def test_a_new_connection_prepares_it_again():
    prepared("test_batch_again", "SELECT %s::text")
    connection.close()  # the session, and its prepared statements, are gone
    execute = prepared("test_batch_again", "SELECT %s::text")
    assert _prepared_count("test_batch_again") == 1
    with connection.cursor() as cursor:
        cursor.execute(execute, ["again"])
        assert cursor.fetchone() == ("again",)


def test_a_statement_without_parameters():
    assert prepared("test_batch_none", "SELECT 7") == "EXECUTE test_batch_none"
    with connection.cursor() as cursor:
        cursor.execute("EXECUTE test_batch_none")
        assert cursor.fetchone() == (7,)


class _Refused(Exception):
    pass


def test_statements_run_together_and_the_failing_ones_error_is_its_services():
    with transaction.atomic():
        row = run_together([Statement("SELECT %s::int", [1]), Statement("SELECT %s::int * 2", [21])])
    assert row == (42,)

    def translate(exc: DatabaseError) -> Exception | None:
        return _Refused("the second statement's own error") if "division by zero" in str(exc) else None

    with pytest.raises(_Refused), transaction.atomic():
        run_together(
            [
                Statement("SELECT %s::int", [1]),
                Statement("SELECT 1 / %s::int", [0], on_error=translate),
            ]
        )
    # An error no statement claims is raised as it is.
    with pytest.raises(DatabaseError), transaction.atomic():
        run_together([Statement("SELECT 1 / %s::int", [0], on_error=lambda exc: None)])
