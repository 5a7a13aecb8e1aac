"""The minute tick has its own queue and worker process, as `make run` (the Procfile) and
docs/deployment.md run them: the tick keeps what it committed in its process for the next
minute, which only pays if every minute runs in the same process."""

from __future__ import annotations

import datetime as dt
import shlex

import pytest

from detection.models import JobCursor
from tests.conftest import wait_until
from tests.e2e.conftest import BASE_DIR, broker_clear, quiet_history, running_celery_worker

pytestmark = [pytest.mark.e2e]
T0 = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
# How a worker logs a task it received (its start-up banner lists every task by name alone).
TICK = b"Task detection.tasks.detect_minute["
SWEEP = b"Task alerts.tasks.alerts_sweep["
PRIME = b"Task detection.tasks.detector_prime["
PRIMED = b"Primed the baselines"  # ", states and buckets" once a tick has run


def procfile_command(name: str) -> list[str]:
    for line in (BASE_DIR / "Procfile").read_text().splitlines():
        process, _, command = line.partition(":")
        if process == name:
            return shlex.split(command)
    raise AssertionError(f"no {name!r} process in the Procfile")


def test_the_tick_is_routed_to_its_own_queue_and_everything_else_is_not(celery_app):
    def queue(task: str) -> str:
        return celery_app.amqp.router.route({}, task)["queue"].name

    assert queue("detection.tasks.detect_minute") == "detection"
    assert queue("detection.tasks.detector_prime") == "detection"
    for task in ("detection.tasks.baselines_refit", "alerts.tasks.alerts_sweep"):
        assert queue(task) == "celery"


def test_the_procfile_runs_one_single_process_detector_and_a_worker_for_the_rest():
    detector, worker = procfile_command("detector"), procfile_command("worker")
    assert "--queues=detection" in detector and "--concurrency=1" in detector
    assert "--exclude-queues=detection" in worker


def test_the_detector_runs_the_tick_and_the_worker_the_other_jobs(
    stack_env, redis_url, celery_app, make_service, tmp_path
):
    quiet_history(make_service("acme", "Acme Cloud"), until=T0)
    broker_clear(redis_url)
    with (
        running_celery_worker(
            stack_env, tmp_path / "detector.log", command=procfile_command("detector")
        ) as (_, detector_log),
        running_celery_worker(
            stack_env, tmp_path / "worker.log", command=procfile_command("worker")
        ) as (_, worker_log),
    ):
        celery_app.send_task("detection.tasks.detect_minute", kwargs={"now": T0.isoformat()})
        celery_app.send_task("alerts.tasks.alerts_sweep")
        judged = JobCursor.objects.filter(name="tick", position__gte=T0 - dt.timedelta(minutes=1))
        wait_until(judged.exists, timeout=60, what="the detector to judge the minute")
        wait_until(
            lambda: SWEEP in worker_log.read_bytes(),
            timeout=60,
            what="the worker to run the email sweep",
        )
        assert TICK in detector_log.read_bytes()
        assert TICK not in worker_log.read_bytes()
        assert SWEEP not in detector_log.read_bytes()
        # The detector, and it alone, read the next tick's baselines ahead when it started.
        assert PRIME in detector_log.read_bytes() and PRIMED in detector_log.read_bytes()
        assert PRIME not in worker_log.read_bytes()
