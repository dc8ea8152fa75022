"""Regulator requests: log one, assign its owner, start work, attach evidence, respond, close; and
the daily reminders (due within ``REGULATOR_REMINDER_DAYS`` days, or overdue)."""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from borrowdesk import filecheck
from borrowdesk.access.policy import allows, require
from borrowdesk.audit import acting_as_if
from borrowdesk.business_day import business_day_end
from borrowdesk.errors import InvalidInput, InvalidState
from compliance.regulator.models import (
    OUTSTANDING,
    RegulatorEvidence,
    RegulatorReminder,
    RegulatorRequest,
    RegulatorRequestStatus,
    ReminderKind,
)

MAX_TEXT = 20_000


def _text(value: Any, *, field: str, limit: int, required: bool) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise InvalidInput(
            f"{field.replace('_', ' ').capitalize()} is required.", fields={field: ["Required."]}
        )
    if len(text) > limit:
        raise InvalidInput(f"{field} too long.", fields={field: [f"At most {limit:,} characters."]})
    return text


def _owner(owner) -> Any:
    if owner is None:
        return None
    if not allows(owner, "compliance.regulator.work"):
        raise InvalidInput(
            "The owner must be a compliance officer.", fields={"owner": ["Not a compliance officer."]}
        )
    return owner


def _locked(request: RegulatorRequest) -> RegulatorRequest:
    # Every action on one request serializes on its row (two officers responding at once).
    return RegulatorRequest.objects.select_for_update().get(pk=request.pk)


@transaction.atomic(durable=True)
def log_request(
    *,
    actor,
    regulator: str,
    subject: str,
    received_at: datetime,
    due_at: datetime,
    reference: str = "",
    details: str = "",
    owner=None,
    is_drill: bool = False,
) -> RegulatorRequest:
    """Log a request received from a regulator (or a drill: a rehearsal). Raises ``InvalidInput``
    (missing regulator or subject, due before received, received in the future, an owner who is not
    a compliance officer)."""
    require(actor, "compliance.regulator.work", "Only compliance logs regulator requests.")
    regulator = _text(regulator, field="regulator", limit=120, required=True)
    subject = _text(subject, field="subject", limit=300, required=True)
    reference = _text(reference, field="reference", limit=120, required=False)
    details = _text(details, field="details", limit=MAX_TEXT, required=False)
    if received_at > timezone.now() + timedelta(minutes=5):
        raise InvalidInput(
            "A request cannot be received in the future.", fields={"received_at": ["In the future."]}
        )
    if due_at < received_at:
        raise InvalidInput(
            "The due time is before the request was received.", fields={"due_at": ["Before received."]}
        )
    with acting_as_if(actor):
        return RegulatorRequest.objects.create(
            regulator=regulator,
            subject=subject,
            reference=reference,
            details=details,
            received_at=received_at,
            due_at=due_at,
            owner=_owner(owner),
            is_drill=bool(is_drill),
            created_by=actor,
        )


@transaction.atomic(durable=True)
def assign_request(*, actor, request: RegulatorRequest, owner) -> RegulatorRequest:
    """Give the request to a compliance officer. Raises ``InvalidInput`` and ``InvalidState`` (closed)."""
    require(actor, "compliance.regulator.work", "Only compliance assigns regulator requests.")
    owner = _owner(owner)
    with acting_as_if(actor):
        request = _locked(request)
        if request.status == RegulatorRequestStatus.CLOSED:
            raise InvalidState(f"Request {request.pk} is closed.")
        request.owner = owner
        if request.status == RegulatorRequestStatus.OPEN and owner is not None:
            request.status = RegulatorRequestStatus.IN_PROGRESS
        request.save(update_fields=["owner", "status"])
        return request


@transaction.atomic(durable=True)
def respond_to_request(*, actor, request: RegulatorRequest, response_text: str) -> RegulatorRequest:
    """Record the response sent to the regulator (open or in progress → responded). Raises
    ``InvalidInput`` (no response) and ``InvalidState``."""
    require(actor, "compliance.regulator.work", "Only compliance responds to regulators.")
    response_text = _text(response_text, field="response_text", limit=MAX_TEXT, required=True)
    with acting_as_if(actor):
        request = _locked(request)
        if request.status not in OUTSTANDING:
            raise InvalidState(f"Request {request.pk} is {request.get_status_display().lower()}.")
        request.status = RegulatorRequestStatus.RESPONDED
        request.response_text = response_text
        request.responded_at, request.responded_by = timezone.now(), actor
        request.save(update_fields=["status", "response_text", "responded_at", "responded_by"])
        return request


@transaction.atomic(durable=True)
def close_request(*, actor, request: RegulatorRequest) -> RegulatorRequest:
    """Close a responded request (the regulator has what it asked for). Raises ``InvalidState``."""
    require(actor, "compliance.regulator.work", "Only compliance closes regulator requests.")
    with acting_as_if(actor):
        request = _locked(request)
        if request.status != RegulatorRequestStatus.RESPONDED:
            raise InvalidState(
                f"Request {request.pk} is {request.get_status_display().lower()}: respond first."
            )
        request.status = RegulatorRequestStatus.CLOSED
        request.closed_at = timezone.now()
        request.save(update_fields=["status", "closed_at"])
        return request


