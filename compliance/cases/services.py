"""Case writes: open or join a case with a piece of evidence, assign, note, attach, escalate, close
(with four eyes where the rule wants them), and the SLA check.

- ``open_or_join_case`` is how every part of compliance (sanctions screening, AML rules, KYC reviews,
  the travel rule) turns evidence into work: the open case of the same kind and counterparty is
  joined, otherwise a case is opened. The same evidence twice changes nothing. Callable from inside
  another service's transaction (not durable), with ``actor`` None for a job or an event.
- Four eyes (``SEGREGATION["compliance.case.close"]``): closing a sanctions case as a false positive,
  or any case that was escalated, is proposed by one compliance officer and approved by another who
  neither escalated nor worked it (assignees, note and attachment authors). A CHECK constraint holds
  the same rule for the proposer, the escalator and the assignee.
- A sanctions case's disposition decides its matches (one rule, through the case): a false positive
  (approved by the second officer) clears the unresolved matches it holds, so ``cleared_sql`` lets the
  counterparty through again; reported or offboarded confirms them, and the counterparty stays blocked.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from borrowdesk.access.policy import allows, require
from borrowdesk.audit import acting_as_if
from borrowdesk.errors import InvalidInput, InvalidState, NotFoundError, SegregationOfDuties
from borrowdesk.refdata.models import Counterparty
from compliance.cases import uploads
from compliance.cases.models import (
    DEFAULT_SLA_HOURS,
    PRIORITY_RANK,
    Case,
    CaseAttachment,
    CaseDisposition,
    CaseEvent,
    CaseEventKind,
    CaseKind,
    CasePriority,
    CaseSla,
    CaseStatus,
)

MAX_SUBJECT = 300
MAX_TEXT = 5000
MAX_EVIDENCE_TYPE = 40
WORK_CASE = "compliance.work_case"  # the object permission a team's group holds on its cases
# Advisory locks (two-key form): the first key says whose. One per (kind, counterparty): two pieces of
# evidence about one client arriving at once open one case, the second joins it. One per piece of
# evidence: the same alert delivered twice records one event.
CASE_LOCK = 0x43415345  # "CASE"
EVIDENCE_LOCK = 0x43455644  # "CEVD"


# --- SLA ------------------------------------------------------------------------------------------


def sla_hours(kind: str, priority: str) -> int:
    """The SLA of a kind × priority in hours: the ``CaseSla`` row, else ``DEFAULT_SLA_HOURS``."""
    row = CaseSla.objects.filter(kind=kind, priority=priority).values_list("hours", flat=True).first()
    return row if row is not None else DEFAULT_SLA_HOURS[kind][priority]


def sla_due(kind: str, priority: str, opened_at: datetime) -> datetime:
    return opened_at + timedelta(hours=sla_hours(kind, priority))


# --- helpers --------------------------------------------------------------------------------------


def _text(value: str, *, field: str, required: bool, limit: int = MAX_TEXT) -> str:
    value = (value or "").strip()
    if "\x00" in value:
        raise InvalidInput("Text may not hold NUL characters.", fields={field: ["NUL character."]})
    if required and not value:
        raise InvalidInput(f"The {field} is required.", fields={field: ["Required."]})
    if len(value) > limit:
        raise InvalidInput(f"At most {limit} characters.", fields={field: [f"At most {limit} characters."]})
    return value


def _choice(value: str, choices, *, field: str) -> str:
    if value not in choices.values:
        raise InvalidInput(
            f"Unknown {field} {value!r}.", fields={field: [f"One of {', '.join(choices.values)}."]}
        )
    return value


def _event(case: Case, kind: str, actor, text: str = "", **fields) -> CaseEvent:
    return CaseEvent.objects.create(case=case, kind=kind, actor=actor, text=text, at=timezone.now(), **fields)


def can_see(user, case: Case) -> bool:
    """May ``user`` see this case? Compliance and oversight (``compliance.case.view``), and where the
    case has a team, only that team's members (a django-guardian object permission) — oversight
    reads every case."""
    if not allows(user, "compliance.case.view"):
        return False
    if case.team_id is None or allows(user, "compliance.case.view_all"):
        return True
    return user.has_perm(WORK_CASE, case)


def _locked_case(actor, case: Case | int, action: str, message: str) -> Case:
    """The case, locked, after the actor's right to ``action`` on it: two officers acting on one case
    at once apply one after the other, the second seeing the first's change (an approval racing a
    second approval, a note racing the closure). A case outside the actor's team is a 404."""
    require(actor, action, message)
    pk = case if isinstance(case, int) else case.pk
    found = Case.objects.select_for_update().filter(pk=pk).first()
    if found is None or not can_see(actor, found):
        raise NotFoundError("No such case.")
    return found


