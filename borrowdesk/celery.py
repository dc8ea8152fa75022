"""The Celery app. Settings come from Django's (CELERY_* names); tasks are found in every app's tasks.py."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "borrowdesk.settings")

app = Celery("borrowdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
