from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from borrowdesk.access.lockout import LockedOut, lockout_message
from borrowdesk.access.policy import PUBLIC, SIGNED_IN
from borrowdesk.access.tokens import issue_api_token, revoke_api_token, token_expires_at
from borrowdesk.api import PolicyPermission


class TokenIn(serializers.Serializer):
    username = serializers.CharField(max_length=150, trim_whitespace=False)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)


class TokenView(APIView):
    """POST {username, password} → {token, expires_at}; then send ``Authorization: Token <token>``.
    DELETE revokes the caller's token. Failed logins count towards the lockout (django-axes)."""

    permission_classes = [PolicyPermission]
    access = {"POST": PUBLIC, "DELETE": SIGNED_IN}

    def perform_authentication(self, request):
        # Logging in needs no credentials: an expired token sent along must not stop a new one.
        if request.method != "POST":
            super().perform_authentication(request)

    @extend_schema(
        request=TokenIn,
        responses={
            200: inline_serializer(
                "TokenOut", {"token": serializers.CharField(), "expires_at": serializers.DateTimeField()}
            ),
            429: OpenApiResponse(description="Locked out after repeated failed logins."),
        },
    )
    def post(self, request, *args, **kwargs):
        data = TokenIn(data=request.data)
        data.is_valid(raise_exception=True)
        # The Django request, not DRF's: axes flags a lockout on the object it is given.
        django_request = request._request
        user = authenticate(
            django_request, username=data.validated_data["username"], password=data.validated_data["password"]
        )
        if getattr(django_request, "axes_locked_out", False):
            raise LockedOut(lockout_message())
        if user is None:
            msg = "Unable to log in with provided credentials."
            raise serializers.ValidationError({"non_field_errors": [msg]}, code="authorization")
        token = issue_api_token(user=user)
        return Response({"token": token.key, "expires_at": token_expires_at(token)})

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, *args, **kwargs):
        revoke_api_token(user=request.user)
        return Response(status=204)