def _check_open(case: Case) -> None:
    if case.status == CaseStatus.CLOSED:
        raise InvalidState("This case is closed.")


def _touch(case: Case, *fields: str) -> None:
    case.updated_at = timezone.now()
    case.save(update_fields=[*fields, "updated_at"])


# --- open or join ---------------------------------------------------------------------------------


@transaction.atomic
def open_or_join_case(
    *,
    kind: str,
    counterparty: Counterparty | None = None,
    subject: str,
    priority: str = CasePriority.MEDIUM,
    evidence_type: str = "",
    evidence_id: int | None = None,
    detail: str = "",
    actor=None,
    team: Group | None = None,
) -> Case:
    """Turn a piece of evidence into case work: join the open (not closed) case of the same ``kind``
    and ``counterparty`` (a "joined" event with the evidence; the priority raised if this one's is
    higher, and the SLA with it), or open a case ("opened" event, SLA due from now by kind × priority).
    Without a counterparty a case is always opened.

    Idempotent per evidence: a piece (``evidence_type`` + ``evidence_id``) already on a case returns
    that case and records nothing. ``actor`` None is the system (a job, an event); a person opening a
    case by hand needs ``compliance.case.work``. Not durable: call it inside your own transaction, so
    the evidence and its case commit together. ``team`` restricts a new case to a group.

    Raises ``PermissionDeniedError`` or ``InvalidInput`` (unknown kind or priority, no subject, an
    evidence type without an id or the reverse)."""
    if actor is not None:
        require(actor, "compliance.case.work", "Only compliance opens cases.")
    kind = _choice(kind, CaseKind, field="kind")
    priority = _choice(priority, CasePriority, field="priority")
    subject = _text(subject, field="subject", required=True, limit=MAX_SUBJECT)
    detail = _text(detail, field="detail", required=False)
    evidence_type = (evidence_type or "").strip()
    if bool(evidence_type) != (evidence_id is not None):
        raise InvalidInput(
            "Evidence needs both its type and its id.",
            fields={"evidence_type" if not evidence_type else "evidence_id": ["Required with the other."]},
        )
    if len(evidence_type) > MAX_EVIDENCE_TYPE:
        raise InvalidInput("Evidence type too long.", fields={"evidence_type": ["At most 40 characters."]})
    with acting_as_if(actor), connection.cursor() as cursor:
        if evidence_type:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                [EVIDENCE_LOCK, f"{evidence_type}:{evidence_id}"],
            )
            known = (
                CaseEvent.objects.filter(
                    evidence_type=evidence_type,
                    evidence_id=evidence_id,
                    kind__in=[CaseEventKind.OPENED, CaseEventKind.JOINED],
                )
                .select_related("case")
                .first()
            )
            if known is not None:
                return known.case
        case = None
        if counterparty is not None:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [CASE_LOCK, f"{kind}:{counterparty.pk}"]
            )
            case = (
                Case.objects.select_for_update()
                .filter(kind=kind, counterparty=counterparty)
                .exclude(status=CaseStatus.CLOSED)
                .first()
            )
        evidence = {"evidence_type": evidence_type, "evidence_id": evidence_id}
        if case is None:
            now = timezone.now()
            case = Case.objects.create(
                kind=kind,
                subject=subject,
                counterparty=counterparty,
                priority=priority,
                team=team,
                opened_at=now,
                updated_at=now,
                opened_by=actor,
                sla_due_at=sla_due(kind, priority, now),
            )
            _event(case, CaseEventKind.OPENED, actor, detail or subject, **evidence)
            if team is not None:
                assign_perm(WORK_CASE, team, case)
            return case
        _event(case, CaseEventKind.JOINED, actor, detail or subject, **evidence)
        if PRIORITY_RANK[priority] > PRIORITY_RANK[case.priority]:
            before = case.priority
            case.priority = priority
            case.sla_due_at = min(case.sla_due_at, sla_due(kind, priority, case.opened_at))
            _touch(case, "priority", "sla_due_at")
            _event(case, CaseEventKind.PRIORITY_RAISED, actor, f"{before} → {priority}")
        else:
            _touch(case)
    return case


