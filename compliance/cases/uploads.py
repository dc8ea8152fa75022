"""Case attachments on disk: checked before anything is stored, stored under names of our own.

- The size is limited (``CASE_ATTACHMENT_MAX_BYTES``); an empty file is refused too.
- The type is decided by the bytes, never by the name or the browser's content type: PDF, PNG, JPEG,
  GIF, or plain UTF-8 text (CSV, notes, e-mail exports) without NUL bytes; anything else is refused.
- The uploaded name is kept only to be shown: a name holding a path (``/``, ``\\``, ``..``), a NUL or
  another control character is refused, so no one is misled about what was uploaded.
- The stored name is 32 random hex digits and the extension of the sniffed type, in
  ``CASE_ATTACHMENT_DIR``: it can never name a path outside the folder.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from borrowdesk.errors import InvalidInput

STORED = re.compile(r"[0-9a-f]{32}\.(pdf|png|jpg|gif|txt)")
MAX_NAME = 200

# (content type, extension, signature at offset 0)
SIGNATURES: list[tuple[str, str, bytes]] = [
    ("application/pdf", "pdf", b"%PDF-"),
    ("image/png", "png", b"\x89PNG\r\n\x1a\n"),
    ("image/jpeg", "jpg", b"\xff\xd8\xff"),
    ("image/gif", "gif", b"GIF87a"),
    ("image/gif", "gif", b"GIF89a"),
]


@dataclass(frozen=True)
class Checked:
    name: str
    content_type: str
    extension: str
    size: int
    sha256: str


def _error(message: str) -> InvalidInput:
    return InvalidInput(message, fields={"file": [message]})


def check_name(name: str) -> str:
    """The uploaded name, to be shown: refused if it holds a path or a control character."""
    name = (name or "").strip()
    if not name:
        raise _error("The file has no name.")
    if "/" in name or "\\" in name or ".." in name:
        raise _error("A file name may not hold a path (/, \\ or ..).")
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name):
        raise _error("A file name may not hold control characters.")
    if len(name) > MAX_NAME:
        raise _error(f"A file name has at most {MAX_NAME} characters.")
    return name


def sniff(data: bytes) -> tuple[str, str]:
    """The content type and extension decided by the bytes; refuses anything not on the list."""
    for content_type, extension, signature in SIGNATURES:
        if data.startswith(signature):
            return content_type, extension
    if b"\x00" not in data:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return "text/plain", "txt"
    raise _error("Only PDF, PNG, JPEG, GIF or plain text files are accepted (judged by their content).")


def check(name: str, data: bytes) -> Checked:
    """Everything about an upload that can be refused, before anything is stored."""
    name = check_name(name)
    limit = settings.CASE_ATTACHMENT_MAX_BYTES
    if len(data) > limit:
        raise _error(f"The file is larger than {limit:,} bytes.")
    if not data:
        raise _error("The file is empty.")
    content_type, extension = sniff(data)
    return Checked(name, content_type, extension, len(data), hashlib.sha256(data).hexdigest())


def read_upload(upload) -> bytes:
    """An uploaded file's bytes, reading at most one byte past the limit (a huge upload is not read
    whole into memory to be refused)."""
    limit = settings.CASE_ATTACHMENT_MAX_BYTES
    chunks, size = [], 0
    for chunk in upload.chunks():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    return b"".join(chunks)


def _root() -> Path:
    root = Path(settings.CASE_ATTACHMENT_DIR)
    root.mkdir(parents=True, exist_ok=True)
    return root


def store(checked: Checked, data: bytes) -> str:
    """Write the bytes under a new name of our own; returns that name."""
    stored = f"{secrets.token_hex(16)}.{checked.extension}"
    path = _root() / stored
    with path.open("xb") as f:
        f.write(data)
    return stored


def path_of(stored_name: str) -> Path:
    """The file of a stored name (only names this module makes)."""
    if not STORED.fullmatch(stored_name):
        raise _error("Not a stored attachment.")
    return _root() / stored_name


def remove(stored_name: str) -> None:
    path_of(stored_name).unlink(missing_ok=True)
