"""The maker-checker evidence (``Approval``) is append-only in the database and audited."""

from decimal import Decimal

import pytest
from django.db import InternalError, connection, transaction
from pghistory.models import Events

from requests_app.models import Approval
from requests_app.services import approve_request, reject_request


def _evidence():
    return list(Approval.objects.order_by("id").values())


@pytest.fixture
def approval(submit, bob, stocked):
    request = submit()
    approve_request(actor=bob, request=request.pk, rate_bps=Decimal("400"))
    return Approval.objects.get(request=request)


def test_an_approval_cannot_be_updated_through_the_orm(approval):
    before = _evidence()
    with pytest.raises(InternalError), transaction.atomic():
        Approval.objects.filter(pk=approval.pk).update(decision="rejected")
    assert _evidence() == before


def test_an_approval_cannot_be_updated_or_deleted_in_raw_sql(approval):
    before = _evidence()
    with pytest.raises(InternalError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE requests_app_approval SET user_id = user_id, comment = 'rewritten'")
    with pytest.raises(InternalError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM requests_app_approval")
    assert _evidence() == before


def test_an_approval_cannot_be_deleted_through_the_orm(approval):
    before = _evidence()
    with pytest.raises(InternalError), transaction.atomic():
        Approval.objects.all().delete()
    assert _evidence() == before


def test_each_decision_is_audited_with_the_acting_user(submit, bob, stocked):
    approved = submit()
    approve_request(actor=bob, request=approved.pk, rate_bps=Decimal("400"))
    rejected = submit()
    reject_request(actor=bob, request=rejected.pk, reason="no")
    events = Events.objects.filter(pgh_obj_model="requests_app.Approval").order_by("pgh_created_at")
    assert [(e.pgh_label, e.pgh_data["request_id"], e.pgh_data["decision"]) for e in events] == [
        ("insert", approved.pk, "approved"),
        ("insert", rejected.pk, "rejected"),
    ]
    assert all(e.pgh_context["user"] == bob.pk for e in events)


def test_every_write_of_a_final_approval_is_audited_with_the_acting_user(submit, bob, stocked):
    # The decision is sent in the last round trip, whose first statement is a SET (pghistory puts the
    # acting user's context before it; it skips statements that begin with SELECT): the loan, its
    # delivery leg, the approval and the request's decision are each recorded with the acting user.
    request = submit()
    approve_request(actor=bob, request=request.pk, rate_bps=Decimal("400"))
    request.refresh_from_db()
    events = {
        (e.pgh_obj_model, e.pgh_label, e.pgh_obj_id)
        for e in Events.objects.filter(pgh_obj_model__in=AUDITED_BY_FINAL_APPROVAL)
        if (e.pgh_context or {}).get("user") == bob.pk
    }
    leg = request.loan.settlements.get()
    assert events == {
        ("inventory.Loan", "insert", str(request.loan_id)),
        ("treasury.SettlementInstruction", "insert", str(leg.pk)),
        ("requests_app.Approval", "insert", str(Approval.objects.get(request=request).pk)),
        ("requests_app.BorrowRequest", "update", str(request.pk)),
    }


AUDITED_BY_FINAL_APPROVAL = [
    "inventory.Loan",
    "treasury.SettlementInstruction",
    "requests_app.Approval",
    "requests_app.BorrowRequest",
]