@transaction.atomic(durable=True)
def create_case(
    *,
    actor,
    kind: str,
    subject: str,
    counterparty: Counterparty | None = None,
    priority: str = CasePriority.MEDIUM,
    detail: str = "",
    team: Group | None = None,
) -> Case:
    """An officer opens (or joins) a case by hand: ``open_or_join_case`` with the officer as actor."""
    require(actor, "compliance.case.work", "Only compliance opens cases.")
    return open_or_join_case(
        kind=kind,
        counterparty=counterparty,
        subject=subject,
        priority=priority,
        detail=detail,
        actor=actor,
        team=team,
    )


# --- working a case -------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def assign_case(*, actor, case: Case | int, user) -> Case:
    """Give the case to a compliance officer (who may see it): an open case goes into review.
    ``compliance.case.work``. Raises ``PermissionDeniedError``, ``NotFoundError``, ``InvalidInput``
    (not a compliance officer, or outside the case's team) or ``InvalidState`` (closed)."""
    case = _locked_case(actor, case, "compliance.case.work", "Only compliance works cases.")
    _check_open(case)
    if user is None or not allows(user, "compliance.case.work") or not can_see(user, case):
        raise InvalidInput(
            "Cases are assigned to compliance officers who may see them.",
            fields={"user": ["Not a compliance officer of this case's team."]},
        )
    with acting_as_if(actor):
        case.assignee = user
        fields = ["assignee"]
        if case.status == CaseStatus.OPEN:
            case.status = CaseStatus.IN_REVIEW
            fields.append("status")
        _touch(case, *fields)
        case.worked_by.add(user)
        _event(case, CaseEventKind.ASSIGNED, actor, f"Assigned to {user.get_username()}", assignee=user)
    return case


@transaction.atomic(durable=True)
def add_note(*, actor, case: Case | int, text: str) -> CaseEvent:
    """Add a note to the timeline (its author has worked the case). ``compliance.case.work``. Raises
    ``PermissionDeniedError``, ``NotFoundError``, ``InvalidInput`` (empty, too long) or
    ``InvalidState`` (closed)."""
    text = _text(text, field="text", required=True)
    case = _locked_case(actor, case, "compliance.case.work", "Only compliance works cases.")
    _check_open(case)
    with acting_as_if(actor):
        fields = []
        if case.status == CaseStatus.OPEN:
            case.status = CaseStatus.IN_REVIEW
            fields.append("status")
        _touch(case, *fields)
        case.worked_by.add(actor)
        return _event(case, CaseEventKind.NOTE, actor, text)


@transaction.atomic(durable=True)
def set_team(*, actor, case: Case | int, team: Group | None) -> Case:
    """Restrict the case to a team the actor belongs to (a group holding ``compliance.work_case`` on
    it), or lift the restriction (None). ``compliance.case.work``. Raises ``PermissionDeniedError``,
    ``NotFoundError``, ``InvalidInput`` (not the actor's team) or ``InvalidState`` (closed)."""
    case = _locked_case(actor, case, "compliance.case.work", "Only compliance works cases.")
    _check_open(case)
    if team is not None and not actor.groups.filter(pk=team.pk).exists():
        # Restricting a case to a team one is not in would hide it from the one restricting it.
        raise InvalidInput("Restrict a case to a team you belong to.", fields={"team": ["Not your team."]})
    with acting_as_if(actor):
        if case.team_id is not None:
            remove_perm(WORK_CASE, case.team, case)
        case.team = team
        _touch(case, "team")
        if team is not None:
            assign_perm(WORK_CASE, team, case)
        _event(case, CaseEventKind.TEAM_SET, actor, team.name if team else "No team")
    return case


