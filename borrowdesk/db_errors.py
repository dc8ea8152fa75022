"""A database outage answers 503, in the API's error shape under /api/, whatever DEBUG says.

While PostgreSQL is down or restarting, every query fails with a connection error, in a view or in a
middleware (the session, the user, the audit context). Django turns such an exception into a 500 at
the layer it happened in (Django's HTML debug page with DEBUG on), before an outer middleware could
catch it. So a ``got_request_exception`` receiver notes that the request failed on the database's
connection, and ``DatabaseUnavailableMiddleware``, the outermost but one, replaces that 500 with a 503:
``{"code": "database_unavailable", "detail": …}`` for the API, a plain page for pages. Errors that are
not about the connection (a constraint, a serialization failure) stay what they were. Once the server
is back, Django's connection health checks reconnect on the next request: no restart is needed.
"""

from __future__ import annotations

import logging
import sys

from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.dispatch import receiver
from django.http import HttpResponse, JsonResponse

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
DETAIL = "The database is unavailable right now; nothing was written. Try again in a few seconds."
PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>BorrowDesk is unavailable</title>"
    "<body style='font-family:system-ui,sans-serif;margin:3rem'><h1>BorrowDesk is briefly unavailable</h1>"
    "<p>Its database cannot be reached right now; nothing you sent was saved. "
    "Try again in a few seconds.</p><p><a href='/'>Back to the desk</a></p></body></html>"
)
_FLAG = "_borrowdesk_database_unavailable"


def is_connection_error(exc: BaseException | None) -> bool:
    """Is ``exc`` (or what it wraps) the database's connection failing, not a query's own error?"""
    if isinstance(exc, InterfaceError):  # "connection already closed"
        return True
    if not isinstance(exc, OperationalError):
        return False
    code = getattr(exc.__cause__, "pgcode", None) or ""
    # No SQLSTATE: the connection itself failed (refused, closed unexpectedly). 08: connection
    # exception; 57P: the server shutting down or starting up.
    return code == "" or code.startswith(("08", "57P"))


@receiver(got_request_exception, dispatch_uid="borrowdesk.db_errors")
def _note_connection_error(sender, request=None, **kwargs) -> None:
    if request is not None and is_connection_error(sys.exc_info()[1]):
        setattr(request, _FLAG, True)


def unavailable_response(request) -> HttpResponse:
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"code": "database_unavailable", "detail": DETAIL}, status=503)
    else:
        response = HttpResponse(PAGE, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            response = self.get_response(request)
        except (OperationalError, InterfaceError) as exc:  # raised past every inner layer
            if not is_connection_error(exc):
                raise
            setattr(request, _FLAG, True)
            response = None
        if getattr(request, _FLAG, False):
            log.warning("database unavailable: %s %s answered 503", request.method, request.path)
            return unavailable_response(request)
        return response
