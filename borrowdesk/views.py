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
