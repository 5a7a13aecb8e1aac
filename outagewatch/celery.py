"""The Celery application; schedules live in settings.CELERY_BEAT_SCHEDULE."""

import os

from celery import Celery
from celery.signals import beat_init, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outagewatch.settings")

app = Celery("outagewatch")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
@beat_init.connect
def _refuse_unsafe_settings(**kwargs: object) -> None:
    # Workers sign links in emails: they must not run on a missing key either.
    from outagewatch.startup import require_safe_settings

    require_safe_settings()
