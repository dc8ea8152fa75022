"""Sanctions writes: import a list, screen names and addresses, rescreen everyone, and the four-eyes
clearance of a potential match.

- ``import_sanctions_list`` parses the files first (a broken file raises before anything is written),
  then, in one transaction, COPYs the new version's rows and makes it the active one of its source;
  after commit every counterparty and address is rescreened (a Celery task).
- ``screen`` is an officer's search (recorded, clears or holds nobody); ``screen_counterparty`` and
  ``screen_custody_account`` run when refdata saves one (its ``counterparty_saved`` and
  ``custody_account_saved`` signals); ``rescreen_all`` screens every active counterparty and every
  active custody account with an address, in bulk, after an import and every morning.
- A potential match keeps its counterparty uncleared (``compliance.selectors.cleared_sql``), and
  ``counterparty_uncleared`` is sent so requests_app holds its requests. An officer proposes a false
  positive (``propose_false_positive``), another confirms it (``confirm_false_positive``; the same
  officer: ``SegregationOfDuties``), and ``counterparty_cleared`` is sent when nothing else holds it.
  ``confirm_match`` records a true match: it stays blocked.

A new hit is not recorded again while an identical one (same subject, list, entry, matched text and
screened text) is unresolved, or was cleared as a false positive: a decision stands until the
subject's name or the list's entry changes.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from pathlib import Path

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from borrowdesk.access.policy import require
from borrowdesk.audit import acting_as, acting_as_if
from borrowdesk.errors import InvalidInput, InvalidState, SegregationOfDuties
from borrowdesk.refdata.models import Counterparty, CustodyAccount
from compliance.cases import sanctions as case_rules
from compliance.models import (
    UNRESOLVED_MATCH,
    ListFormat,
    MatchKind,
    MatchStatus,
    SanctionsListVersion,
    SanctionsMatch,
    Screening,
    ScreeningTrigger,
    SubjectKind,
)
from compliance.sanctions import loading, ofac, opensanctions
from compliance.sanctions.files import ParsedList, SourceFile
from compliance.sanctions.screening import (
    ALGORITHM,
    ALGORITHM_VERSION,
    ListMatcher,
    active_matchers,
    threshold,
)
from compliance.selectors import is_cleared
from compliance.signals import counterparty_cleared, counterparty_uncleared

log = logging.getLogger(__name__)

DEFAULT_SOURCE_NAMES = {ListFormat.OFAC_SDN_CSV: "OFAC SDN", ListFormat.OPENSANCTIONS_CSV: "OpenSanctions"}
MAX_QUERY_NAME = 500
MAX_QUERY_ADDRESS = 200
MAX_REASON = 2000
# Advisory locks (two-key form): the first key says whose. Screening: a bulk rescreen holds the
# screening lock alone, a single screening shares it and also holds its subject's, so two screenings
# of one subject cannot both record the same new match. Imports: one per source at a time.
SCREENING_LOCK = 0x53435245  # "SCRE"
SUBJECT_LOCK: dict[str, int] = {SubjectKind.COUNTERPARTY: 0x53435043, SubjectKind.CUSTODY_ACCOUNT: 0x53434341}
IMPORT_LOCK = 0x53494D50  # "SIMP"
BULK_NOTICE = 50  # more counterparties held by one screening than this: one notice for all


# --- import ---------------------------------------------------------------------------------------


def parse_list(
    *, source_format: str, path: Path | None = None, sources: dict[str, SourceFile] | None = None
) -> ParsedList:
    """Read a list's files, from a path (the folder or its main file) or from uploaded bytes keyed by
    their role (``sdn.csv``, ``alt.csv``, …). Writes nothing. Raises ``InvalidInput`` (unknown format)
    or ``SanctionsFileError`` naming the file and line."""
    module = {ListFormat.OFAC_SDN_CSV: ofac, ListFormat.OPENSANCTIONS_CSV: opensanctions}.get(source_format)  # type: ignore[call-overload]
    if module is None:
        raise InvalidInput(
            f"Unknown list format {source_format!r}.",
            fields={"format": [f"One of {', '.join(ListFormat.values)}."]},
        )
    if sources is not None:
        return module.parse(sources)
    if path is None:
        raise InvalidInput("Give the list's path or its files.")
    return module.parse_path(Path(path))


@dataclass(frozen=True)
class ImportResult:
    version: SanctionsListVersion
    replaced: SanctionsListVersion | None  # the version it replaced, if any
    unchanged: bool  # the same files as the list in force: nothing was imported


def import_sanctions_list(
    *,
    actor,
    source_format: str,
    path: Path | None = None,
    sources: dict[str, SourceFile] | None = None,
    parsed: ParsedList | None = None,
    source_name: str = "",
    rescreen: bool = True,
) -> ImportResult:
    """Import a sanctions list as the new version in force of its source (``source_name``, by default
    "OFAC SDN" or "OpenSanctions"), replacing the previous one atomically, and rescreen everyone after
    commit (a Celery task; ``rescreen=False`` leaves it to the caller, who runs
    ``tasks.rescreen_after_import`` itself). The same files as the version in force change nothing
    (``unchanged``).

    ``compliance.sanctions.import``; ``actor`` None is the system (the management command, the demo
    seed). Raises ``PermissionDeniedError``, ``InvalidInput``, or ``SanctionsFileError`` naming the
    file and line of a broken file — before anything is written, so the list in force stays in force.
    """
    if actor is not None:
        require(actor, "compliance.sanctions.import", "Only compliance imports sanctions lists.")
    name = (source_name or DEFAULT_SOURCE_NAMES.get(source_format, "")).strip()  # type: ignore[call-overload]
    if not name or len(name) > 64:
        raise InvalidInput("Name the list (at most 64 characters).", fields={"source_name": ["Required."]})
    if parsed is None:
        parsed = parse_list(source_format=source_format, path=path, sources=sources)
    elif parsed.source_format != source_format:
        raise InvalidInput("The files were read as another format.", fields={"format": ["Mismatch."]})
    return _import(actor=actor, parsed=parsed, source_name=name, rescreen=rescreen)


@transaction.atomic(durable=True)
def _import(*, actor, parsed: ParsedList, source_name: str, rescreen: bool) -> ImportResult:
    with acting_as_if(actor), connection.cursor() as cursor:
        # Two imports of one source at once: the second waits, then replaces the first's version.
        cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [IMPORT_LOCK, source_name])
        current = (
            SanctionsListVersion.objects.select_for_update()
            .filter(source_name=source_name, is_active=True)
            .first()
        )
        content_hash = parsed.content_hash
        if current and current.content_hash == content_hash and current.source_format == parsed.source_format:
            return ImportResult(version=current, replaced=None, unchanged=True)
        counts = parsed.counts()
        version = SanctionsListVersion.objects.create(
            source_format=parsed.source_format,
            source_name=source_name,
            content_hash=content_hash,
            files=parsed.files,
            entry_count=counts["entries"],
            alias_count=counts["aliases"],
            address_count=counts["addresses"],
            digital_address_count=counts["digital_addresses"],
            warnings=parsed.warnings,
            imported_by=actor,
            is_active=False,
        )
        loading.load(parsed, version.pk)
        # The flip: the old version out and the new one in, in this transaction. Screening reads the
        # active flag, so it sees the whole old list or the whole new one.
        if current is not None:
            SanctionsListVersion.objects.filter(pk=current.pk).update(is_active=False)
        SanctionsListVersion.objects.filter(pk=version.pk).update(is_active=True)
        version.is_active = True
    if rescreen:
        # Robust: a broker down at this moment must not fail the import that committed; the 15-minute
        # job rescreens an active list no rescreen has covered (tasks.rescreen_pending).
        transaction.on_commit(lambda: _schedule_rescreen(version.pk), robust=True)
    return ImportResult(version=version, replaced=current, unchanged=False)


def _schedule_rescreen(version_id: int) -> None:
    from compliance.tasks import rescreen_after_import  # tasks call services: imported when needed

    rescreen_after_import.delay(version_id)


# --- screening ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    kind: str
    pk: int | None  # the counterparty or custody account; None for a search
    counterparty_id: int | None  # the counterparty a match would hold
    name: str = ""
    address: str = ""


@dataclass
class Found:
    """What screening found for a batch of subjects, before anything is written."""

    subjects: Sequence[Subject]
    hits: list[tuple[int, dict]]  # (subject index, SanctionsMatch fields)
    version_ids: list[int]
    threshold: float


def find(subjects: Sequence[Subject], *, cutoff: float | None = None, workers: int = -1) -> Found:
    """Screen the subjects' names and addresses against every active list (no writes)."""
    cutoff = threshold() if cutoff is None else cutoff
    matchers = active_matchers()
    hits: list[tuple[int, dict]] = []
    named = [i for i, s in enumerate(subjects) if s.name.strip()]
    addressed = [i for i, s in enumerate(subjects) if s.address.strip()]
    for matcher in matchers:
        for hit in matcher.match_names([subjects[i].name for i in named], cutoff, workers=workers):
            subject = subjects[named[hit.query]]
            hits.append(
                (
                    named[hit.query],
                    _match_fields(
                        matcher,
                        subject,
                        hit.entry_id,
                        kind=MatchKind.NAME,
                        query=subject.name,
                        matched=hit.matched_name,
                        score=hit.score,
                        parts=hit.parts,
                        name_id=hit.name_id,
                    ),
                )
            )
        for found in matcher.match_addresses([subjects[i].address for i in addressed]):
            subject = subjects[addressed[found.query]]
            hits.append(
                (
                    addressed[found.query],
                    _match_fields(
                        matcher,
                        subject,
                        found.entry_id,
                        kind=MatchKind.ADDRESS,
                        query=subject.address,
                        matched=found.address,
                        score=100.0,
                        parts={"exact_address": True, "currency": found.currency},
                        address_id=found.address_id,
                    ),
                )
            )
    return Found(subjects, hits, [m.version_id for m in matchers], cutoff)


