"""The settings of the bench's gunicorn: the project's own, with the bench-only URL conf on top.

Only the bench sets ``DJANGO_SETTINGS_MODULE=tests.bench.settings``; the production URL conf never
includes a bench view."""

from borrowdesk.settings import *  # noqa: F403

ROOT_URLCONF = "tests.bench.urls"
