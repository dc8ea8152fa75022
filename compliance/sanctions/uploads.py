"""Uploaded list files between the preview and the confirmation: kept under
``SANCTIONS_UPLOAD_DIR/<token>/`` under names of our own (``sdn.csv``, ``alt.csv``, …, never the
browser's), with the format, the list's name, the uploader and the content hash the preview showed.

The confirmation imports exactly the files the preview read: the hash is checked again. A token is 32
hex digits made here, so it can never name a path outside the folder; staged files older than a day
are removed at the next upload.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from compliance.sanctions.files import SourceFile

TOKEN = re.compile(r"[0-9a-f]{32}")
MAX_AGE_SECONDS = 24 * 3600
META = "meta.json"


@dataclass(frozen=True)
class Staged:
    token: str
    source_format: str
    source_name: str
    uploaded_by: int
    content_hash: str
    sources: dict[str, SourceFile]


def _root() -> Path:
    root = Path(settings.SANCTIONS_UPLOAD_DIR)
    root.mkdir(parents=True, exist_ok=True)
    return root


def _sweep(root: Path) -> None:
    cutoff = time.time() - MAX_AGE_SECONDS
    for folder in root.iterdir():
        if folder.is_dir() and TOKEN.fullmatch(folder.name) and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)


def stage(
    *,
    sources: dict[str, SourceFile],
    source_format: str,
    source_name: str,
    uploaded_by: int,
    content_hash: str,
) -> str:
    """Keep the files for the confirmation; the token that names them."""
    root = _root()
    _sweep(root)
    token = secrets.token_hex(16)
    folder = root / token
    folder.mkdir(mode=0o700)
    names = {}
    for i, (role, source) in enumerate(sorted(sources.items())):
        stored = f"file-{i}"  # our name: nothing of the browser's reaches the file system
        (folder / stored).write_bytes(source.data)
        names[role] = {"stored": stored, "name": source.name}
    meta = {
        "source_format": source_format,
        "source_name": source_name,
        "uploaded_by": uploaded_by,
        "content_hash": content_hash,
        "files": names,
    }
    (folder / META).write_text(json.dumps(meta))
    return token


def load(token: str) -> Staged | None:
    """The staged upload, or None for an unknown, malformed or expired token."""
    if not isinstance(token, str) or not TOKEN.fullmatch(token):
        return None
    folder = _root() / token
    try:
        meta = json.loads((folder / META).read_text())
        sources = {
            role: SourceFile(entry["name"], (folder / entry["stored"]).read_bytes())
            for role, entry in meta["files"].items()
        }
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return Staged(
        token=token,
        source_format=meta["source_format"],
        source_name=meta["source_name"],
        uploaded_by=meta["uploaded_by"],
        content_hash=meta["content_hash"],
        sources=sources,
    )


def discard(token: str) -> None:
    if TOKEN.fullmatch(token or ""):
        shutil.rmtree(_root() / token, ignore_errors=True)