def _match_fields(
    matcher: ListMatcher,
    subject: Subject,
    entry_id: int,
    *,
    kind: str,
    query: str,
    matched: str,
    score: float,
    parts: dict,
    name_id: int | None = None,
    address_id: int | None = None,
) -> dict:
    uid, entry_name, entry_type = matcher.entries[entry_id]
    return {
        "subject_kind": subject.kind,
        "counterparty_id": subject.counterparty_id,
        "custody_account_id": subject.pk if subject.kind == SubjectKind.CUSTODY_ACCOUNT else None,
        "list_version_id": matcher.version_id,
        "entry_id": entry_id,
        "kind": kind,
        "name_id": name_id,
        "address_id": address_id,
        "query": query,
        "matched_text": matched,
        "score": Decimal(str(round(score, 2))),
        "parts": {
            **parts,
            "list": matcher.source_name,
            "uid": uid,
            "entry_name": entry_name,
            "entry_type": entry_type,
        },  # fmt: skip
    }


def _decision_key(fields: dict, source_name: str, uid: str) -> tuple:
    subject = fields["custody_account_id"] or fields["counterparty_id"]
    return (fields["subject_kind"], subject, source_name, uid, fields["matched_text"], fields["query"])


def _known_decisions(subject_kinds: set[str], subject_ids: set[int] | None) -> set[tuple]:
    """Keys of the matches that make a new identical hit redundant: unresolved, or cleared as a
    false positive (``subject_ids`` None: of every subject)."""
    matches = SanctionsMatch.objects.filter(
        subject_kind__in=subject_kinds, status__in=[*UNRESOLVED_MATCH, MatchStatus.FALSE_POSITIVE]
    )
    if subject_ids is not None:
        matches = matches.filter(Q(counterparty_id__in=subject_ids) | Q(custody_account_id__in=subject_ids))
    rows = matches.values_list(
        "subject_kind",
        "counterparty_id",
        "custody_account_id",
        "list_version__source_name",
        "entry__uid",
        "matched_text",
        "query",
    )
    return {
        (kind, account or counterparty, source, uid, matched, query)
        for kind, counterparty, account, source, uid, matched, query in rows
    }


