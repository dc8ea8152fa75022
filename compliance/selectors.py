from __future__ import annotations

from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet

from borrowdesk.business_day import business_date
from borrowdesk.refdata.models import Counterparty
from compliance.models import (
    UNRESOLVED_MATCH,
    KycDocument,
    KycProfile,
    KycStatus,
    SanctionsListVersion,
    SanctionsMatch,
    SubjectKind,
)

_UNRESOLVED = ", ".join(f"'{status}'" for status in UNRESOLVED_MATCH)


def cleared_sql(counterparty_id: str) -> str:
    """The clearance rule as an SQL condition on the counterparty id expression ``counterparty_id``,
    taking one parameter, the business date (``%s``): for a caller that reads in one statement what
    it would otherwise ask in two (the approval's lock query). ``is_cleared`` asks the same condition.

    Cleared = an approved KYC not past its expiry, and no unresolved sanctions match (potential, a
    false-positive proposal awaiting its second officer, or confirmed) naming the counterparty or one
    of its custody accounts."""
    return (
        "(EXISTS (SELECT 1 FROM compliance_kycprofile k WHERE k.counterparty_id = "
        f"{counterparty_id} AND k.status = '{KycStatus.APPROVED}' AND k.expires_on >= %s) "
        "AND NOT EXISTS (SELECT 1 FROM compliance_sanctionsmatch m WHERE m.counterparty_id = "
        f"{counterparty_id} AND m.status IN ({_UNRESOLVED})))"
    )


def is_cleared(counterparty: Counterparty) -> bool:
    """Cleared = approved KYC that has not expired, and no unresolved sanctions match."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {cleared_sql('%s')}", [counterparty.pk, business_date(), counterparty.pk])
        return bool(cursor.fetchone()[0])


def profile_clears(profile: KycProfile) -> bool:
    """The rule of ``is_cleared`` for one profile already read (the same business date cut); the
    sanctions half is read by ``kyc_profiles`` as ``has_unresolved_match`` (asked here when absent)."""
    held = getattr(profile, "has_unresolved_match", None)
    if held is None:
        held = has_unresolved_match(profile.counterparty_id)
    return profile.status == KycStatus.APPROVED and profile.expires_on >= business_date() and not held


def kyc_profiles() -> QuerySet[KycProfile]:
    return KycProfile.objects.select_related("counterparty", "updated_by", "reviewer").annotate(
        has_unresolved_match=Exists(
            SanctionsMatch.objects.filter(counterparty=OuterRef("counterparty"), status__in=UNRESOLVED_MATCH)
        )
    )


def has_unresolved_match(counterparty_id: int) -> bool:
    return SanctionsMatch.objects.filter(
        counterparty_id=counterparty_id, status__in=UNRESOLVED_MATCH
    ).exists()


# --- sanctions ------------------------------------------------------------------------------------


def list_versions() -> QuerySet[SanctionsListVersion]:
    """Every import of every list, newest first, with who imported it."""
    return SanctionsListVersion.objects.select_related("imported_by").order_by("-imported_at", "-id")


def matches() -> QuerySet[SanctionsMatch]:
    """Every match with what a list or a page shows beside it (subject, list, entry, deciders)."""
    return SanctionsMatch.objects.select_related(
        "counterparty",
        "custody_account",
        "list_version",
        "entry",
        "proposed_by",
        "decided_by",
        "screening__screened_by",
    ).order_by("-created_at", "-id")


def match_queue() -> QuerySet[SanctionsMatch]:
    """The matches that hold someone (a counterparty or a custody account), not officers' searches."""
    return matches().exclude(subject_kind=SubjectKind.QUERY)


def match_detail(pk: int) -> SanctionsMatch:
    """One match (raises ``SanctionsMatch.DoesNotExist``)."""
    return matches().get(pk=pk)


# --- KYC overview and documents -------------------------------------------------------------------


def kyc_overview() -> QuerySet[Counterparty]:
    """Every counterparty with its KYC (or none), the date its review falls due (the earlier of expiry
    and the next periodic review), its document count and whether a sanctions match holds it: the KYC
    page's rows, in one query."""
    from django.db.models import Case, Count, F, When
    from django.db.models.functions import Coalesce, Least

    return (
        Counterparty.objects.select_related("kyc", "kyc__reviewer", "kyc__updated_by")
        .annotate(
            # Due only for a KYC that is (or was) approved; pending or rejected KYC is not in review.
            kyc_due_on=Case(
                When(
                    kyc__status__in=[KycStatus.APPROVED, KycStatus.EXPIRED],
                    then=Least(
                        F("kyc__expires_on"), Coalesce(F("kyc__next_review_on"), F("kyc__expires_on"))
                    ),
                )
            ),
            kyc_documents=Count("kyc__documents"),
            has_unresolved_match=Exists(
                SanctionsMatch.objects.filter(counterparty=OuterRef("pk"), status__in=UNRESOLVED_MATCH)
            ),
        )
        .order_by("code")
    )


def kyc_documents(profile: KycProfile) -> QuerySet[KycDocument]:
    """A profile's documents, newest first, with their uploaders."""
    return (
        KycDocument.objects.filter(profile=profile)
        .select_related("uploaded_by")
        .order_by("-uploaded_at", "-id")
    )


def kyc_document(*, counterparty_code: str, pk: int) -> KycDocument:
    """One document of one counterparty's KYC (raises ``KycDocument.DoesNotExist``: a document of
    another counterparty is not found under this one)."""
    if not 0 < pk < 2**63:
        raise KycDocument.DoesNotExist
    return KycDocument.objects.select_related("profile__counterparty").get(
        pk=pk, profile__counterparty__code=counterparty_code
    )
