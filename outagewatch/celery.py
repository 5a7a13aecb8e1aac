"""The Celery application; schedules live in settings.CELERY_BEAT_SCHEDULE."""

import os
from typing import Any

from celery import Celery
from celery.signals import beat_init, worker_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outagewatch.settings")

app = Celery("outagewatch")
app.config_from_object("django.conf:settings", namespace="CELERY")
# One beat sends at a time and records a heartbeat for /api/v1/health/ (outagewatch/beat.py);
# `celery beat --scheduler` still picks another.
app.conf.beat_scheduler = "outagewatch.beat:Scheduler"
app.autodiscover_tasks()


@worker_init.connect
@beat_init.connect
def _refuse_unsafe_settings(**kwargs: object) -> None:
    # Workers sign links in emails: they must not run on a missing key either. Celery logs
    # an exception from a signal handler and starts anyway: only SystemExit stops it.
    from outagewatch.startup import secret_key_problem

    problem = secret_key_problem()
    if problem:
        raise SystemExit(problem)


@worker_ready.connect
def _prime_the_detector(sender: Any, **kwargs: object) -> None:  # Celery's Consumer
    # A worker that takes the tick's queue reads the next tick's baselines ahead of it, in
    # its own (single) process: detection.services.tick.tick_prime.
    tick_queue = app.conf.task_routes["detection.tasks.detect_minute"]["queue"]
    if tick_queue in {queue.name for queue in sender.task_consumer.queues}:
        from detection.tasks import detector_prime

        detector_prime.delay()