def _record(found: Found, *, trigger: str, actor=None) -> tuple[list[Screening], list[SanctionsMatch], dict]:
    """Write a screening per subject and its new matches (inside the caller's transaction); tell
    requests_app after commit about every counterparty a new match holds."""
    subjects = found.subjects
    kinds = {s.kind for s in subjects} - {SubjectKind.QUERY}
    known = (
        _known_decisions(kinds, None if len(subjects) > 100 else {s.pk for s in subjects if s.pk})
        if kinds
        else set()
    )
    by_subject: dict[int, list[dict]] = defaultdict(list)
    suppressed = 0
    for index, fields in found.hits:
        subject = subjects[index]
        if subject.kind != SubjectKind.QUERY:
            key = _decision_key(fields, fields["parts"]["list"], fields["parts"]["uid"])
            if key in known:
                suppressed += 1
                continue
            known.add(key)
        by_subject[index].append(fields)
    now = timezone.now()
    common = {
        "trigger": trigger,
        "list_versions": found.version_ids,
        "threshold": Decimal(str(found.threshold)),
        "algorithm": ALGORITHM,
        "algorithm_version": ALGORITHM_VERSION,
        "screened_at": now,
        "screened_by": actor,
    }
    screenings = [
        Screening(
            subject_kind=s.kind,
            counterparty_id=s.counterparty_id if s.kind == SubjectKind.COUNTERPARTY else None,
            custody_account_id=s.pk if s.kind == SubjectKind.CUSTODY_ACCOUNT else None,
            query_name=s.name,
            query_address=s.address,
            match_count=len(by_subject.get(i, [])),
            **common,
        )
        for i, s in enumerate(subjects)
    ]
    matches = [
        SanctionsMatch(
            screening=screenings[i],
            threshold=common["threshold"],
            algorithm=ALGORITHM,
            algorithm_version=ALGORITHM_VERSION,
            created_at=now,
            **fields,
        )
        for i, hits in sorted(by_subject.items())
        for fields in hits
    ]
    # COPY, not INSERTs: a rescreen writes a screening per counterparty and address (tens of thousands).
    loading.copy_instances(screenings)
    for match in matches:
        match.screening_id = match.screening.pk  # the screening's id is known only now
    loading.copy_instances(matches)
    held = sorted({m.counterparty_id for m in matches if m.counterparty_id is not None})
    # Each new match that holds a counterparty opens or joins its sanctions case, in this transaction.
    case_rules.open_cases_for_matches(matches)
    if len(held) > BULK_NOTICE:
        # Thousands held at once (a new list): one notice for every counterparty, so requests_app
        # syncs all its holds in one pass (its sync reads each counterparty's state as it is now).
        transaction.on_commit(partial(_tell_uncleared, None))
    else:
        for counterparty_id in held:
            transaction.on_commit(partial(_tell_uncleared, counterparty_id))
    counts = {
        "screened": len(subjects),
        "new_matches": len(matches),
        "already_known": suppressed,
        "counterparties_held": len(held),
    }
    return screenings, matches, counts


