"""API conventions shared by every app: the error body, decimal-safe JSON, pagination, the policy check."""

from __future__ import annotations

import decimal
import json
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, pagination, parsers, permissions
from rest_framework.response import Response

from borrowdesk.errors import DomainError
from borrowdesk.hygiene import UnsafeJSON, check_json


class DecimalJSONParser(parsers.JSONParser):
    """JSON numbers become Decimal, never float, so 0.1 stays 0.1 and 1e309 is not infinity.

    No JSON body answers 500: malformed or nested deeper than ``max_depth`` is a 400 ``parse_error``
    (the parser's own recursion included), and a string holding a NUL byte or an unpaired surrogate,
    which PostgreSQL and the UTF-8 response encoder cannot take, is a 400 ``invalid``."""

    max_depth = 64  # arrays and objects; the deepest body the API takes is 3

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read().decode(encoding)
            data = json.loads(text, parse_float=decimal.Decimal, parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError) as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from exc
        except RecursionError as exc:
            raise exceptions.ParseError(f"JSON nested deeper than {self.max_depth} levels.") from exc
        try:
            check_json(data, self.max_depth)
        except UnsafeJSON as exc:
            if exc.too_deep:
                raise exceptions.ParseError(exc.detail) from exc
            raise exceptions.ValidationError({exc.field: [exc.detail]}) from exc
        return data


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


class Pagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


_DRF_CODES: dict[type[Exception], tuple[int, str]] = {
    exceptions.ParseError: (400, "parse_error"),
    exceptions.NotAuthenticated: (401, "not_authenticated"),
    exceptions.AuthenticationFailed: (401, "authentication_failed"),
    exceptions.PermissionDenied: (403, "permission_denied"),
    exceptions.NotFound: (404, "not_found"),
    exceptions.MethodNotAllowed: (405, "method_not_allowed"),
    exceptions.NotAcceptable: (406, "not_acceptable"),
    exceptions.UnsupportedMediaType: (415, "unsupported_media_type"),
    exceptions.Throttled: (429, "throttled"),
}


def _flatten(detail: Any) -> list[str]:
    if isinstance(detail, dict):
        return [f"{k}: {m}" for k, v in detail.items() for m in _flatten(v)]
    if isinstance(detail, list):
        return [m for item in detail for m in _flatten(item)]
    return [str(detail)]


def _fields(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {str(k): _flatten(v) for k, v in detail.items()}
    return {"non_field_errors": _flatten(detail)}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Render every 4xx as API.md's body: {"code", "detail", "fields"?}."""
    # Imported here: rest_framework.views reads the API settings, which import this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, DomainError):
        body: dict[str, Any] = {"code": exc.code, "detail": exc.detail}
        if exc.fields:
            body["fields"] = exc.fields
        body.update(getattr(exc, "extra", None) or {})  # e.g. a refused statement's errors by line
        return Response(body, status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # an unexpected exception: a 500, always a bug
    if isinstance(exc, exceptions.ValidationError):
        fields = _fields(exc.detail)
        first = next(iter(fields.items()))
        detail = (
            f"Invalid input: {first[0]}: {first[1][0]}" if first[0] != "non_field_errors" else first[1][0]
        )
        response.data = {"code": "invalid", "detail": detail, "fields": fields}
        return response
    status, code = _DRF_CODES.get(type(exc), (response.status_code, "error"))
    response.data = {
        "code": code,
        "detail": str(exc.detail if isinstance(exc, exceptions.APIException) else exc),
    }
    return response


class PolicyPermission(permissions.BasePermission):
    """Allow a request exactly when the access policy allows the action the view declares for it
    (``view.access``: viewset action or HTTP method → action; see borrowdesk/access/declared.py).

    A method the view serves but declares no action for is refused (closed by default; the
    access-matrix test names such a view). A method the view does not serve is let through once
    authenticated, so the view answers 405. Services check the same table again: this turns people
    away before any input is read, so a refused request is a 403 (401 anonymous) whatever its body.
    """

    message = "Your role does not allow this."

    def has_permission(self, request, view) -> bool:
        from borrowdesk.access.declared import api_action
        from borrowdesk.access.policy import PUBLIC, SIGNED_IN, allows

        method = request.method
        action = api_action(view, method)
        if action is None and method == "OPTIONS":  # the metadata of a view: what it accepts
            action = SIGNED_IN
        if action == PUBLIC:  # before request.user: reading it authenticates (a stale token would 401)
            return True
        if action is not None:
            return allows(request.user, action)
        served = (
            getattr(view, "action", None) is not None
            if hasattr(view, "action_map")
            else hasattr(view, method.lower())
        )
        if served:
            return False
        if PUBLIC in (getattr(view, "access", None) or {}).values():
            return True
        return bool(request.user and request.user.is_authenticated)