@transaction.atomic(durable=True)
def escalate_case(*, actor, case: Case | int, reason: str) -> Case:
    """Escalate the case, saying why: its closure then needs a second officer who neither escalated
    nor worked it. ``compliance.case.work``. Raises ``PermissionDeniedError``, ``NotFoundError``,
    ``InvalidInput`` (no reason) or ``InvalidState`` (closed or already escalated)."""
    reason = _text(reason, field="reason", required=True)
    case = _locked_case(actor, case, "compliance.case.work", "Only compliance works cases.")
    _check_open(case)
    if case.status == CaseStatus.ESCALATED:
        raise InvalidState("This case is already escalated.")
    with acting_as_if(actor):
        case.status = CaseStatus.ESCALATED
        case.escalated_at, case.escalated_by, case.escalation_reason = timezone.now(), actor, reason
        _touch(case, "status", "escalated_at", "escalated_by", "escalation_reason")
        _event(case, CaseEventKind.ESCALATED, actor, reason)
    return case


# --- closing --------------------------------------------------------------------------------------


def needs_four_eyes(case: Case, disposition: str) -> bool:
    """Closing a sanctions case as a false positive, or any case that was escalated."""
    return case.escalated_at is not None or (
        case.kind == CaseKind.SANCTIONS and disposition == CaseDisposition.FALSE_POSITIVE
    )


def check_second_officer(case: Case, actor, *, proposer_checked: bool = False) -> None:
    """The approver of a four-eyes closure is someone else: not the proposer, not the one who
    escalated it, not anyone who worked it (assignees, note and attachment authors). The sanctions
    match path asks the same of the officer confirming a false positive on a case's match
    (``proposer_checked``: the match's own proposer rule has been applied)."""
    if not proposer_checked and case.closure_proposed_by_id == actor.pk:
        raise SegregationOfDuties(
            "A second compliance officer approves this closure, not the one who proposed it."
        )
    if case.escalated_by_id == actor.pk:
        raise SegregationOfDuties("The officer who escalated this case cannot approve its closure.")
    if case.assignee_id == actor.pk or case.worked_by.filter(pk=actor.pk).exists():
        raise SegregationOfDuties("An officer who worked this case cannot approve its closure.")


@transaction.atomic(durable=True)
def close_case(*, actor, case: Case | int, disposition: str, reason: str = "") -> Case:
    """Close the case with a disposition. Where four eyes are needed (``needs_four_eyes``) this is the
    proposal (the case stays open, "closure_proposed"), and a second officer approves it
    (``approve_closure``; the same call by another eligible officer with the same disposition approves
    it too). A sanctions case's disposition decides its matches (see the module's docstring).
    ``compliance.case.close``. Raises ``PermissionDeniedError``, ``NotFoundError``, ``InvalidInput``
    (unknown disposition, reason too long, a sanctions case with undecided matches closed as cleared),
    ``SegregationOfDuties`` (the proposer or an officer who worked it approving) or ``InvalidState``
    (closed already; another disposition proposed)."""
    disposition = _choice(disposition, CaseDisposition, field="disposition")
    reason = _text(reason, field="reason", required=False)
    case = _locked_case(actor, case, "compliance.case.close", "Only compliance closes cases.")
    _check_open(case)
    _check_disposition(case, disposition)
    if case.closure_proposed_by_id is not None:
        if case.proposed_disposition != disposition:
            raise InvalidState(
                f"A closure as {case.get_proposed_disposition_display().lower()} awaits approval: "
                "approve it or send it back first."
            )
        return _approve(case, actor, reason)
    with acting_as_if(actor):
        if needs_four_eyes(case, disposition):
            case.proposed_disposition = disposition
            case.closure_proposed_by, case.closure_proposed_at = actor, timezone.now()
            case.closure_proposal_reason = reason
            _touch(
                case,
                "proposed_disposition",
                "closure_proposed_by",
                "closure_proposed_at",
                "closure_proposal_reason",
            )
            _event(case, CaseEventKind.CLOSURE_PROPOSED, actor, reason, data={"disposition": disposition})
            return case
        _close(case, actor, disposition, reason)
    return case