def _tell_uncleared(counterparty_id: int | None) -> None:
    counterparty_uncleared.send(sender=SanctionsMatch, counterparty_id=counterparty_id)


def _lock_subject(cursor, subject: Subject) -> None:
    cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, 0)", [SCREENING_LOCK])
    cursor.execute(
        "SELECT pg_advisory_xact_lock(%s, %s)", [SUBJECT_LOCK[subject.kind], (subject.pk or 0) % 2**31]
    )


def screen(*, actor, name: str = "", address: str = "") -> tuple[Screening, list[SanctionsMatch]]:
    """An officer's search of a name and/or a wallet address against the active lists: recorded with
    its matches (which hold nobody). ``compliance.screening.run``. Raises ``PermissionDeniedError`` or
    ``InvalidInput`` (neither given, too long)."""
    require(actor, "compliance.screening.run", "Only compliance screens names and addresses.")
    name, address = (name or "").strip(), (address or "").strip()
    errors: dict[str, list[str]] = {}
    if not name and not address:
        errors["name"] = ["Give a name or an address to screen."]
    if len(name) > MAX_QUERY_NAME:
        errors["name"] = [f"At most {MAX_QUERY_NAME} characters."]
    if len(address) > MAX_QUERY_ADDRESS:
        errors["address"] = [f"At most {MAX_QUERY_ADDRESS} characters."]
    if errors:
        field, messages = next(iter(errors.items()))
        raise InvalidInput(messages[0], fields=errors)
    found = find([Subject(SubjectKind.QUERY, None, None, name=name, address=address)], workers=1)
    return _record_search(found, actor)


@transaction.atomic(durable=True)
def _record_search(found: Found, actor) -> tuple[Screening, list[SanctionsMatch]]:
    with acting_as(actor):
        screenings, matches, _ = _record(found, trigger=ScreeningTrigger.MANUAL, actor=actor)
    return screenings[0], matches


def screen_counterparty(
    *, counterparty_id: int, trigger: str = ScreeningTrigger.COUNTERPARTY_CHANGED
) -> dict:
    """Screen one counterparty's legal name (when refdata creates or changes it). An inactive or
    unknown counterparty is not screened. Returns the counts."""
    counterparty = Counterparty.objects.filter(pk=counterparty_id, is_active=True).first()
    if counterparty is None:
        return {"screened": 0}
    subject = Subject(
        SubjectKind.COUNTERPARTY, counterparty.pk, counterparty.pk, name=counterparty.legal_name
    )
    return _screen_one(subject, trigger)