# --- evidence files -------------------------------------------------------------------------------

# What evidence may be, read from the content (the name proves nothing); the signatures are
# ``borrowdesk.filecheck``'s. Plain text (CSV, a letter) is UTF-8 without NUL bytes.
ACCEPTED = frozenset(
    {"application/pdf", "image/png", "image/jpeg", "application/zip", filecheck.TEXT}  # zip: xlsx, docx
)
MAX_NAME = 200  # RegulatorEvidence.original_name
SNIFF_BYTES = 4096


def sniff(head: bytes) -> str | None:
    """The content type of a file from its first bytes, or None when it is none we accept."""
    found = filecheck.sniff(head, ACCEPTED)
    return found[0] if found else None


def clean_name(name: str) -> str:
    """The uploaded name as shown (once ``filecheck.name_problem`` has let it through)."""
    return unicodedata.normalize("NFC", (name or "").strip())


@transaction.atomic(durable=True)
def attach_evidence(*, actor, request: RegulatorRequest, name: str, content: bytes) -> RegulatorEvidence:
    """Store an evidence file with the request: size limited (``REGULATOR_EVIDENCE_MAX_BYTES``), its
    type read from its content (PDF, PNG, JPEG, ZIP-based office files, UTF-8 text), stored under a
    random name. Raises ``InvalidInput`` (empty, too large, a type we do not accept, a name refused by
    ``filecheck.name_problem``: a path, a drive, control characters, a leading dot, too long) and
    ``InvalidState`` (closed request), with nothing stored. A name is refused, never trimmed."""
    require(actor, "compliance.regulator.work", "Only compliance attaches evidence.")
    problem = filecheck.name_problem(clean_name(name), max_length=MAX_NAME)
    if problem:
        raise InvalidInput(problem, fields={"file": ["Invalid file name."]})
    if not content:
        raise InvalidInput("The file is empty.", fields={"file": ["Empty file."]})
    limit = settings.REGULATOR_EVIDENCE_MAX_BYTES
    if len(content) > limit:
        raise InvalidInput(
            f"The file is larger than {limit:,} bytes.", fields={"file": [f"At most {limit:,} bytes."]}
        )
    content_type = sniff(content[:SNIFF_BYTES])
    if content_type is None:
        raise InvalidInput(
            "Evidence is a PDF, an image (PNG, JPEG), an office file or plain text: this file is none "
            "of those.",
            fields={"file": ["File type not accepted (read from its content)."]},
        )
    with acting_as_if(actor):
        request = _locked(request)
        if request.status == RegulatorRequestStatus.CLOSED:
            raise InvalidState(f"Request {request.pk} is closed.")
        evidence = RegulatorEvidence(
            request=request,
            token=secrets.token_hex(16),
            original_name=clean_name(name),
            content_type=content_type,
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            uploaded_by=actor,
        )
        # The file is written before its row: a row that fails to insert takes its file with it.
        evidence.file.save(evidence.token, ContentFile(content), save=False)
        try:
            evidence.save()
        except BaseException:
            evidence.file.storage.delete(evidence.file.name)
            raise
        return evidence


# --- reminders ------------------------------------------------------------------------------------


def remind(*, business_date: date) -> dict[str, int]:
    """Record a reminder for every outstanding request due by the end of ``business_date`` plus
    ``REGULATOR_REMINDER_DAYS`` days, or overdue: one per request per business date (a re-run records
    nothing new). Drills are reminded too (a rehearsal is worked as the real thing)."""
    now = timezone.now()
    horizon = business_day_end(business_date + timedelta(days=settings.REGULATOR_REMINDER_DAYS))
    due = RegulatorRequest.objects.filter(status__in=OUTSTANDING, due_at__lte=horizon).order_by("id")
    rows = [
        RegulatorReminder(
            request=r,
            business_date=business_date,
            kind=ReminderKind.OVERDUE if r.due_at < now else ReminderKind.DUE_SOON,
            due_at=r.due_at,
            recipient_id=r.owner_id,
        )
        for r in due
    ]
    # The unique (request, business_date) makes a redelivered job harmless: conflicts are skipped.
    RegulatorReminder.objects.bulk_create(rows, ignore_conflicts=True)
    return {
        "due": len(rows),
        "overdue": sum(1 for r in rows if r.kind == ReminderKind.OVERDUE),
        "reminders": RegulatorReminder.objects.filter(business_date=business_date).count(),
    }


def users_for_owner() -> Any:
    """Compliance officers, who may own a request (for forms)."""
    users = get_user_model().objects.filter(is_active=True).order_by("username")
    return [u for u in users if allows(u, "compliance.regulator.work")]
