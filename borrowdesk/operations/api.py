from __future__ import annotations

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.utils.module_loading import import_string
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from borrowdesk.access.policy import PUBLIC
from borrowdesk.api import PolicyPermission
from borrowdesk.operations.selectors import last_job_runs, stuck_job_runs


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except DatabaseError:
        return False


def _redis_ok() -> bool:
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False


class HealthView(APIView):
    """Liveness of the app and its dependencies, for load balancers and monitoring (no auth)."""

    permission_classes = [PolicyPermission]
    access = {"GET": PUBLIC}
    authentication_classes: list = []

    @extend_schema(
        responses=inline_serializer(
            "Health",
            {
                "status": serializers.CharField(),
                "database": serializers.CharField(),
                "redis": serializers.CharField(),
                "last_jobs": serializers.ListField(),
                "stuck_jobs": serializers.ListField(),
                "reconciliation": serializers.DictField(
                    required=False,
                    help_text="Today's pre-open reconciliation: business_date, ran, status, finished_at, "
                    "open_breaks (HEALTH_SECTIONS).",
                ),
            },
        )
    )
    def get(self, request):
        database = _database_ok()
        redis_up = _redis_ok()
        # A stuck run (its worker died) is reported, not a reason to take the web out of a load
        # balancer: the status code stays about the dependencies this process needs to serve.
        body = {
            "status": "ok" if database and redis_up else "degraded",
            "database": "ok" if database else "down",
            "redis": "ok" if redis_up else "down",
            "last_jobs": last_job_runs() if database else [],
            "stuck_jobs": stuck_job_runs() if database else [],
        }
        # Sections the higher apps add (settings.HEALTH_SECTIONS: key → dotted path of a function), read
        # by name so the kernel imports none of them.
        for key, path in settings.HEALTH_SECTIONS.items():
            body[key] = import_string(path)() if database else None
        return Response(body, status=200 if database and redis_up else 503)