def screen_custody_account(*, account_id: int, trigger: str = ScreeningTrigger.ACCOUNT_SAVED) -> dict:
    """Screen one custody account's address (when refdata creates or changes it); a match holds its
    owner. An inactive account, or one without an address, is not screened. Returns the counts."""
    account = CustodyAccount.objects.filter(pk=account_id, is_active=True).exclude(address="").first()
    if account is None:
        return {"screened": 0}
    subject = Subject(SubjectKind.CUSTODY_ACCOUNT, account.pk, account.owner_id, address=account.address)
    return _screen_one(subject, trigger)


def _screen_one(subject: Subject, trigger: str) -> dict:
    found = find([subject], workers=1)
    if not found.version_ids:
        return {"screened": 0, "lists": 0}  # no list in force: nothing to record against
    return _record_one(subject, found, trigger)


@transaction.atomic(durable=True)
def _record_one(subject: Subject, found: Found, trigger: str) -> dict:
    with connection.cursor() as cursor:
        _lock_subject(cursor, subject)
    return _record(found, trigger=trigger)[2]


def rescreen_all(*, trigger: str = ScreeningTrigger.LIST_IMPORT) -> dict:
    """Screen every active counterparty's legal name and every active custody account's address
    against the active lists, in bulk (``cdist`` on every core), and record the results in one
    transaction; mark the active versions rescreened. Idempotent: a hit already known is not recorded
    twice. Returns the counts."""
    subjects = [
        Subject(SubjectKind.COUNTERPARTY, pk, pk, name=legal_name)
        for pk, legal_name in Counterparty.objects.filter(is_active=True)
        .order_by("pk")
        .values_list("pk", "legal_name")
    ] + [
        Subject(SubjectKind.CUSTODY_ACCOUNT, pk, owner_id, address=address)
        for pk, owner_id, address in CustodyAccount.objects.filter(is_active=True)
        .exclude(address="")
        .order_by("pk")
        .values_list("pk", "owner_id", "address")
    ]
    found = find(subjects)
    if not found.version_ids:
        return {"screened": 0, "lists": 0}  # no list in force: nothing to record against
    return _record_all(found, trigger)


@transaction.atomic(durable=True)
def _record_all(found: Found, trigger: str) -> dict:
    with connection.cursor() as cursor:
        # Alone: no single screening records a match of its own while this one compares.
        cursor.execute("SELECT pg_advisory_xact_lock(%s, 0)", [SCREENING_LOCK])
    counts = _record(found, trigger=trigger)[2] if found.subjects else {"screened": 0}
    SanctionsListVersion.objects.filter(pk__in=found.version_ids).update(rescreened_at=timezone.now())
    return {**counts, "lists": len(found.version_ids)}


# --- decisions on a match -------------------------------------------------------------------------


def _reason(reason: str, *, required: bool) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise InvalidInput("Say why.", fields={"reason": ["Required."]})
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"At most {MAX_REASON} characters.", fields={"reason": ["Too long."]})
    return reason


def _locked(match: SanctionsMatch | int) -> SanctionsMatch:
    # Lock the match: two officers deciding at once apply one after the other, the second seeing the
    # first's decision (a confirmation racing a withdrawal has one winner).
    pk = match if isinstance(match, int) else match.pk
    found = SanctionsMatch.objects.select_for_update().filter(pk=pk).first()
    if found is None:
        raise InvalidState("No such match.")
    return found


def _check_holds_someone(match: SanctionsMatch) -> None:
    if match.subject_kind == SubjectKind.QUERY:
        raise InvalidState("A search result holds no one: there is nothing to clear or confirm.")


def _tell(match: SanctionsMatch) -> None:
    """After commit, tell requests_app where the match's counterparty stands now."""
    if match.counterparty_id is None:
        return
    counterparty_id = match.counterparty_id

    def send() -> None:
        cleared = is_cleared(Counterparty(pk=counterparty_id))
        signal = counterparty_cleared if cleared else counterparty_uncleared
        signal.send(sender=SanctionsMatch, counterparty_id=counterparty_id)

    transaction.on_commit(send)


