"""Request hygiene: input no database, template or JSON encoder can take is refused at the door.

PostgreSQL refuses a NUL byte in a text value and an unpaired UTF-16 surrogate cannot be encoded as
UTF-8, so either one reaching a query or a response is a 500. Rather than guard every field of every
view, one middleware looks at the path, the query string and form fields of every request, and the
JSON parser (``borrowdesk.api.DecimalJSONParser``) does the same for JSON bodies with
``check_json``. A bad path is a 404 (no such resource can exist); any other bad input is a 400,
in API.md's error shape under /api/ and as Django's 400 page elsewhere. A body over
``DATA_UPLOAD_MAX_MEMORY_SIZE`` is refused here too, so the API answers it as JSON.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.views import defaults

from borrowdesk.uploads import parse_keeping_names

# A NUL, or a surrogate code point (U+D800–U+DFFF): in a Python str decoded from UTF-8 or JSON, a
# surrogate is always unpaired (a pair in JSON's \uXXXX escapes decodes to one astral character).
_UNSAFE = re.compile("[\x00\ud800-\udfff]")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def is_unsafe_text(value: str) -> bool:
    """True if ``value`` holds a NUL byte or an unpaired surrogate."""
    return _UNSAFE.search(value) is not None


class UnsafeJSON(ValueError):
    """A parsed JSON body nested deeper than allowed, or holding a NUL or an unpaired surrogate."""

    def __init__(self, detail: str, field: str = "non_field_errors", *, too_deep: bool = False):
        super().__init__(detail)
        self.detail, self.field, self.too_deep = detail, field, too_deep


def check_json(value: Any, max_depth: int) -> None:
    """Raise ``UnsafeJSON`` if a parsed JSON value is nested deeper than ``max_depth`` arrays and
    objects, or if any string in it (keys included) holds a NUL or an unpaired surrogate. Iterative,
    so it never recurses as deep as the input does."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, name, depth = stack.pop()
        if isinstance(item, str):
            if is_unsafe_text(item):
                raise UnsafeJSON(
                    f"{name or 'The body'} holds a NUL byte or an invalid character.",
                    name or "non_field_errors",
                )
        elif isinstance(item, dict | list):
            if depth >= max_depth:
                raise UnsafeJSON(f"JSON nested deeper than {max_depth} levels.", too_deep=True)
            if isinstance(item, list):
                stack.extend((child, f"{name}[{i}]", depth + 1) for i, child in enumerate(item))
                continue
            for key, child in item.items():
                if is_unsafe_text(key):
                    raise UnsafeJSON("A field name holds a NUL byte or an invalid character.")
                stack.append((child, f"{name}.{key}" if name else key, depth + 1))


def _first_unsafe(fields: QueryDict | None) -> str | None:
    """The name of the first field whose name or any of whose values is unsafe text."""
    for key, values in (fields or QueryDict()).lists():
        if is_unsafe_text(key):
            return "field name"
        if any(isinstance(v, str) and is_unsafe_text(v) for v in values):
            return key
    return None


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def bad_request(request: HttpRequest, code: str, detail: str, field: str | None = None) -> HttpResponse:
    """A 400: API.md's error body under /api/, Django's 400 page elsewhere."""
    if _is_api(request):
        body: dict[str, Any] = {"code": code, "detail": detail}
        if field:
            body["fields"] = {field: [detail]}
        return JsonResponse(body, status=400)
    return defaults.bad_request(request, SuspiciousOperation(detail))


class RequestHygieneMiddleware:
    """Refuse NUL bytes and unpaired surrogates in the path (404), the headers, the query string and
    form fields (400), and bodies over the size limit (400 ``too_large``), before any view sees them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_unsafe_text(request.path_info) or is_unsafe_text(request.path):
            from borrowdesk.views import not_found

            return not_found(request)
        # Headers reach queries too (a token, a session key): WSGI gives them as latin-1, so a NUL.
        if any(k.startswith("HTTP_") and isinstance(v, str) and "\x00" in v for k, v in request.META.items()):
            return bad_request(request, "invalid", "A request header holds a NUL byte.")
        if name := _first_unsafe(request.GET):
            return bad_request(
                request, "invalid", f"The query parameter {name} holds a NUL byte or an invalid character."
            )
        try:
            if request.method == "POST" and request.content_type in _FORM_TYPES:
                # Multipart: Django's parse, also noting file names sent with a path in them
                # (borrowdesk/uploads.py), for the views that keep uploaded files to refuse.
                parse_keeping_names(request)
                form = request.POST
            elif request.content_type == "application/x-www-form-urlencoded":
                # Django parses forms of POST only; DRF parses a PUT or PATCH form itself.
                form = QueryDict(request.body, encoding=request.encoding)
            else:
                # Read (and so size-check) every other body here: DRF would read it unbounded.
                request.body  # noqa: B018
                form = None
        except RequestDataTooBig:
            return bad_request(request, "too_large", "The request body is larger than this server accepts.")
        except TooManyFieldsSent:
            return bad_request(request, "invalid", "The request has too many fields.")
        if name := _first_unsafe(form):
            return bad_request(
                request, "invalid", f"The field {name} holds a NUL byte or an invalid character.", name
            )
        return self.get_response(request)
