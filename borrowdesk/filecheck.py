"""Checking an uploaded file before anything is stored: what it is (by its bytes), whether its name is
fit to be shown, and reading it without reading more than the limit allows.

One signature table for every upload (case attachments, regulator evidence, KYC documents); each caller
says which content types it accepts, what size it allows and how it words a refusal.

- ``sniff`` decides the type by the first bytes, never by the name or the browser's Content-Type (an
  .exe renamed .pdf starts ``MZ``, not ``%PDF-``): PDF (PDF 32000-1 §7.5.2 ``%PDF-1.n``/``%PDF-2.0``),
  PNG (its signature and its first chunk ``IHDR``), JPEG (SOI ``FF D8`` then another marker ``FF``),
  GIF (``GIF87a``/``GIF89a``), ZIP (``PK\\3\\4``: xlsx, docx and zip archives) and, when accepted, plain
  UTF-8 text without NUL bytes.
- ``name_problem`` says why a name is refused: a name is kept only to be shown (files are stored under
  random names of our own), and a name holding a path, a drive, control characters or a leading dot is
  refused outright, not trimmed, so the uploader learns their tool sent something odd.
- ``read_upload`` reads at most ``limit + 1`` bytes: enough to tell that a file is too large without
  reading a huge upload whole into memory.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

TEXT = "text/plain"


@dataclass(frozen=True)
class Signature:
    content_type: str
    extension: str
    matches: Callable[[bytes], bool]


_PDF = re.compile(rb"%PDF-[12]\.\d")
_PNG = b"\x89PNG\r\n\x1a\n"

# Every binary type any upload accepts, tried in order. Plain text is decided separately (below).
SIGNATURES: tuple[Signature, ...] = (
    Signature("application/pdf", "pdf", lambda head: _PDF.match(head) is not None),
    Signature("image/png", "png", lambda head: head.startswith(_PNG) and head[12:16] == b"IHDR"),
    Signature("image/jpeg", "jpg", lambda head: head[:3] == b"\xff\xd8\xff"),
    Signature("image/gif", "gif", lambda head: head[:6] in (b"GIF87a", b"GIF89a")),
    Signature("application/zip", "zip", lambda head: head.startswith(b"PK\x03\x04")),
)
TEXT_EXTENSION = "txt"
# The bytes ``sniff`` needs to tell every binary type apart (PNG's IHDR ends at byte 16).
HEAD_BYTES = 16


def _is_text(head: bytes, *, whole: bool) -> bool:
    if b"\x00" in head:
        return False
    try:
        # A sample may end inside a multi-byte character: the incremental decoder keeps such an
        # unfinished character back instead of refusing it (unless the sample is the whole file).
        codecs.getincrementaldecoder("utf-8")().decode(head, final=whole)
    except UnicodeDecodeError:
        return False
    return True


def sniff(head: bytes, allowed: Collection[str], *, whole: bool = False) -> tuple[str, str] | None:
    """The (content type, extension) the first bytes declare, among the ``allowed`` content types; None
    when they are none of those. ``"text/plain"`` in ``allowed`` accepts UTF-8 text without NUL bytes;
    a character cut at the end of the sample is fine unless ``whole`` says the sample is the whole file."""
    for signature in SIGNATURES:
        if signature.content_type in allowed and signature.matches(head):
            return signature.content_type, signature.extension
    if TEXT in allowed and _is_text(head, whole=whole):
        return TEXT, TEXT_EXTENSION
    return None


MAX_NAME = 255
# A folder, a drive (``C:``) or an NTFS stream (``a.pdf:x``), and what Windows forbids in a name.
_PATH_CHARACTERS = frozenset('/\\:*?"<>|')
# Control and format characters (a NUL, a right-to-left override), line and paragraph separators,
# surrogates, private-use and unassigned code points. Spaces (even U+202F, which macOS puts in
# screenshot names) are fine.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def name_problem(name: str, *, max_length: int = MAX_NAME) -> str | None:
    """Why an uploaded file's name is refused (None when it is fine to show): empty, longer than
    ``max_length``, holding a path (``/``, ``\\``, ``..``) or a drive (``:``), a control character, or
    starting with a dot. A name with a folder in it (``../../etc/passwd.pdf``, ``C:\\x.pdf``) is
    refused outright, not trimmed, so the uploader learns their tool sent a path."""
    if not name or not name.strip():
        return "The file has no name."
    if len(name) > max_length:
        return f"The file name is longer than {max_length} characters."
    if ".." in name or any(ch in _PATH_CHARACTERS for ch in name):
        return "The file name contains a path (/, \\, .. or a drive): send the file under its own name."
    if any(unicodedata.category(ch) in _REFUSED_CATEGORIES for ch in name):
        return "The file name contains control characters."
    if name.startswith("."):
        return "The file name starts with a dot."
    return None


_CHUNK = 64 * 1024


def read_upload(upload: Any, limit: int) -> bytes:
    """An uploaded file's bytes from its start, reading at most ``limit + 1`` bytes: more than
    ``limit`` bytes back means the file is too large (a huge upload is not read whole to be refused)."""
    if getattr(upload, "seekable", lambda: False)():
        upload.seek(0)
    parts: list[bytes] = []
    remaining = limit + 1
    while remaining > 0:
        part = upload.read(min(remaining, _CHUNK))
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)
