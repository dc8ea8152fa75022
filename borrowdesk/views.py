"""Error pages: API paths answer in API.md's error shape, pages with Django's templates."""

from django.http import JsonResponse
from django.views import defaults


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        body = {"code": "not_found", "detail": f"No API resource at {request.path}."}
        return JsonResponse(body, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
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
            and request.path.startswith("/api/")
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return not_found(request)
        return response
