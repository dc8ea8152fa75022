"""KYC writes: the outcome of a review (``set_kyc``), documents, and the daily job's two halves
(expire lapsed approvals; open review cases ahead of expiry or periodic review).

Clearance is read, not stored (``selectors.cleared_sql``): after every change here the counterparty's
requests are told to follow it (``counterparty_cleared`` / ``counterparty_uncleared``, after commit),
and requests_app puts them on hold or releases them to the step they had reached.
"""

from __future__ import annotations

import calendar
import hashlib
import secrets
from datetime import date, timedelta

from django.apps import apps
from django.conf import settings
from django.core.files.base import File
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce, Least

from borrowdesk import filecheck
from borrowdesk.access.policy import require
from borrowdesk.audit import acting_as
from borrowdesk.business_day import business_date
from borrowdesk.errors import InvalidInput, InvalidState
from borrowdesk.refdata import services as refdata_services
from borrowdesk.refdata.models import Counterparty, RiskRating
from compliance.cases.models import CasePriority, CaseStatus
from compliance.cases.services import kyc_approved, open_or_join_case
from compliance.errors import DocumentRefused
from compliance.kyc.documents import name_problem, sniff
from compliance.models import DocumentKind, KycDocument, KycProfile, KycStatus, kyc_document_storage
from compliance.selectors import is_cleared
from compliance.signals import counterparty_cleared, counterparty_uncleared

KYC_JOB = "compliance.kyc.daily"
MAX_DESCRIPTION = 300


