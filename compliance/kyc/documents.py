"""What a KYC document upload must be before anything is stored: a safe name, a size within
``KYC_DOCUMENT_MAX_BYTES``, and content that IS a PDF, PNG or JPEG by its first bytes (its magic
number), whatever its name or the browser's Content-Type say. An .exe renamed .pdf starts ``MZ``, not
``%PDF-``, and is refused.

A small signature check rather than libmagic: three formats are accepted, each with a fixed, documented
header (PDF 32000-1 §7.5.2 ``%PDF-1.n``/``%PDF-2.0``; the PNG signature and its first chunk ``IHDR``;
JPEG's SOI marker ``FF D8`` followed by another marker ``FF``).
"""

from __future__ import annotations

import re

from compliance.models import DocumentType

_PDF = re.compile(rb"%PDF-[12]\.\d")
_PNG = b"\x89PNG\r\n\x1a\n"

# A name we keep to show (never to store under): printable, no folder part, no parent or hidden
# name, no drive, not too long. The stored name is always random.
MAX_NAME = 255
_FORBIDDEN_IN_NAME = set('/\\:*?"<>|')


def sniff(head: bytes) -> str | None:
    """The document type the first bytes declare, or None when they are none of PDF, PNG, JPEG."""
    if _PDF.match(head):
        return DocumentType.PDF
    if head.startswith(_PNG) and head[12:16] == b"IHDR":
        return DocumentType.PNG
    if head[:3] == b"\xff\xd8\xff":
        return DocumentType.JPEG
    return None


def name_problem(name: str) -> str | None:
    """Why an uploaded file's name is refused (None when it is fine). A name with a folder in it
    (``../../etc/passwd.pdf``, ``C:\\x.pdf``) is refused outright, not trimmed, so the uploader learns
    their tool sent a path."""
    if not name or not name.strip():
        return "The file has no name."
    if len(name) > MAX_NAME:
        return f"The file name is longer than {MAX_NAME} characters."
    if any(ch in _FORBIDDEN_IN_NAME for ch in name) or ".." in name:
        return "The file name contains a path (/, \\, .. or a drive): send the file under its own name."
    if not name.isprintable():
        return "The file name contains control characters."
    if name.startswith("."):
        return "The file name starts with a dot."
    return None
