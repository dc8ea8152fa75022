"""Case attachments on disk: checked before anything is stored, stored under names of our own.

- The size is limited (``CASE_ATTACHMENT_MAX_BYTES``); an empty file is refused too.
- The type is decided by the bytes, never by the name or the browser's content type: PDF, PNG, JPEG,
  GIF, or plain UTF-8 text (CSV, notes, e-mail exports) without NUL bytes; anything else is refused.
- The uploaded name is kept only to be shown: a name holding a path (``/``, ``\\``, ``..``), a drive,
  a NUL or another control character, or starting with a dot, is refused, so no one is misled about
  what was uploaded (the checks are ``borrowdesk.filecheck``'s, shared with every upload).
- The stored name is 32 random hex digits and the extension of the sniffed type, in
  ``CASE_ATTACHMENT_DIR``: it can never name a path outside the folder.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from borrowdesk import filecheck
from borrowdesk.errors import InvalidInput

STORED = re.compile(r"[0-9a-f]{32}\.(pdf|png|jpg|gif|txt)")
MAX_NAME = 200
# What a case attachment may be (its signatures are in ``borrowdesk.filecheck``).
ACCEPTED = frozenset({"application/pdf", "image/png", "image/jpeg", "image/gif", filecheck.TEXT})


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
    """The uploaded name, to be shown: refused if it holds a path, a drive, a control character or a
    leading dot (``borrowdesk.filecheck.name_problem``)."""
    name = (name or "").strip()
    problem = filecheck.name_problem(name, max_length=MAX_NAME)
    if problem:
        raise _error(problem)
    return name


def sniff(data: bytes) -> tuple[str, str]:
    """The content type and extension decided by the bytes (the whole file); refuses anything not on
    the list."""
    found = filecheck.sniff(data, ACCEPTED, whole=True)
    if found is None:
        raise _error("Only PDF, PNG, JPEG, GIF or plain text files are accepted (judged by their content).")
    return found


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
    """An uploaded file's bytes, reading at most one byte past ``CASE_ATTACHMENT_MAX_BYTES`` (a huge
    upload is not read whole into memory to be refused)."""
    return filecheck.read_upload(upload, settings.CASE_ATTACHMENT_MAX_BYTES)


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
