"""Compliance: KYC profiles, sanctions lists (versions, entries, names, addresses), screenings and
their matches. (AML, cases, travel rule and regulator requests come with the rest of the compliance
issue; a case links to a ``SanctionsMatch``.)"""

import os

import pgtrigger
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Q
from django.utils import timezone

from borrowdesk.audit import audited
from borrowdesk.refdata.models import Counterparty, CustodyAccount, RiskRating


class KycStatus(models.TextChoices):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"


@audited
class KycProfile(models.Model):
    """A counterparty's KYC. Cleared = approved and not past ``expires_on`` (and no unresolved sanctions
    match: ``selectors.cleared_sql``).

    ``risk_rating`` is the counterparty's own (refdata's ``Counterparty.risk_rating``, which decides
    approval paths): ``set_kyc`` writes both in one transaction, through refdata's service. An approval
    records its reviewer and date and the next periodic review, ``KYC_REVIEW_INTERVAL_MONTHS`` after it
    by risk rating. The daily KYC job sets a lapsed profile ``expired`` and opens a review case
    ``KYC_REVIEW_LEAD_DAYS`` ahead of the earlier of expiry and next review (``review_due_on``).
    """

    counterparty = models.OneToOneField(Counterparty, on_delete=models.PROTECT, related_name="kyc")
    status = models.CharField(max_length=10, choices=KycStatus.choices, default=KycStatus.PENDING)
    risk_rating = models.CharField(max_length=8, choices=RiskRating.choices)
    expires_on = models.DateField()
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The compliance officer who approved or rejected it last.",
    )
    approved_on = models.DateField(null=True, blank=True, help_text="Business date of the last approval.")
    next_review_on = models.DateField(
        null=True, blank=True, help_text="Periodic review due: approved_on + the interval of its risk rating."
    )
    expired_on = models.DateField(
        null=True, blank=True, help_text="The business date the KYC job found it lapsed and expired it."
    )
    review_case_due_on = models.DateField(
        null=True,
        blank=True,
        help_text="The due date a review case was opened for: one case per due date, however often "
        "the job runs.",
    )
    review_case = models.ForeignKey(
        "compliance.Case",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="That review case.",
    )

    class Meta:
        ordering = ["counterparty__code"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=KycStatus.values), name="kyc_status_valid"),
            models.CheckConstraint(condition=Q(risk_rating__in=RiskRating.values), name="kyc_risk_valid"),
            models.CheckConstraint(
                condition=Q(next_review_on__isnull=True)
                | Q(approved_on__isnull=True)
                | Q(next_review_on__gt=models.F("approved_on")),
                name="kyc_review_after_approval",
            ),
            # Only an expired profile carries the date it expired; a renewal clears it.
            models.CheckConstraint(
                condition=Q(expired_on__isnull=True) | Q(status=KycStatus.EXPIRED),
                name="kyc_expired_on_only_expired",
            ),
        ]
        indexes = [models.Index(fields=["status", "expires_on"], name="kyc_status_expiry_idx")]

    def __str__(self) -> str:
        return f"KYC {self.counterparty_id} {self.status}"

    @property
    def review_due_on(self):
        """The earlier of expiry and the next periodic review: when the KYC must be looked at again."""
        return min(d for d in (self.expires_on, self.next_review_on) if d is not None)


class PrivateDocumentStorage(FileSystemStorage):
    """KYC documents on disk under ``KYC_DOCUMENT_DIR``: outside STATIC_ROOT and MEDIA_ROOT and with no
    URL, so nothing serves them but the download view, which checks the reader and logs the read.
    The folder is read from settings at each use (tests point it at a temporary folder)."""

    def __init__(self):
        super().__init__(base_url=None, file_permissions_mode=0o600, directory_permissions_mode=0o700)

    @property
    def base_location(self):  # type: ignore[override]
        return str(settings.KYC_DOCUMENT_DIR)

    @property
    def location(self):  # type: ignore[override]
        return os.path.abspath(self.base_location)

    def url(self, name):
        raise ValueError("KYC documents have no URL: they are served by the download view only.")


def kyc_document_storage() -> PrivateDocumentStorage:
    return PrivateDocumentStorage()


class DocumentKind(models.TextChoices):
    IDENTITY = "identity", "Identity document"
    PROOF_OF_ADDRESS = "proof_of_address", "Proof of address"
    INCORPORATION = "incorporation", "Certificate of incorporation"
    OWNERSHIP = "ownership", "Ownership structure"
    SOURCE_OF_FUNDS = "source_of_funds", "Source of funds"
    OTHER = "other", "Other"


class DocumentType(models.TextChoices):
    """What the file is, judged by its first bytes (never by its name)."""

    PDF = "application/pdf", "PDF"
    PNG = "image/png", "PNG image"
    JPEG = "image/jpeg", "JPEG image"


