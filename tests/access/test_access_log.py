"""The access log is append-only in the database: UPDATE and DELETE are refused, by the ORM or raw SQL."""

import pytest
from django.db import InternalError, connection, transaction

from borrowdesk.access.models import AccessLog
from borrowdesk.access.services import record_access


@pytest.fixture
def entry(audrey):
    return record_access(
        user=audrey,
        method="GET",
        path="/accounts/access-log/",
        view_name="access:access_log",
        object_ref="",
        ip_address="10.0.0.7",
        user_agent="pytest",
    )


def _rows():
    return list(AccessLog.objects.order_by("id").values())


def test_appending_a_row_is_allowed(entry, audrey):
    assert AccessLog.objects.get().user == audrey


def test_an_orm_update_is_refused(entry):
    before = _rows()
    with pytest.raises(InternalError, match="Cannot update"), transaction.atomic():
        AccessLog.objects.filter(pk=entry.pk).update(path="/elsewhere/")
    entry.path = "/elsewhere/"
    with pytest.raises(InternalError, match="Cannot update"), transaction.atomic():
        entry.save()
    assert _rows() == before


def test_an_orm_delete_is_refused(entry):
    before = _rows()
    with pytest.raises(InternalError, match="Cannot delete"), transaction.atomic():
        entry.delete()
    with pytest.raises(InternalError, match="Cannot delete"), transaction.atomic():
        AccessLog.objects.all().delete()
    assert _rows() == before


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("UPDATE access_accesslog SET user_id = NULL", "Cannot update"),
        ("DELETE FROM access_accesslog", "Cannot delete"),
    ],
)
def test_raw_sql_update_and_delete_are_refused(entry, sql, message):
    before = _rows()
    with pytest.raises(InternalError, match=message), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert _rows() == before
