"""Reading a multipart upload with the file names as the client sent them.

Django's multipart parser trims an uploaded file's name to its last path part before any view sees it
(``../../etc/passwd.pdf`` arrives as ``passwd.pdf``): safe, but it hides that a client sent a path.
KYC document uploads refuse such a name with a clear error instead, so the views that take them parse
the body themselves, first, with this parser, which keeps every name it had to trim. The parsed form
is then installed on the request as Django would install it, so the CSRF check and the form read it
as usual. (Both views are CSRF-exempt outside and CSRF-protected inside, as Django's documentation
prescribes for views that change how uploads are read.)
"""

from __future__ import annotations

from django.http import HttpRequest
from django.http.multipartparser import MultiPartParser


class NameKeepingMultiPartParser(MultiPartParser):
    """Django's parser, which also records each file name it had to sanitize."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.unsafe_names: list[str] = []

    def sanitize_file_name(self, file_name):
        cleaned = super().sanitize_file_name(file_name)
        if cleaned != file_name:
            self.unsafe_names.append(file_name)
        return cleaned


def parse_keeping_names(request: HttpRequest) -> list[str]:
    """Parse a multipart POST body now (unless something read it already) and install its form and
    files on ``request``. Returns the file names the client sent that had to be trimmed (empty when
    every name was a plain name). Raises ``MultiPartParserError`` on a malformed body, as Django does."""
    if request.method != "POST" or request.content_type != "multipart/form-data":
        return []
    if hasattr(request, "_files"):  # already parsed (a test client that read it, a middleware)
        return list(getattr(request, "unsafe_upload_names", []))
    parser = NameKeepingMultiPartParser(request.META, request, request.upload_handlers, request.encoding)
    try:
        post, files = parser.parse()
    except Exception:
        request._mark_post_parse_error()
        raise
    request._post, request._files = post, files
    request.unsafe_upload_names = parser.unsafe_names
    return parser.unsafe_names