@audited
class KycDocument(models.Model):
    """A file kept as evidence of a counterparty's KYC. Stored under a random name of ours; the name it
    came with is kept only to show. Append-only (a trigger refuses UPDATE and DELETE): evidence is
    never rewritten."""

    profile = models.ForeignKey(KycProfile, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(max_length=20, choices=DocumentKind.choices)
    file = models.FileField(storage=kyc_document_storage, max_length=200)
    original_name = models.CharField(max_length=255, help_text="As uploaded; shown only, never a path.")
    content_type = models.CharField(max_length=32, choices=DocumentType.choices)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    description = models.CharField(max_length=300, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        triggers = [
            pgtrigger.Protect(name="kyc_document_no_update", operation=pgtrigger.Update),
            pgtrigger.Protect(name="kyc_document_no_delete", operation=pgtrigger.Delete),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=DocumentKind.values), name="kyc_document_kind_valid"),
            models.CheckConstraint(
                condition=Q(content_type__in=DocumentType.values), name="kyc_document_type_valid"
            ),
            models.CheckConstraint(condition=Q(size__gt=0), name="kyc_document_not_empty"),
            models.UniqueConstraint(fields=["file"], name="kyc_document_file_once"),
        ]

    def __str__(self) -> str:
        return f"KYC document {self.pk} {self.kind}"

    @property
    def extension(self) -> str:
        return {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}[str(self.content_type)]


# --- sanctions lists, screening and matches ---------------------------------------------------------


class ListFormat(models.TextChoices):
    OFAC_SDN_CSV = "ofac-sdn-csv", "OFAC SDN (legacy CSV)"
    OPENSANCTIONS_CSV = "opensanctions-csv", "OpenSanctions (targets.simple.csv)"


@audited
class SanctionsListVersion(models.Model):
    """One import of a sanctions list: its files' hash and counts, who imported it and when.

    One version per source is active (the list in force); a re-import adds a version and flips the
    active flag in the same transaction, so screening never sees half a list. Old versions stay: the
    matches found against them point at their entries, and a decision is explained by the list it was
    made on.
    """

    source_format = models.CharField(max_length=20, choices=ListFormat.choices)
    source_name = models.CharField(max_length=64, help_text="The list, e.g. 'OFAC SDN'. One active per name.")
    content_hash = models.CharField(max_length=64, help_text="SHA-256 over the files, by file name.")
    files = models.JSONField(default=dict, help_text="file name → {sha256, bytes, rows}")
    entry_count = models.PositiveIntegerField()
    alias_count = models.PositiveIntegerField()
    address_count = models.PositiveIntegerField(help_text="Postal addresses (OFAC add.csv).")
    digital_address_count = models.PositiveIntegerField(help_text="Screenable wallet addresses.")
    warnings = models.JSONField(default=list, blank=True)
    imported_at = models.DateTimeField(default=timezone.now)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    is_active = models.BooleanField(default=False)
    rescreened_at = models.DateTimeField(
        null=True, blank=True, help_text="When every counterparty and address was screened against it."
    )

    class Meta:
        ordering = ["-imported_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(source_format__in=ListFormat.values), name="sanctions_version_format_valid"
            ),
            # The list in force is one version per source: the import flips it in one transaction.
            models.UniqueConstraint(
                fields=["source_name"], condition=Q(is_active=True), name="sanctions_one_active_per_source"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_name} #{self.pk} ({self.imported_at:%Y-%m-%d})"


# The list's own rows are written by COPY in bulk and never changed afterwards (a new list is a new
# version; a trigger refuses an UPDATE): they are not audited row by row; the version row, which is,
# carries their hash and counts.
_LIST_ROW_IMMUTABLE = [pgtrigger.Protect(name="list_row_no_update", operation=pgtrigger.Update)]


class SanctionsEntry(models.Model):
    """A listed person, organisation, vessel, aircraft or wallet, as one version of a list has it."""

    version = models.ForeignKey(SanctionsListVersion, on_delete=models.CASCADE, related_name="entries")
    uid = models.CharField(max_length=100, help_text="The list's own id (OFAC ent_num, OpenSanctions id).")
    name = models.TextField(help_text="The primary name as listed.")
    entry_type = models.CharField(max_length=32, help_text="individual, entity, vessel, aircraft, …")
    programs = models.TextField(blank=True, help_text="Sanctions programmes, '; '-separated.")
    remarks = models.TextField(blank=True, help_text="OFAC remarks, continued from sdn_comments.csv.")
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["version", "uid"]
        constraints = [models.UniqueConstraint(fields=["version", "uid"], name="sanctions_entry_uid_once")]
        triggers = _LIST_ROW_IMMUTABLE

    def __str__(self) -> str:
        return f"{self.uid} {self.name}"