@transaction.atomic(durable=True)
def approve_closure(*, actor, case: Case | int, reason: str = "") -> Case:
    """A second compliance officer approves the proposed closure: the case closes with the proposed
    disposition. ``compliance.case.approve_closure``. Raises ``PermissionDeniedError``,
    ``NotFoundError``, ``SegregationOfDuties`` (the proposer, the escalator, an officer who worked it)
    or ``InvalidState`` (no proposal, closed)."""
    reason = _text(reason, field="reason", required=False)
    case = _locked_case(actor, case, "compliance.case.approve_closure", "Only compliance approves closures.")
    _check_open(case)
    if case.closure_proposed_by_id is None:
        raise InvalidState("No closure awaits approval on this case.")
    return _approve(case, actor, reason)


@transaction.atomic(durable=True)
def reject_closure(*, actor, case: Case | int, reason: str) -> Case:
    """Send a proposed closure back (the proposer withdrawing it, or a second officer who does not
    agree), saying why. ``compliance.case.close``."""
    reason = _text(reason, field="reason", required=True)
    case = _locked_case(actor, case, "compliance.case.close", "Only compliance closes cases.")
    _check_open(case)
    if case.closure_proposed_by_id is None:
        raise InvalidState("No closure awaits approval on this case.")
    with acting_as_if(actor):
        proposed = case.proposed_disposition
        case.proposed_disposition, case.closure_proposal_reason = "", ""
        case.closure_proposed_by = case.closure_proposed_at = None
        _touch(
            case,
            "proposed_disposition",
            "closure_proposed_by",
            "closure_proposed_at",
            "closure_proposal_reason",
        )
        _event(case, CaseEventKind.CLOSURE_REJECTED, actor, reason, data={"disposition": proposed})
    return case


def _approve(case: Case, actor, reason: str) -> Case:
    require(actor, "compliance.case.approve_closure", "Only compliance approves closures.")
    check_second_officer(case, actor)
    with acting_as_if(actor):
        _event(
            case,
            CaseEventKind.CLOSURE_APPROVED,
            actor,
            reason,
            data={"disposition": case.proposed_disposition},
        )
        _close(case, actor, case.proposed_disposition, reason or case.closure_proposal_reason)
    return case


def _check_disposition(case: Case, disposition: str) -> None:
    if case.kind != CaseKind.SANCTIONS or disposition != CaseDisposition.CLEARED:
        return
    from compliance.cases import sanctions

    if sanctions.undecided_matches(case).exists():
        raise InvalidInput(
            "A sanctions case with potential matches is closed as a false positive (four eyes), "
            "reported or offboarded.",
            fields={"disposition": ["Not for undecided matches."]},
        )


def _close(case: Case, actor, disposition: str, reason: str) -> None:
    case.status = CaseStatus.CLOSED
    case.disposition = disposition
    case.closed_at, case.closed_by, case.closure_reason = timezone.now(), actor, reason
    _touch(case, "status", "disposition", "closed_at", "closed_by", "closure_reason")
    _event(case, CaseEventKind.CLOSED, actor, reason, data={"disposition": disposition})
    if case.kind == CaseKind.SANCTIONS:
        from compliance.cases import sanctions

        sanctions.decide_matches(case)