def add_months(day: date, months: int) -> date:
    """``day`` plus whole calendar months, on the same day of the month or the month's last day
    (31 January + 1 month = 28 or 29 February)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def review_interval_months(risk_rating: str) -> int:
    """Months between periodic KYC reviews for a risk rating (``KYC_REVIEW_INTERVAL_MONTHS``)."""
    return int(settings.KYC_REVIEW_INTERVAL_MONTHS[risk_rating])


def next_review_date(*, approved_on: date, risk_rating: str) -> date:
    return add_months(approved_on, review_interval_months(risk_rating))


def _tell_requests(counterparty_id: int) -> None:
    """After commit, tell requests_app whether the counterparty is cleared now (it reads the state
    itself, so notices arriving out of order still end right)."""

    def send() -> None:
        counterparty = Counterparty.objects.get(pk=counterparty_id)
        signal = counterparty_cleared if is_cleared(counterparty) else counterparty_uncleared
        signal.send(sender=KycProfile, counterparty_id=counterparty_id)

    transaction.on_commit(send)


@transaction.atomic(durable=True)
def set_kyc(
    *,
    actor,
    counterparty: Counterparty,
    status: str,
    risk_rating: str,
    expires_on: date | None = None,
) -> KycProfile:
    """Record a counterparty's KYC outcome and its risk rating (the counterparty's own, which decides
    its requests' approval paths; written through refdata's service in the same transaction).
    Compliance only (``compliance.kyc.write``).

    An approval (a renewal too) records the reviewer, the business date, and the next periodic review
    (``KYC_REVIEW_INTERVAL_MONTHS`` by rating); ``expires_on`` defaults to that review date. A rejection
    records its reviewer; pending clears the review. After commit the counterparty's requests follow
    its clearance: held when it is not cleared, released to the step they had reached when it is.

    Raises ``PermissionDeniedError``, ``InvalidInput`` (unknown status or rating, an approval already
    expired).
    """
    require(actor, "compliance.kyc.write", "Only compliance sets KYC.")
    if status not in KycStatus.values:
        raise InvalidInput(f"Unknown KYC status {status!r}.", fields={"status": ["Not a valid choice."]})
    if risk_rating not in RiskRating.values:
        raise InvalidInput(
            f"Unknown risk rating {risk_rating!r}.", fields={"risk_rating": ["Not a valid choice."]}
        )
    today = business_date()
    if status == KycStatus.APPROVED and expires_on is not None and expires_on < today:
        raise InvalidInput(
            "An approved KYC cannot already be expired.", fields={"expires_on": ["In the past."]}
        )
    with acting_as(actor):
        # Lock the counterparty (refdata's service does, as it sets the rating): two KYC updates for
        # one counterparty apply one after the other. The rating decides approval paths; it is
        # compliance's, and the counterparty table is written by refdata's services only.
        refdata_services.set_risk_rating(actor=actor, counterparty=counterparty, risk_rating=risk_rating)
        current = KycProfile.objects.filter(counterparty=counterparty).first()
        review: dict = {}
        if status == KycStatus.APPROVED:
            next_review = next_review_date(approved_on=today, risk_rating=risk_rating)
            expires_on = expires_on or next_review
            review = {"reviewer": actor, "approved_on": today, "next_review_on": next_review}
        elif status == KycStatus.REJECTED:
            review = {"reviewer": actor, "approved_on": None, "next_review_on": None}
        elif status == KycStatus.PENDING:
            review = {"reviewer": None, "approved_on": None, "next_review_on": None}
        if expires_on is None:
            expires_on = current.expires_on if current is not None else today
        expired_on = (
            (current.expired_on if current is not None and current.expired_on else today)
            if status == KycStatus.EXPIRED
            else None
        )
        profile, _ = KycProfile.objects.update_or_create(
            counterparty=counterparty,
            defaults={
                "status": status,
                "risk_rating": risk_rating,
                "expires_on": expires_on,
                "expired_on": expired_on,
                "updated_by": actor,
                **review,
            },
        )
        if status == KycStatus.APPROVED:
            kyc_approved(actor=actor, profile=profile)  # the review case, if one is open, is done
        # Told every time, not only on a change of clearance: a profile that had run out by date and
        # is now rejected was not cleared before either, and its requests must still go on hold.
        _tell_requests(counterparty.pk)
    return profile


# --- documents -------------------------------------------------------------------------------------


def _check_document(*, upload: File, file_name: str) -> tuple[str, str]:
    """The document's type and extension by its content; raises ``DocumentRefused`` before anything
    is written."""
    problem = name_problem(file_name)
    if problem:
        raise DocumentRefused(problem, code="unsafe_file_name")
    limit = settings.KYC_DOCUMENT_MAX_BYTES
    size = upload.size
    if size is None or size > limit:
        raise DocumentRefused(
            f"The file is larger than {limit:,} bytes ({limit // (1024 * 1024)} MB).", code="file_too_large"
        )
    if size == 0:
        raise DocumentRefused("The file is empty.", code="empty_file")
    upload.seek(0)
    found = sniff(upload.read(filecheck.HEAD_BYTES))
    upload.seek(0)
    if found is None:
        raise DocumentRefused(
            "The file is not a PDF, PNG or JPEG (judged by its content, not its name).",
            code="unsupported_file_type",
        )
    return found


def upload_kyc_document(
    *,
    actor,
    counterparty: Counterparty,
    kind: str,
    upload: File,
    file_name: str | None = None,
    description: str = "",
) -> KycDocument:
    """Keep a document as evidence of the counterparty's KYC (``compliance.kyc.document.upload``).

    The file is checked first: its name (no path), its size (``KYC_DOCUMENT_MAX_BYTES``) and its
    content (PDF, PNG or JPEG by its first bytes). It is stored under a random name in the private
    document folder and its row written in one transaction; if the row cannot be written the file is
    removed again, so a refused upload leaves neither. Raises ``PermissionDeniedError``,
    ``DocumentRefused`` (400), ``InvalidInput`` (kind, description), ``InvalidState`` (no KYC profile yet).
    """
    require(actor, "compliance.kyc.document.upload", "Only compliance uploads KYC documents.")
    if kind not in DocumentKind.values:
        raise InvalidInput(f"Unknown document kind {kind!r}.", fields={"kind": ["Not a valid choice."]})
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(
            "The description is too long.", fields={"description": [f"At most {MAX_DESCRIPTION} characters."]}
        )
    file_name = upload.name if file_name is None else file_name
    content_type, extension = _check_document(upload=upload, file_name=file_name or "")
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)

    storage = kyc_document_storage()
    stored: str | None = None
    try:
        with transaction.atomic(durable=True), acting_as(actor):
            # The profile row is locked so a document never lands on a profile being replaced.
            profile = KycProfile.objects.select_for_update().filter(counterparty=counterparty).first()
            if profile is None:
                raise InvalidState(
                    f"{counterparty.code} has no KYC profile yet: record its KYC status first."
                )
            # Our own random name, in a folder per month: the client's name never touches the disk.
            stored = storage.save(
                f"{business_date():%Y/%m}/{secrets.token_hex(16)}.{extension}",
                File(upload),
            )
            return KycDocument.objects.create(
                profile=profile,
                kind=kind,
                file=stored,
                original_name=file_name or "",
                content_type=content_type,
                size=upload.size,
                sha256=digest.hexdigest(),
                description=description,
                uploaded_by=actor,
            )
    except BaseException:
        if stored is not None:
            storage.delete(stored)  # the row was not written: the file goes too
        raise


# --- the daily job ---------------------------------------------------------------------------------


def expire_lapsed_kyc(*, business_date: date) -> int:
    """Set every approved KYC whose expiry date is before ``business_date`` to ``expired`` (recording
    the date), and tell requests_app after commit so the counterparties' open requests go on hold.
    Idempotent: an expired profile is not approved any more, so a second run finds nothing."""
    with transaction.atomic(), acting_as(None, job=KYC_JOB):
        # Row locks: a renewal racing the job either commits first (and is no longer lapsed) or
        # waits for this one and then approves the expired profile again.
        lapsed = list(
            KycProfile.objects.select_for_update()
            .filter(status=KycStatus.APPROVED, expires_on__lt=business_date)
            .order_by("pk")
            .values_list("pk", "counterparty_id")
        )
        if lapsed:
            KycProfile.objects.filter(pk__in=[pk for pk, _ in lapsed]).update(
                status=KycStatus.EXPIRED, expired_on=business_date
            )
        for _, counterparty_id in lapsed:
            _tell_requests(counterparty_id)
    return len(lapsed)


def review_cases_due(*, business_date: date) -> QuerySet[KycProfile]:
    """Profiles whose review falls due within ``KYC_REVIEW_LEAD_DAYS`` of ``business_date`` (or has
    passed) and have no review case for that due date yet."""
    horizon = business_date + timedelta(days=settings.KYC_REVIEW_LEAD_DAYS)
    return (
        KycProfile.objects.filter(status__in=[KycStatus.APPROVED, KycStatus.EXPIRED])
        .annotate(due=Least(F("expires_on"), Coalesce(F("next_review_on"), F("expires_on"))))
        .filter(due__lte=horizon)
        .filter(Q(review_case_due_on__isnull=True) | ~Q(review_case_due_on=F("due")))
        .select_related("counterparty")
        .order_by("due", "pk")
    )


def open_review_cases(*, business_date: date) -> int:
    """Open (or join) a KYC review case for every profile due within the lead time, once per due
    date: the profile records the due date its case was opened for, claimed with a conditional update
    in the same transaction as the case, so a second run (or a redelivered task) opens nothing."""
    opened = 0
    for profile in review_cases_due(business_date=business_date):
        due: date = profile.due  # type: ignore[attr-defined]  # annotated by review_cases_due
        with transaction.atomic(), acting_as(None, job=KYC_JOB):
            claimed = (
                KycProfile.objects.filter(pk=profile.pk)
                .exclude(review_case_due_on=due)
                .update(review_case_due_on=due)
            )
            if not claimed:
                continue  # another run took it meanwhile
            case = _open_review_case(profile=profile, due=due, business_date=business_date)
            KycProfile.objects.filter(pk=profile.pk).update(review_case_id=case.pk)
        opened += 1
    return opened


def _open_review_case(*, profile: KycProfile, due: date, business_date: date):
    """Open or join the counterparty's KYC case, with the profile as its evidence. The cases service
    is idempotent per evidence: a profile already on a case gets that case back. When that case is
    closed (an earlier review cycle's), this cycle's evidence is the profile's version that fell due
    (its history row written by the claim), so a new review opens."""
    if profile.status == KycStatus.EXPIRED:
        what = "expired"
    elif due == profile.expires_on:
        what = "expires"
    else:
        what = "periodic review due"
    lapsed = profile.status == KycStatus.EXPIRED or due < business_date
    review = f", next periodic review {profile.next_review_on:%Y-%m-%d}" if profile.next_review_on else ""
    priority = CasePriority.HIGH if lapsed or profile.risk_rating == RiskRating.HIGH else CasePriority.MEDIUM
    detail = (
        f"KYC {profile.get_status_display().lower()}, risk {profile.risk_rating}, expires "
        f"{profile.expires_on:%Y-%m-%d}{review}."
    )

    def open_for(evidence_type: str, evidence_id: int | None):
        return open_or_join_case(
            kind="kyc",
            counterparty=profile.counterparty,
            subject=f"KYC review: {profile.counterparty.code} {what} on {due:%Y-%m-%d}",
            priority=priority,
            detail=detail,
            evidence_type=evidence_type,
            evidence_id=evidence_id,
            actor=None,
        )

    case = open_for("kyc_profile", profile.pk)
    if case.status == CaseStatus.CLOSED:
        version = (
            apps.get_model("compliance", "KycProfileEvent")
            .objects.filter(pgh_obj_id=profile.pk)
            .order_by("-pgh_id")
            .values_list("pgh_id", flat=True)
            .first()
        )
        case = open_for("kyc_profile_version", version)
    return case


def run_kyc_reviews(*, business_date: date) -> dict:
    """The daily KYC job: expire lapsed approvals, then open review cases ahead of expiry or review."""
    expired = expire_lapsed_kyc(business_date=business_date)
    cases = open_review_cases(business_date=business_date)
    return {"expired": expired, "review_cases_opened": cases}
