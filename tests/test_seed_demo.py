from django.core.management import call_command

from borrowdesk.access.models import User
from inventory.models import Journal, Loan
from requests_app.models import BorrowRequest


def test_seed_demo_loads_every_request_state_and_is_idempotent(db):
    call_command("seed_demo")
    counts = (
        User.objects.count(),
        BorrowRequest.objects.count(),
        Journal.objects.count(),
        Loan.objects.count(),
    )
    statuses = set(BorrowRequest.objects.values_list("status", flat=True))
    assert statuses == {
        "pending_approval",
        "pending_second_approval",
        "compliance_hold",
        "offered",
        "approved",
        "rejected",
        "declined",
        "cancelled",
        "expired",
    }
    assert set(Loan.objects.values_list("status", flat=True)) == {"pending_delivery", "active", "closed"}
    call_command("seed_demo")
    assert (
        User.objects.count(),
        BorrowRequest.objects.count(),
        Journal.objects.count(),
        Loan.objects.count(),
    ) == counts


def test_every_role_has_a_demo_user_who_can_log_in(db, settings):
    call_command("seed_demo")
    for role in (
        "trader",
        "ops",
        "ops_senior",
        "risk",
        "compliance",
        "treasury",
        "manager",
        "auditor",
        "admin",
        "pricing",
    ):
        user = User.objects.get(username=role)
        assert user.check_password(settings.DEMO_PASSWORD)
        assert user.groups.filter(name=role).exists()


def test_the_demo_marks_come_from_the_feed_and_the_ratings_from_the_kyc(db):
    from borrowdesk.refdata.models import Counterparty, Price
    from compliance.models import KycProfile

    call_command("seed_demo")
    assert set(Price.objects.values_list("posted_by__username", "status")) == {("pricing", "applied")}
    for counterparty in Counterparty.objects.all():
        assert counterparty.risk_rating == KycProfile.objects.get(counterparty=counterparty).risk_rating
    assert Counterparty.objects.get(code="HIGHTIDE").risk_rating == "high"