def kyc_approved(*, actor, profile) -> Case | None:
    """A KYC approval (a renewal) recorded by ``actor``: the counterparty's open KYC review case, if
    any, gets the decision on its timeline and is closed as cleared by that officer, since the review
    it was opened for is done. An escalated case, or one with a closure already proposed, keeps its
    four eyes: it only gets the event, and a second officer closes it. Runs inside the approval's
    transaction (``set_kyc``); the case is locked first. Returns the case, or None."""
    case = (
        Case.objects.select_for_update()
        .filter(kind=CaseKind.KYC, counterparty_id=profile.counterparty_id)
        .exclude(status=CaseStatus.CLOSED)
        .first()
    )
    if case is None:
        return None
    review = f"; next periodic review {profile.next_review_on:%Y-%m-%d}" if profile.next_review_on else ""
    text = f"KYC approved by {actor.get_username()}, expires {profile.expires_on:%Y-%m-%d}{review}."
    with acting_as_if(actor):
        _event(
            case,
            CaseEventKind.EVIDENCE_DECIDED,
            actor,
            text,
            evidence_type="kyc_profile",
            evidence_id=profile.pk,
        )
        if needs_four_eyes(case, CaseDisposition.CLEARED) or case.closure_proposed_by_id is not None:
            return case
        _close(case, actor, CaseDisposition.CLEARED, text)
    return case


# --- attachments ----------------------------------------------------------------------------------


def attach(*, actor, case: Case | int, name: str, data: bytes) -> CaseAttachment:
    """Attach a file to the case as evidence (its uploader has worked the case). The file is checked
    first (size, type by content, a name without a path: ``compliance.cases.uploads``), stored under a
    name of our own, then recorded with an "attachment" event; a refusal stores nothing and a failed
    write to the database removes the file. ``compliance.case.work``. Raises
    ``PermissionDeniedError``, ``NotFoundError``, ``InvalidInput`` or ``InvalidState`` (closed)."""
    require(actor, "compliance.case.work", "Only compliance works cases.")
    checked = uploads.check(name, data)
    # The case is looked at before the file is written (a closed or invisible case stores nothing);
    # it is looked at again, locked, in the transaction that records the file.
    pk = case if isinstance(case, int) else case.pk
    found = Case.objects.filter(pk=pk).first()
    if found is None or not can_see(actor, found):
        raise NotFoundError("No such case.")
    _check_open(found)
    stored = uploads.store(checked, data)
    try:
        return _record_attachment(actor, pk, checked, stored)
    except BaseException:
        uploads.remove(stored)
        raise


@transaction.atomic(durable=True)
def _record_attachment(actor, pk: int, checked: uploads.Checked, stored: str) -> CaseAttachment:
    case = _locked_case(actor, pk, "compliance.case.work", "Only compliance works cases.")
    _check_open(case)
    with acting_as_if(actor):
        attachment = CaseAttachment.objects.create(
            case=case,
            original_name=checked.name,
            stored_name=stored,
            content_type=checked.content_type,
            size=checked.size,
            sha256=checked.sha256,
            uploaded_by=actor,
        )
        fields = []
        if case.status == CaseStatus.OPEN:
            case.status = CaseStatus.IN_REVIEW
            fields.append("status")
        _touch(case, *fields)
        case.worked_by.add(actor)
        _event(case, CaseEventKind.ATTACHMENT, actor, checked.name, attachment=attachment)
    return attachment


# --- the SLA check --------------------------------------------------------------------------------


def flag_overdue_cases(*, now: datetime | None = None) -> dict:
    """Flag every open case past its SLA due time, once: ``sla_breached_at`` set by a conditional
    update (a case flagged by a concurrent run is not flagged again) and an "sla_breached" event.
    Idempotent: a second run flags nothing new. Returns the counts."""
    now = now or timezone.now()
    flagged = 0
    candidates = list(
        Case.objects.exclude(status=CaseStatus.CLOSED)
        .filter(sla_due_at__lte=now, sla_breached_at__isnull=True)
        .values_list("pk", "sla_due_at")
        .order_by("pk")
    )
    for pk, due in candidates:
        flagged += _flag(pk, due, now)
    return {"checked": len(candidates), "flagged": flagged}


@transaction.atomic(durable=True)
def _flag(pk: int, due: datetime, now: datetime) -> int:
    # Claim the flag with a conditional update: two runs (a redelivered task) flag a case once.
    claimed = (
        Case.objects.filter(pk=pk, sla_breached_at__isnull=True)
        .exclude(status=CaseStatus.CLOSED)
        .update(sla_breached_at=now)
    )
    if claimed:
        case = Case(pk=pk)
        _event(case, CaseEventKind.SLA_BREACHED, None, f"SLA due {due.isoformat()} has passed.")
    return claimed
