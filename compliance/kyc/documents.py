"""What a KYC document upload must be before anything is stored: a safe name, a size within
``KYC_DOCUMENT_MAX_BYTES``, and content that IS a PDF, PNG or JPEG by its first bytes (its magic
number), whatever its name or the browser's Content-Type say. An .exe renamed .pdf starts ``MZ``, not
``%PDF-``, and is refused.

The signatures and the name rules are ``borrowdesk.filecheck``'s, shared with every upload; this module
holds KYC's own choices: the three accepted types and the longest name kept.
"""

from __future__ import annotations

from borrowdesk import filecheck
from compliance.models import DocumentType

ACCEPTED = frozenset(DocumentType.values)  # PDF, PNG, JPEG

# A name we keep to show (never to store under). The stored name is always random.
MAX_NAME = 255


def sniff(head: bytes) -> tuple[str, str] | None:
    """The (document type, extension) the first bytes (``filecheck.HEAD_BYTES`` of them) declare, or
    None when they are none of PDF, PNG, JPEG."""
    return filecheck.sniff(head, ACCEPTED)


def name_problem(name: str) -> str | None:
    """Why an uploaded file's name is refused (None when it is fine). A name with a folder in it
    (``../../etc/passwd.pdf``, ``C:\\x.pdf``) is refused outright, not trimmed, so the uploader learns
    their tool sent a path."""
    return filecheck.name_problem(name, max_length=MAX_NAME)
