"""Reading a multipart upload while noting the file names a client sent with a path in them.

Django's multipart parser trims an uploaded file's name to its last path part before any view sees it
(``../../etc/passwd.pdf`` arrives as ``passwd.pdf``): safe, but it hides that a client sent a path.
Views that keep uploaded files (KYC documents, case attachments, regulator evidence) refuse such a name
with a clear error instead. So the request hygiene middleware, which reads every form body first, parses
multipart bodies with this parser: the same parse as Django's, which also lists on
``request.unsafe_upload_names`` every name it had to trim, and keeps on ``request.sent_upload_names`` each
trimmed name's original (``sent_name``). The form and files are installed on the request exactly as
Django installs them.
"""

from __future__ import annotations

from io import BytesIO

from django.http import HttpRequest
from django.http.multipartparser import MultiPartParser


class NameKeepingMultiPartParser(MultiPartParser):
    """Django's parser, which also records each file name it had to sanitize."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.unsafe_names: list[str] = []
        self.sent_names: dict[str, str] = {}  # a trimmed name -> the name as the client sent it

    def sanitize_file_name(self, file_name):
        cleaned = super().sanitize_file_name(file_name)
        # A folder part, a parent or current folder, or control characters: what Django trims.
        if cleaned is None or "/" in file_name or "\\" in file_name or not file_name.isprintable():
            self.unsafe_names.append(file_name)
            if cleaned is not None:
                self.sent_names[cleaned] = file_name
        return cleaned


def unsafe_upload_names(request: HttpRequest) -> list[str]:
    """The file names of this request's upload that carried a path (empty when none did)."""
    return list(getattr(request, "unsafe_upload_names", []))


def sent_name(request: HttpRequest, upload) -> str:
    """The name the client sent for ``upload``: the trimmed one Django gives, unless the client sent it
    with a path (then the name as sent, so the upload check refuses it instead of storing a file under
    a name the client did not choose). ``request`` is Django's request (DRF's ``request._request``)."""
    return getattr(request, "sent_upload_names", {}).get(upload.name, upload.name)


def parse_keeping_names(request: HttpRequest) -> list[str]:
    """Parse a multipart POST body now (unless something read it already) and install its form and
    files on ``request``. Returns the file names the client sent that had to be trimmed (empty when
    every name was a plain name). Raises what Django's parse raises on a malformed or oversized body."""
    if request.method != "POST" or request.content_type != "multipart/form-data":
        return []
    # Django's own request internals, used as HttpRequest._load_post_and_files uses them.
    if hasattr(request, "_files") or (request._read_started and not hasattr(request, "_body")):  # type: ignore[attr-defined]
        # Already parsed (or unreadable): Django's own handling stands.
        return unsafe_upload_names(request)
    # The body read once, as Django's own _load_post_and_files reads it (from _body when it is kept).
    data = BytesIO(request._body) if hasattr(request, "_body") else request
    parser = NameKeepingMultiPartParser(request.META, data, request.upload_handlers, request.encoding)
    try:
        post, files = parser.parse()
    except Exception:
        request._mark_post_parse_error()  # type: ignore[attr-defined]  # as Django does, so an error page does not parse it again
        raise
    request._post, request._files = post, files  # type: ignore[attr-defined]
    request.unsafe_upload_names = parser.unsafe_names  # type: ignore[attr-defined]
    request.sent_upload_names = parser.sent_names  # type: ignore[attr-defined]
    return parser.unsafe_names
