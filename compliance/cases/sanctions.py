"""Sanctions cases and their matches: a potential ``SanctionsMatch`` that holds a counterparty opens or
joins that counterparty's sanctions case (evidence "sanctions_match"), and the case's disposition
decides the matches it holds — one rule, through the case:

- false positive (approved by a second officer): the unresolved matches become false positives, with
  the proposer and the approver as their two officers (the match's own four-eyes CHECK holds), and the
  counterparty is cleared again if nothing else holds it (``counterparty_cleared`` after commit);
- reported or offboarded: the matches are confirmed; the counterparty stays blocked.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from compliance.cases.models import Case, CaseDisposition, CaseEvent, CaseEventKind, CaseKind, CasePriority
from compliance.models import MatchStatus, SanctionsMatch

EVIDENCE = "sanctions_match"
UNDECIDED = (MatchStatus.POTENTIAL, MatchStatus.CLEARED_PENDING_SECOND)


def match_ids(case: Case) -> QuerySet:
    return CaseEvent.objects.filter(
        case=case, evidence_type=EVIDENCE, kind__in=[CaseEventKind.OPENED, CaseEventKind.JOINED]
    ).values("evidence_id")


def undecided_matches(case: Case) -> QuerySet[SanctionsMatch]:
    """The case's matches still holding its counterparty pending a decision."""
    return SanctionsMatch.objects.filter(pk__in=match_ids(case), status__in=UNDECIDED)


def open_cases_for_matches(matches: Iterable[SanctionsMatch]) -> None:
    """Each potential match that holds a counterparty opens or joins its sanctions case (inside the
    screening's transaction: the match and its case commit together). An address match is critical
    (a listed wallet is not a similar name), a name match high at a score of 100, else medium."""
    from borrowdesk.refdata.models import Counterparty
    from compliance.cases.services import open_or_join_case

    holding = [m for m in matches if m.counterparty_id is not None and m.status == MatchStatus.POTENTIAL]
    counterparties = Counterparty.objects.in_bulk({m.counterparty_id for m in holding})
    for match in holding:
        if match.kind == "address":
            priority = CasePriority.CRITICAL
            detail = f"Address {match.query} is listed ({match.matched_text})."
        else:
            priority = CasePriority.HIGH if match.score >= 100 else CasePriority.MEDIUM
            detail = f"Name {match.query!r} matches {match.matched_text!r} (score {match.score})."
        open_or_join_case(
            kind=CaseKind.SANCTIONS,
            counterparty=counterparties[match.counterparty_id],
            subject=f"Potential sanctions match: {match.query}"[:300],
            priority=priority,
            evidence_type=EVIDENCE,
            evidence_id=match.pk,
            detail=detail,
        )


def decide_matches(case: Case) -> None:
    """Apply a closed sanctions case's disposition to its undecided matches (locked: a match decided
    here is not decided again by another path at the same moment)."""
    matches = list(undecided_matches(case).select_for_update().order_by("pk"))
    if not matches:
        return
    now = timezone.now()
    if case.disposition == CaseDisposition.FALSE_POSITIVE:
        for match in matches:
            match.status = MatchStatus.FALSE_POSITIVE
            match.proposed_by_id = case.closure_proposed_by_id
            match.proposed_at = case.closure_proposed_at
            match.proposal_reason = case.closure_proposal_reason or f"Case {case.pk}: false positive."
            match.decided_by_id, match.decided_at = case.closed_by_id, now
            match.decision_reason = case.closure_reason or f"Case {case.pk} closed as a false positive."
            match.save(
                update_fields=[
                    "status",
                    "proposed_by",
                    "proposed_at",
                    "proposal_reason",
                    "decided_by",
                    "decided_at",
                    "decision_reason",
                ]
            )
    elif case.disposition in (CaseDisposition.REPORTED, CaseDisposition.OFFBOARDED):
        for match in matches:
            match.status = MatchStatus.CONFIRMED
            match.decided_by_id, match.decided_at = case.closed_by_id, now
            match.decision_reason = case.closure_reason or f"Case {case.pk} closed as {case.disposition}."
            match.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    else:
        return
    if case.counterparty_id is not None:
        counterparty_id = case.counterparty_id
        transaction.on_commit(lambda: _tell(counterparty_id))


def _tell(counterparty_id: int) -> None:
    from borrowdesk.refdata.models import Counterparty
    from compliance.selectors import is_cleared
    from compliance.signals import counterparty_cleared, counterparty_uncleared

    signal = counterparty_cleared if is_cleared(Counterparty(pk=counterparty_id)) else counterparty_uncleared
    signal.send(sender=Case, counterparty_id=counterparty_id)


def open_case_of(match: SanctionsMatch) -> Case | None:
    """The open (not closed) case this match is evidence on, locked (None: no case, or closed)."""
    return (
        Case.objects.select_for_update()
        .filter(
            pk__in=CaseEvent.objects.filter(
                evidence_type=EVIDENCE,
                evidence_id=match.pk,
                kind__in=[CaseEventKind.OPENED, CaseEventKind.JOINED],
            ).values("case_id")
        )
        .exclude(status="closed")
        .first()
    )


def check_match_decider(match: SanctionsMatch, actor) -> None:
    """The case's four-eyes rule on the match's own path too (one rule, not two): the officer who
    confirms a false positive on a match of an open case is not one who escalated or worked that case.
    Raises ``SegregationOfDuties``."""
    from compliance.cases.services import check_second_officer

    case = open_case_of(match)
    if case is not None:
        check_second_officer(case, actor, proposer_checked=True)


def record_match_decision(match: SanctionsMatch, actor) -> None:
    """A match decided on its own page shows on its case's timeline ("evidence_decided")."""
    case = open_case_of(match)
    if case is None:
        return
    CaseEvent.objects.create(
        case=case,
        kind=CaseEventKind.EVIDENCE_DECIDED,
        actor=actor,
        text=f"Match {match.pk}: {match.get_status_display().lower()}. {match.decision_reason}".strip(),
        data={"match": match.pk, "status": match.status},
    )