@transaction.atomic(durable=True)
def propose_false_positive(*, actor, match: SanctionsMatch | int, reason: str) -> SanctionsMatch:
    """A first officer proposes that a potential match is a false positive, saying why. The
    counterparty stays uncleared until another officer confirms (``confirm_false_positive``).
    ``compliance.match.clear``. Raises ``PermissionDeniedError``, ``InvalidInput`` (no reason) or
    ``InvalidState`` (not a potential match, or a search result)."""
    require(actor, "compliance.match.clear", "Only compliance clears sanctions matches.")
    reason = _reason(reason, required=True)
    match = _locked(match)
    _check_holds_someone(match)
    if match.status != MatchStatus.POTENTIAL:
        raise InvalidState(f"This match is {match.get_status_display().lower()}, not a potential match.")
    match.status = MatchStatus.CLEARED_PENDING_SECOND
    match.proposed_by, match.proposed_at, match.proposal_reason = actor, timezone.now(), reason
    with acting_as(actor):
        match.save(update_fields=["status", "proposed_by", "proposed_at", "proposal_reason"])
    return match


@transaction.atomic(durable=True)
def confirm_false_positive(*, actor, match: SanctionsMatch | int, reason: str = "") -> SanctionsMatch:
    """A second officer confirms the proposal: the match is a false positive and no longer holds its
    counterparty, which is cleared again if nothing else holds it (KYC, another match) —
    ``counterparty_cleared`` releases its held requests. ``compliance.match.clear``. Raises
    ``PermissionDeniedError``, ``SegregationOfDuties`` (the proposing officer) or ``InvalidState``
    (no proposal awaiting confirmation)."""
    require(actor, "compliance.match.clear", "Only compliance clears sanctions matches.")
    reason = _reason(reason, required=False)
    match = _locked(match)
    _check_holds_someone(match)
    if match.status != MatchStatus.CLEARED_PENDING_SECOND:
        raise InvalidState("This match has no false-positive proposal awaiting confirmation.")
    if match.proposed_by_id == actor.pk:
        raise SegregationOfDuties(
            "A false positive is confirmed by another compliance officer, not the one who proposed it."
        )
    # The match's case (if open) sets the same rule for its workers: one rule, whichever page is used.
    case_rules.check_match_decider(match, actor)
    match.status = MatchStatus.FALSE_POSITIVE
    match.decided_by, match.decided_at, match.decision_reason = actor, timezone.now(), reason
    with acting_as(actor):
        match.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        case_rules.record_match_decision(match, actor)
    _tell(match)
    return match


@transaction.atomic(durable=True)
def withdraw_false_positive(*, actor, match: SanctionsMatch | int, reason: str) -> SanctionsMatch:
    """Send a false-positive proposal back to a potential match (the proposer withdrawing it, or a
    second officer who does not agree), saying why. ``compliance.match.clear``. Raises
    ``PermissionDeniedError``, ``InvalidInput`` or ``InvalidState``."""
    require(actor, "compliance.match.clear", "Only compliance clears sanctions matches.")
    reason = _reason(reason, required=True)
    match = _locked(match)
    if match.status != MatchStatus.CLEARED_PENDING_SECOND:
        raise InvalidState("This match has no false-positive proposal to withdraw.")
    match.status = MatchStatus.POTENTIAL
    match.decision_reason = f"Proposal withdrawn by {actor.get_username()}: {reason}"
    match.proposed_by = match.proposed_at = None
    match.proposal_reason = ""
    with acting_as(actor):
        match.save(
            update_fields=["status", "decision_reason", "proposed_by", "proposed_at", "proposal_reason"]
        )
    return match


@transaction.atomic(durable=True)
def confirm_match(*, actor, match: SanctionsMatch | int, reason: str) -> SanctionsMatch:
    """An officer confirms a true match: the counterparty stays blocked (it is never cleared by this
    match again). ``compliance.match.confirm``. Raises ``PermissionDeniedError``, ``InvalidInput`` (no
    reason) or ``InvalidState`` (already decided, or a search result)."""
    require(actor, "compliance.match.confirm", "Only compliance confirms sanctions matches.")
    reason = _reason(reason, required=True)
    match = _locked(match)
    _check_holds_someone(match)
    if match.status not in (MatchStatus.POTENTIAL, MatchStatus.CLEARED_PENDING_SECOND):
        raise InvalidState(f"This match is already decided ({match.get_status_display().lower()}).")
    match.status = MatchStatus.CONFIRMED
    match.decided_by, match.decided_at, match.decision_reason = actor, timezone.now(), reason
    with acting_as(actor):
        match.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        case_rules.record_match_decision(match, actor)
    _tell(match)
    return match