class SanctionsName(models.Model):
    """A name an entry is screened under: its primary name or an alias, with the normalized form."""

    version = models.ForeignKey(SanctionsListVersion, on_delete=models.CASCADE, related_name="+")
    entry = models.ForeignKey(SanctionsEntry, on_delete=models.CASCADE, related_name="names")
    name = models.TextField()
    normalized = models.TextField()
    kind = models.CharField(max_length=16, help_text="primary, or the alias type (aka, fka, nka, alias).")
    is_primary = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["version"], name="sanctions_name_version_idx")]
        triggers = _LIST_ROW_IMMUTABLE

    def __str__(self) -> str:
        return self.name


class SanctionsPostalAddress(models.Model):
    """A postal address of an entry (OFAC add.csv; OpenSanctions ``addresses``)."""

    version = models.ForeignKey(SanctionsListVersion, on_delete=models.CASCADE, related_name="+")
    entry = models.ForeignKey(SanctionsEntry, on_delete=models.CASCADE, related_name="postal_addresses")
    address = models.TextField(blank=True)
    city = models.TextField(blank=True)
    country = models.TextField(blank=True)
    remarks = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["version"], name="sanctions_postal_version_idx")]
        triggers = _LIST_ROW_IMMUTABLE

    def __str__(self) -> str:
        return ", ".join(part for part in (self.address, self.city, self.country) if part)


class SanctionsAddress(models.Model):
    """A screenable wallet address ("Digital Currency Address - XBT 1Abc…" in OFAC's remarks)."""

    version = models.ForeignKey(SanctionsListVersion, on_delete=models.CASCADE, related_name="+")
    entry = models.ForeignKey(SanctionsEntry, on_delete=models.CASCADE, related_name="addresses")
    currency = models.CharField(max_length=16, blank=True, help_text="The code as listed: XBT, ETH, USDT, …")
    address = models.CharField(max_length=200)
    normalized = models.CharField(max_length=200)

    class Meta:
        indexes = [models.Index(fields=["version", "normalized"], name="sanctions_address_lookup_idx")]
        triggers = _LIST_ROW_IMMUTABLE

    def __str__(self) -> str:
        return f"{self.currency} {self.address}"


class SubjectKind(models.TextChoices):
    COUNTERPARTY = "counterparty"
    CUSTODY_ACCOUNT = "custody_account", "Custody account"
    QUERY = "query", "Search"  # a name or address typed by an officer: recorded, clears nobody


class ScreeningTrigger(models.TextChoices):
    MANUAL = "manual"
    COUNTERPARTY_CREATED = "counterparty_created", "Counterparty created"
    COUNTERPARTY_CHANGED = "counterparty_changed", "Counterparty changed"
    ACCOUNT_SAVED = "account_saved", "Custody account saved"
    LIST_IMPORT = "list_import", "List imported"
    SCHEDULED = "scheduled"


