"""The AML job: recorded as a JobRun, once per hour window, and idempotent; the event and the schedule
racing on the same facts raise one alert and one case."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from borrowdesk.operations.models import JobRun
from compliance.aml import services as aml
from compliance.aml.models import AmlAlert, AmlRule
from compliance.cases.models import Case
from compliance.models import KycProfile
from requests_app.models import BorrowRequest
from tests.conftest import ensure_desk_config
from tests.inventory.factories import desk_asset
from tests.races import race


def _large_request_history(alice, acme) -> BorrowRequest:
    """Three requests of 1 BTC in the last 30 days, and one of 6 BTC (6 × the average) submitted
    while the rule was off, so that no event judged it."""
    from requests_app.services import submit_request

    btc = desk_asset("BTC", 8, "50000")
    KycProfile.objects.create(
        counterparty=acme,
        status="approved",
        risk_rating="low",
        expires_on=(timezone.now() + timedelta(days=365)).date(),
    )
    AmlRule.objects.filter(code="large_request").update(enabled=False)
    for days in (3, 10, 20):
        request = submit_request(actor=alice, counterparty=acme, asset=btc, quantity=Decimal(1))
        BorrowRequest.objects.filter(pk=request.pk).update(submitted_at=timezone.now() - timedelta(days=days))
    big = submit_request(actor=alice, counterparty=acme, asset=btc, quantity=Decimal(6))
    AmlRule.objects.filter(code="large_request").update(enabled=True)
    return big


def test_the_job_records_a_run_and_a_second_delivery_in_the_window_is_skipped(db, alice, acme):
    from compliance.tasks import aml_monitor

    aml.ensure_default_rules()
    _large_request_history(alice, acme)
    first = JobRun.objects.get(pk=aml_monitor())
    assert (first.job, first.outcome) == ("compliance.aml.monitor", "succeeded")
    assert first.counts["raised"] == 1 and first.counts["by_rule"] == {"large_request": 1}
    second = JobRun.objects.get(pk=aml_monitor())
    assert second.outcome == "skipped"
    # The work itself run again (the next hour): nothing new.
    assert aml_monitor.work(timezone.now().date())["raised"] == 0
    assert AmlAlert.objects.count() == 1 and Case.objects.filter(kind="aml").count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_event_and_the_schedule_racing_raise_one_alert_and_one_case(personas, acme):
    ensure_desk_config()
    aml.ensure_default_rules()
    big = _large_request_history(personas["alice"], acme)
    assert AmlAlert.objects.count() == 0
    outcomes = race(
        [
            lambda: aml.monitor_request(request_id=big.pk),
            aml.run_monitoring,
            lambda: aml.monitor_request(request_id=big.pk),
            aml.run_monitoring,
        ]
    )
    assert outcomes == ["ok"] * 4
    [alert] = AmlAlert.objects.all()
    assert alert.request_id == big.pk and alert.status == "in_case"
    assert Case.objects.filter(kind="aml").count() == 1
