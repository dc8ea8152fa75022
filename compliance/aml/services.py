"""AML monitoring's write side: evaluating the rules (on events and on the schedule), routing each new
alert to a case, configuring the rules and dismissing alerts.

The rules are set-based SQL (compliance/aml/sql/<code>.sql): one INSERT … SELECT … ON CONFLICT
(dedup_key) DO NOTHING per rule, over every fact in scope at once. An event narrows the scope to its
request, counterparty or leg; the schedule looks at the last ``AML_SCAN_DAYS``. The dedup key makes
every evaluation idempotent: the same facts evaluated again, by the event and the schedule or by two
workers at once, raise one alert.

The facts live in apps above compliance (requests, settlement legs): the SQL reads their tables and
writes only compliance's; those apps call the ``monitor_*`` functions below after their commits.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from borrowdesk.access.policy import require
from borrowdesk.audit import acting_as
from borrowdesk.errors import InvalidInput, InvalidState, NotFoundError
from compliance.aml import rules
from compliance.aml.models import AlertStatus, AmlAlert, AmlRule, AmlRuleCode, DetectedBy
from compliance.cases.models import CaseKind
from compliance.cases.services import open_or_join_case

SQL_DIR = Path(__file__).parent / "sql"
EVIDENCE_TYPE = "aml_alert"  # how a case's timeline names an alert it holds
MAX_REASON = 2000

# The case priority an alert of each rule opens with (a case joined keeps its own).
CASE_PRIORITY: dict[str, str] = {
    AmlRuleCode.LARGE_REQUEST: "medium",
    AmlRuleCode.WASH_PATTERN: "high",
    AmlRuleCode.NEW_ADDRESS: "high",
}


@cache
def rule_sql(code: str) -> str:
    """The SQL that evaluates rule ``code`` (its .sql file)."""
    return (SQL_DIR / f"{code}.sql").read_text()


def ensure_default_rules() -> list[AmlRule]:
    """Every rule exists, with its default parameters when it is new (idempotent; the migration and
    the demo call it). An existing rule keeps its parameters."""
    out = []
    for code in AmlRuleCode.values:
        rule, _ = AmlRule.objects.get_or_create(code=code, defaults={"parameters": rules.defaults(code)})
        out.append(rule)
    return out


# --- evaluation -----------------------------------------------------------------------------------


def _scope(code: str, *, now: datetime, **narrow) -> dict:
    since = now - timedelta(days=settings.AML_SCAN_DAYS)
    if code == AmlRuleCode.LARGE_REQUEST:
        return {"request_id": narrow.get("request_id"), "since": since}
    if code == AmlRuleCode.WASH_PATTERN:
        return {"counterparty_id": narrow.get("counterparty_id"), "now": now}
    return {"settlement_id": narrow.get("settlement_id"), "since": since}


def _evaluate(rule: AmlRule, *, detected_by: str, now: datetime, **narrow) -> list[int]:
    """Run one rule's SQL over the facts in scope; the ids of the alerts it newly raised."""
    params = {
        **rule.parameters,
        **_scope(rule.code, now=now, **narrow),
        "rule_id": rule.pk,
        "rule_version": rule.version,
        "parameters": json.dumps(rule.parameters),
        "detected_by": detected_by,
    }
    with connection.cursor() as cursor:
        cursor.execute(rule_sql(rule.code), params)
        return [row[0] for row in cursor.fetchall()]


@transaction.atomic(durable=True)
def _run(codes: list[str], *, detected_by: str, now: datetime | None = None, **narrow) -> list[AmlAlert]:
    """Evaluate the enabled rules among ``codes`` and route each new alert to a case, in one
    transaction: an alert and its case commit together."""
    now = now or timezone.now()
    raised: list[int] = []
    for rule in AmlRule.objects.filter(code__in=codes, enabled=True).order_by("code"):
        raised += _evaluate(rule, detected_by=detected_by, now=now, **narrow)
    for alert_id in raised:
        _route(alert_id)
    return list(AmlAlert.objects.select_related("rule").filter(pk__in=raised).order_by("id"))


def monitor_request(*, request_id: int) -> list[AmlAlert]:
    """A borrow request was submitted: the large-request rule on it. Called by requests_app after its
    commit. Returns the alerts raised (none when the request was already judged)."""
    return _run([AmlRuleCode.LARGE_REQUEST], detected_by=DetectedBy.EVENT, request_id=request_id)


def monitor_loan_returned(*, loan_id: int, counterparty_id: int) -> list[AmlAlert]:
    """A loan was returned: the wash-pattern rule on its counterparty (inventory's ``loan_returned``)."""
    return _run([AmlRuleCode.WASH_PATTERN], detected_by=DetectedBy.EVENT, counterparty_id=counterparty_id)


def monitor_settlement(*, settlement_id: int) -> list[AmlAlert]:
    """A settlement leg was queued or settled: the new-address rule on it. Called by treasury after its
    commit."""
    return _run([AmlRuleCode.NEW_ADDRESS], detected_by=DetectedBy.EVENT, settlement_id=settlement_id)


