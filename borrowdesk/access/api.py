from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import AllowAny
from rest_framework.settings import api_settings


class TokenView(ObtainAuthToken):
    """POST {username, password} → {token}; then send ``Authorization: Token <token>``."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    renderer_classes = ObtainAuthToken.renderer_classes
    parser_classes = api_settings.DEFAULT_PARSER_CLASSES  # the depth-limited, decimal-safe JSON parser

    @extend_schema(
        request=inline_serializer(
            "TokenIn", {"username": serializers.CharField(), "password": serializers.CharField()}
        ),
        responses=inline_serializer("TokenOut", {"token": serializers.CharField()}),
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)