class Screening(models.Model):
    """One screening of one subject (a counterparty's name, an account's address, or a search) against
    the active lists: the evidence that it was screened, with what, and how many matches it found.
    Append-only (a trigger refuses UPDATE and DELETE): the row is its own record."""

    subject_kind = models.CharField(max_length=16, choices=SubjectKind.choices)
    counterparty = models.ForeignKey(
        Counterparty, null=True, blank=True, on_delete=models.PROTECT, related_name="screenings"
    )
    custody_account = models.ForeignKey(
        CustodyAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="screenings"
    )
    query_name = models.TextField(blank=True)
    query_address = models.CharField(max_length=200, blank=True)
    trigger = models.CharField(max_length=24, choices=ScreeningTrigger.choices)
    list_versions = ArrayField(models.BigIntegerField(), default=list)
    threshold = models.DecimalField(max_digits=5, decimal_places=2)
    algorithm = models.CharField(max_length=64)
    algorithm_version = models.CharField(max_length=100)
    match_count = models.PositiveIntegerField(default=0)
    screened_at = models.DateTimeField(default=timezone.now)
    screened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-screened_at", "-id"]
        indexes = [models.Index(fields=["counterparty", "-screened_at"], name="screening_counterparty_idx")]
        triggers = [
            pgtrigger.Protect(name="append_only_no_update", operation=pgtrigger.Update),
            pgtrigger.Protect(name="append_only_no_delete", operation=pgtrigger.Delete),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(subject_kind__in=SubjectKind.values), name="screening_subject_valid"
            ),
            models.CheckConstraint(
                condition=Q(trigger__in=ScreeningTrigger.values), name="screening_trigger_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Screening {self.pk} {self.subject_kind}"


class MatchStatus(models.TextChoices):
    POTENTIAL = "potential"
    CLEARED_PENDING_SECOND = "cleared_pending_second", "False positive, awaiting a second officer"
    FALSE_POSITIVE = "false_positive", "False positive"
    CONFIRMED = "confirmed", "Confirmed match"


# Matches that keep their counterparty uncleared: everything but a false positive confirmed by two
# officers. ``cleared_sql`` (selectors.py) reads this list.
UNRESOLVED_MATCH = (MatchStatus.POTENTIAL, MatchStatus.CLEARED_PENDING_SECOND, MatchStatus.CONFIRMED)


class MatchKind(models.TextChoices):
    NAME = "name"
    ADDRESS = "address"


# Audited, its inserts by one trigger per statement: a rescreen COPYs thousands of matches at once.
@audited(bulk_inserts=True)
class SanctionsMatch(models.Model):
    """A subject found on a list: a name scored at or above the threshold, or a wallet address listed.

    Everything needed to explain the result later is on the row: the list version and entry, what was
    compared with what, the score and its parts, the threshold and the algorithm (with its version).
    A potential match keeps its counterparty uncleared (``cleared_sql``) until two compliance officers
    agree it is a false positive (proposed by one, confirmed by another); a confirmed match keeps it
    blocked. A later case (compliance's case work) links to this row.
    """

    screening = models.ForeignKey(Screening, on_delete=models.PROTECT, related_name="matches")
    subject_kind = models.CharField(max_length=16, choices=SubjectKind.choices)
    # The counterparty the match holds: the subject itself, or the owner of the custody account.
    counterparty = models.ForeignKey(
        Counterparty, null=True, blank=True, on_delete=models.PROTECT, related_name="sanctions_matches"
    )
    custody_account = models.ForeignKey(
        CustodyAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="sanctions_matches"
    )
    list_version = models.ForeignKey(SanctionsListVersion, on_delete=models.PROTECT, related_name="matches")
    entry = models.ForeignKey(SanctionsEntry, on_delete=models.PROTECT, related_name="matches")
    kind = models.CharField(max_length=8, choices=MatchKind.choices)
    name = models.ForeignKey(SanctionsName, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    address = models.ForeignKey(
        SanctionsAddress, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    query = models.TextField(help_text="What was screened: the subject's name or address as it was.")
    matched_text = models.TextField(help_text="The list's name or address it matched.")
    score = models.DecimalField(max_digits=5, decimal_places=2)
    parts = models.JSONField(default=dict, help_text="The score's parts and the normalized forms compared.")
    threshold = models.DecimalField(max_digits=5, decimal_places=2)
    algorithm = models.CharField(max_length=64)
    algorithm_version = models.CharField(max_length=100)
    status = models.CharField(max_length=24, choices=MatchStatus.choices, default=MatchStatus.POTENTIAL)
    created_at = models.DateTimeField(default=timezone.now)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField(null=True, blank=True)
    proposal_reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The clearance rule's NOT EXISTS, in the approval's lock query: only unresolved rows.
            models.Index(
                fields=["counterparty"],
                condition=Q(status__in=UNRESOLVED_MATCH),
                name="match_unresolved_cp_idx",
            ),
            models.Index(fields=["status", "-created_at"], name="match_queue_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=MatchStatus.values), name="match_status_valid"),
            models.CheckConstraint(condition=Q(kind__in=MatchKind.values), name="match_kind_valid"),
            models.CheckConstraint(
                condition=Q(subject_kind__in=SubjectKind.values), name="match_subject_valid"
            ),
            # A false-positive proposal names its proposer; a false positive, also its second officer,
            # who is someone else (four eyes, in the database too).
            models.CheckConstraint(
                condition=~Q(status__in=[MatchStatus.CLEARED_PENDING_SECOND, MatchStatus.FALSE_POSITIVE])
                | Q(proposed_by__isnull=False),
                name="match_proposal_named",
            ),
            models.CheckConstraint(
                condition=~Q(status=MatchStatus.FALSE_POSITIVE)
                | (Q(decided_by__isnull=False) & ~Q(decided_by=models.F("proposed_by"))),
                name="match_false_positive_four_eyes",
            ),
        ]

    def __str__(self) -> str:
        return f"Match {self.pk} {self.status}"


# AML monitoring's tables live in their own module (compliance/aml/models.py), registered here.
from compliance.aml.models import AlertStatus, AmlAlert, AmlRule, AmlRuleCode, DetectedBy  # noqa: E402, F401

# --- travel rule and regulator requests (their own modules; imported here so Django finds them) ---
# --- cases (compliance.cases) ---------------------------------------------------------------------
from compliance.cases.models import *  # noqa: E402, F401, F403
from compliance.regulator.models import (  # noqa: E402, F401
    RegulatorEvidence,
    RegulatorReminder,
    RegulatorRequest,
    RegulatorRequestStatus,
)
from compliance.travel_rule.models import (  # noqa: E402, F401
    TravelRuleMessage,
    TravelRuleParty,
    TravelRuleStatus,
)
