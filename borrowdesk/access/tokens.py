"""API tokens that expire and can be revoked.

A token is DRF's ``authtoken`` row (one per user): it is good for ``API_TOKEN_TTL_HOURS`` from when it
was issued; past that it answers 401 ``authentication_failed`` and the token endpoint issues a new one.
``DELETE /api/v1/auth/token/`` revokes the caller's token at once (every client using it is signed out).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token


def token_ttl() -> timedelta:
    return timedelta(hours=settings.API_TOKEN_TTL_HOURS)


def token_expires_at(token: Token) -> datetime:
    return token.created + token_ttl()


def has_expired(token: Token) -> bool:
    return timezone.now() >= token_expires_at(token)


def issue_api_token(*, user) -> Token:
    """The user's live token, or a new one if they have none or theirs has expired."""
    with transaction.atomic():
        # An expired token is never handed out again: replace it.
        Token.objects.filter(user=user, created__lte=timezone.now() - token_ttl()).delete()
        token, _ = Token.objects.get_or_create(user=user)
    return token


def revoke_api_token(*, user) -> int:
    """Delete the user's token; the number of tokens revoked (0 or 1)."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return deleted


class ExpiringTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``, refused once the token is older than ``API_TOKEN_TTL_HOURS``."""

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if has_expired(token):
            raise exceptions.AuthenticationFailed("Token has expired: ask for a new one.")
        return user, token
