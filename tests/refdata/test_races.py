"""A duplicate code committed between a service's checks and its INSERT is still a 400, not a 500."""

import threading

import pytest
from django.db import connection, transaction

from borrowdesk.errors import InvalidInput
from borrowdesk.refdata.models import Counterparty
from borrowdesk.refdata.services import create_counterparty
from tests.races import wait_until_a_backend_waits_for_a_lock

# serialized_rollback: restore the roles the migrations seeded, after the flush.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

INITECH = {"code": "INITECH", "legal_name": "Initech Ltd", "kind": "client", "jurisdiction": "US"}


def test_a_code_committed_by_a_concurrent_writer_is_refused_as_invalid_input(bob, olivia):
    first_inserted, first_may_commit = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def first():
        try:
            # The first writer inserts INITECH and holds its transaction open...
            with transaction.atomic():
                create_counterparty(actor=bob, **INITECH)
                first_inserted.set()
                first_may_commit.wait(10)
        finally:
            connection.close()

    def second():
        # ...so the second one's checks do not see it, and its INSERT waits on the unique index.
        try:
            create_counterparty(actor=olivia, **{**INITECH, "legal_name": "Initech Holdings"})
            outcome["second"] = "created"
        except InvalidInput as exc:
            outcome["second"] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    threads[0].start()
    assert first_inserted.wait(10)
    threads[1].start()
    wait_until_a_backend_waits_for_a_lock()
    first_may_commit.set()
    for thread in threads:
        thread.join(20)

    refused = outcome["second"]
    assert isinstance(refused, InvalidInput), refused
    # Refused by the unique index (full_clean saw no duplicate), and still named by field.
    assert refused.fields == {"code": ["Conflicts with existing reference data."]}
    assert list(Counterparty.objects.filter(code="INITECH").values_list("legal_name", flat=True)) == [
        "Initech Ltd"
    ]