def run_monitoring(*, now: datetime | None = None) -> dict:
    """Every enabled rule over the last ``AML_SCAN_DAYS`` of facts (the schedule), then every alert
    still open without a case routed to one (an event whose case opening was lost). Idempotent: a
    second run over the same facts raises nothing."""
    alerts = _run(AmlRuleCode.values, detected_by=DetectedBy.SCHEDULE, now=now)
    routed = route_open_alerts()
    by_rule: dict[str, int] = {}
    for alert in alerts:
        code = alert.rule.code
        by_rule[code] = by_rule.get(code, 0) + 1
    return {"raised": len(alerts), "by_rule": by_rule, "routed": routed}


# --- cases ----------------------------------------------------------------------------------------


def _route(alert_id: int) -> int:
    """Inside a transaction: open a case for an open alert, or join the counterparty's open AML case
    (the cases service decides which); the alert is then ``in_case``. 1 when routed, 0 when it already
    was, or was dismissed meanwhile."""
    # Lock the alert: its routing by the event and by the schedule (or a dismissal) decide once.
    alert = (
        AmlAlert.objects.select_for_update(of=("self",))
        .select_related("rule", "counterparty")
        .get(pk=alert_id)
    )
    if alert.status != AlertStatus.OPEN or alert.case_id is not None:
        return 0
    case = open_or_join_case(
        kind=CaseKind.AML,
        counterparty=alert.counterparty,
        subject=f"AML: {alert.rule.get_code_display()} ({alert.counterparty.code})",
        priority=CASE_PRIORITY[alert.rule.code],
        evidence_type=EVIDENCE_TYPE,
        evidence_id=alert.pk,
        detail=alert.subject,
    )
    alert.status, alert.case = AlertStatus.IN_CASE, case
    alert.save(update_fields=["status", "case"])
    return 1


@transaction.atomic(durable=True)
def route_open_alerts() -> int:
    """Every alert still open without a case, routed to one (what a lost routing left behind)."""
    routed = 0
    for alert_id in AmlAlert.objects.filter(status=AlertStatus.OPEN, case__isnull=True).values_list(
        "pk", flat=True
    ):
        routed += _route(alert_id)
    return routed


# --- configuration and work -----------------------------------------------------------------------


@transaction.atomic(durable=True)
def update_rule(*, actor, rule: AmlRule | str, enabled: bool, parameters: dict) -> AmlRule:
    """Set a rule's parameters and whether it runs; a change bumps its version.

    Raises ``InvalidInput`` (naming each bad parameter) for an unknown, missing or out-of-bounds
    parameter; nothing is written then.
    """
    require(actor, "compliance.aml.configure", "Only compliance configures the AML rules.")
    code = rule.code if isinstance(rule, AmlRule) else rule
    # Lock the rule: two officers saving at once each bump the version from the one they read.
    locked = AmlRule.objects.select_for_update().filter(code=code).first()
    if locked is None:
        raise NotFoundError("No such AML rule.")
    clean, errors = rules.validate_parameters(code, parameters)
    if errors:
        raise InvalidInput(
            "The rule's parameters are not valid: "
            + " ".join(message for messages in errors.values() for message in messages),
            fields=errors,
        )
    if clean == locked.parameters and enabled == locked.enabled:
        return locked
    with acting_as(actor):
        locked.parameters = clean
        locked.enabled = enabled
        locked.version += 1
        locked.updated_by = actor
        locked.updated_at = timezone.now()
        locked.save()
    return locked


@transaction.atomic(durable=True)
def dismiss_alert(*, actor, alert: AmlAlert | int, reason: str) -> AmlAlert:
    """Dismiss an alert with a reason (open or in a case; the case is worked on its own page).

    Raises ``InvalidInput`` without a reason, ``InvalidState`` for an alert already dismissed.
    """
    require(actor, "compliance.aml.work", "Only compliance works AML alerts.")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why the alert is dismissed.", fields={"reason": ["A reason is required."]})
    if len(reason) > MAX_REASON:
        raise InvalidInput(
            f"A reason is at most {MAX_REASON:,} characters.",
            fields={"reason": [f"At most {MAX_REASON:,} characters."]},
        )
    pk = alert.pk if isinstance(alert, AmlAlert) else alert
    # Lock the alert: a dismissal racing another (or the routing to a case) decides once.
    locked = AmlAlert.objects.select_for_update().filter(pk=pk).first()
    if locked is None:
        raise NotFoundError("No such AML alert.")
    if locked.status == AlertStatus.DISMISSED:
        raise InvalidState(f"Alert {locked.pk} is already dismissed.")
    with acting_as(actor):
        locked.status = AlertStatus.DISMISSED
        locked.dismissed_by = actor
        locked.dismissed_at = timezone.now()
        locked.dismissal_reason = reason
        locked.save(update_fields=["status", "dismissed_by", "dismissed_at", "dismissal_reason"])
    return locked
