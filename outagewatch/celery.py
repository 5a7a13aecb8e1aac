"""The Celery application; schedules live in settings.CELERY_BEAT_SCHEDULE."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outagewatch.settings")

app = Celery("outagewatch")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
