from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken

from borrowdesk.access.policy import PUBLIC
from borrowdesk.api import PolicyPermission


class TokenView(ObtainAuthToken):
    """POST {username, password} → {token}; then send ``Authorization: Token <token>``."""

    permission_classes = [PolicyPermission]
    access = {"POST": PUBLIC}
    authentication_classes: list = []
    renderer_classes = ObtainAuthToken.renderer_classes

    @extend_schema(
        request=inline_serializer(
            "TokenIn", {"username": serializers.CharField(), "password": serializers.CharField()}
        ),
        responses=inline_serializer("TokenOut", {"token": serializers.CharField()}),
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)
