"""Uploaded statement files between the preview and the confirmation: kept server-side under
``RECONCILIATION_UPLOAD_DIR/<sha256>`` (the file's own hash names it, never the browser's name), with
a small ``<sha256>.json`` beside it (format, as_of, account, the uploader, the original name).

The confirmation names only the hash; the bytes read back are hashed again, so what is imported is
exactly what the preview showed. Files older than a day are removed at the next upload.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

HASH = re.compile(r"[0-9a-f]{64}")
MAX_AGE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Staged:
    content_hash: str
    data: bytes
    format: str
    as_of: str
    account: str
    filename: str
    uploaded_by: int


def _root() -> Path:
    root = Path(settings.RECONCILIATION_UPLOAD_DIR)
    root.mkdir(parents=True, exist_ok=True)
    return root


def _sweep(root: Path) -> None:
    cutoff = time.time() - MAX_AGE_SECONDS
    for path in root.iterdir():
        if path.is_file() and HASH.fullmatch(path.name.split(".")[0]) and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)


def stage(
    *, content_hash: str, data: bytes, format: str, as_of: str, account: str, filename: str, uploaded_by: int
) -> None:
    """Keep the file (by its hash) and what the preview was asked for, for the confirmation."""
    root = _root()
    _sweep(root)
    (root / content_hash).write_bytes(data)
    meta = {
        "format": format,
        "as_of": as_of,
        "account": account,
        "filename": filename,
        "uploaded_by": uploaded_by,
    }
    (root / f"{content_hash}.json").write_text(json.dumps(meta))


def load(content_hash: str) -> Staged | None:
    """The staged file, or None for an unknown or malformed hash, or bytes that no longer hash to it."""
    import hashlib

    if not isinstance(content_hash, str) or not HASH.fullmatch(content_hash):
        return None
    root = _root()
    try:
        data = (root / content_hash).read_bytes()
        meta = json.loads((root / f"{content_hash}.json").read_text())
    except (OSError, ValueError):
        return None
    if hashlib.sha256(data).hexdigest() != content_hash:
        return None
    return Staged(content_hash=content_hash, data=data, **meta)


def discard(content_hash: str) -> None:
    if isinstance(content_hash, str) and HASH.fullmatch(content_hash):
        root = _root()
        (root / content_hash).unlink(missing_ok=True)
        (root / f"{content_hash}.json").unlink(missing_ok=True)
