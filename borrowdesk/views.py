"""Error pages: API paths answer in API.md's error shape, pages with the desk's own templates (inside
the layout, with a way back), whatever DEBUG says for 403 (Django shows its debug page for a 404
only with DEBUG on, which ``make run`` leaves off)."""

from django.http import JsonResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import defaults


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def _context(request) -> dict:
    """The refused path and, when it came from one of our pages, that page (a way back)."""
    referer = request.META.get("HTTP_REFERER", "")
    safe = referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return {"path": request.path, "back": referer if safe and referer != request.build_absolute_uri() else ""}


def not_found(request, exception=None):
    if _is_api(request):
        body = {"code": "not_found", "detail": f"No API resource at {request.path}."}
        return JsonResponse(body, status=404)
    return render(request, "404.html", _context(request), status=404)


def permission_denied(request, exception=None):
    if _is_api(request):
        body = {"code": "permission_denied", "detail": "Your role does not allow this."}
        return JsonResponse(body, status=403)
    return render(request, "403.html", _context(request), status=403)


def server_error(request):
    if _is_api(request):
        body = {"code": "server_error", "detail": "An unexpected error occurred; it has been logged."}
        return JsonResponse(body, status=500)
    return defaults.server_error(request)


class ApiNotFoundMiddleware:
    """A 404 under /api/ that is not already JSON (no URL matched, and DEBUG on: Django's debug page
    is HTML) answers in the error shape. Outside CommonMiddleware, so /api/v1/assets still redirects
    to /api/v1/assets/ first."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code == 404
            and _is_api(request)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return not_found(request)
        return response
