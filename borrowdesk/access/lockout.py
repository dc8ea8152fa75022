"""Brute-force protection: django-axes counts failed logins per user and address together.

After ``LOGIN_FAILURE_LIMIT`` failures in a row for one username from one address, that pair is
locked out for ``LOGIN_LOCKOUT_MINUTES`` (login form and token endpoint alike; a success resets the
count). Per user *and* address, so an attacker cannot lock a user out from everywhere. An
administrator unlocks early with ``python manage.py axes_reset_username USERNAME``.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from borrowdesk.errors import DomainError


def lockout_message() -> str:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return (
        f"Too many failed logins for this user from your address. Try again in {minutes} minutes, "
        "or ask a BorrowDesk administrator to unlock you."
    )


class LockedOut(DomainError):
    code = "locked_out"
    status = 429


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """axes' AXES_LOCKOUT_CALLABLE: 429, in API.md's error shape under /api/, a page otherwise."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"code": LockedOut.code, "detail": lockout_message()}, status=LockedOut.status)
    return render(
        request, "registration/locked_out.html", {"message": lockout_message()}, status=LockedOut.status
    )
