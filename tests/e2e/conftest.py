"""Real processes for end-to-end tests: a gunicorn web server on the test database."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import numpy as np
import pytest
import redis
from django.db import connection

from tests.conftest import free_port, wait_until
from tests.e2e.browser import open_page  # noqa: F401  (fixture: browser pages in any zone)

BASE_DIR = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def database_url() -> str:
    """The URL of the database this test process is using (the test database)."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = f"{s['USER']}:{s['PASSWORD']}@" if s["PASSWORD"] else f"{s['USER']}@"
    return f"postgres://{auth}{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def stack_env(transactional_db, redis_url, tmp_path) -> dict[str, str]:
    """Environment for child processes: same database and Redis as the test."""
    return stack_environment(redis_url, tmp_path)


def stack_environment(redis_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url,
        "CACHE_KEY_PREFIX": "owtest",
        "DEBUG": "0",
        "SECRET_KEY": "e2e-secret-key-that-is-long-enough-for-django-checks-0123456789",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "STATIC_ROOT": str(tmp_path / "static"),
        "EMAIL_FILE_PATH": str(tmp_path / "mail"),
        "PYTHONUNBUFFERED": "1",
        "WEB_CONCURRENCY": "2",
    }


@dataclass
class HttpResult:
    status: int
    headers: Message  # case-insensitive, like HTTP header names
    body: bytes


@dataclass
class WebServer:
    url: str
    log_path: Path | None = None

    def request(
        self, method: str, path: str, body: bytes | None = None, headers=None
    ) -> HttpResult:
        req = urllib.request.Request(
            self.url + path, data=body, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(req, timeout=20) as resp:
                return HttpResult(resp.status, resp.headers, resp.read())
        except urllib.error.HTTPError as err:
            return HttpResult(err.code, err.headers, err.read())


def _responds(url: str) -> bool:
    try:
        urllib.request.urlopen(url + "/api/v1/services/?page_size=1", timeout=2).close()
        return True
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@pytest.fixture
def web_server(stack_env) -> Iterator[WebServer]:
    with running_web_server(stack_env) as server:
        yield server


@contextlib.contextmanager
def running_web_server(env: dict[str, str]) -> Iterator[WebServer]:
    """The production server (gunicorn + uvicorn workers, as docs/deployment.md runs it)."""
    subprocess.run(
        [BIN / "python", "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=BASE_DIR,
        env=env,
        check=True,
    )
    port = free_port()
    log_path = Path(env["STATIC_ROOT"]).parent / f"gunicorn-{port}.log"
    log = open(log_path, "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [BIN / "gunicorn", "-c", "python:outagewatch.gunicorn_conf", "--bind", f"127.0.0.1:{port}"],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: proc.poll() is not None or _responds(url), timeout=30, what="gunicorn")
        if proc.poll() is not None:
            raise AssertionError(log_path.read_text())
        yield WebServer(url, log_path)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()


@pytest.fixture
def celery_worker_process(stack_env, redis_url, tmp_path) -> Iterator[subprocess.Popen]:
    """A real Celery worker on the test database and Redis, started like production.

    Its tasks are found by autodiscovery, as in `make run`; the pool is solo so a test sees
    one task at a time in the log.
    """
    # Tasks left in the broker by an earlier test must not run against this test's rows.
    broker_clear(redis_url)
    with running_celery_worker(stack_env, tmp_path / "worker.log") as (proc, _):
        yield proc


def broker_clear(redis_url: str) -> None:
    """Drop the messages of every queue (and the unacknowledged ones) from the test Redis."""
    from django.conf import settings

    queues = [queue.name for queue in settings.CELERY_TASK_QUEUES]
    redis.Redis.from_url(redis_url).delete(*queues, "unacked", "unacked_index")


CELERY_WORKER = [BIN / "celery", "-A", "outagewatch", "worker", "--pool=solo", "-l", "INFO"]
CELERY_WORKER += ["--without-gossip", "--without-mingle"]


@contextlib.contextmanager
def running_celery_worker(
    env: dict[str, str],
    log_path: Path,
    prefix: list | None = None,
    command: list | None = None,
) -> Iterator[tuple[subprocess.Popen, Path]]:
    """A Celery worker (by default CELERY_WORKER: solo pool, so its log shows one task at a
    time), optionally run through a prefix such as the supervisor; waits until it is ready,
    prints its log after."""
    log = open(log_path, "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [*(prefix or []), *(command or CELERY_WORKER)],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(
            lambda: proc.poll() is not None or b"ready." in log_path.read_bytes(),
            timeout=60,
            what="celery worker",
        )
        if proc.poll() is not None:
            raise AssertionError(log_path.read_text())
        yield proc, log_path
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()
        print(log_path.read_text()[-6000:])  # shown by pytest when a test fails


def quiet_history(service, *, until: dt.datetime, countries=("", "DE"), seed: int = 3) -> None:
    """Three days of ~2 counted reports a minute up to `until`, the buckets watermark there,
    and fitted baselines: a service whose normal traffic the detector knows."""
    from detection.models import Bucket, JobCursor
    from detection.services import baselines_refit

    rng = np.random.default_rng(seed)
    rows = []
    for k in range(3 * 1440):
        n = int(rng.poisson(2.0))
        minute = until - dt.timedelta(days=3) + dt.timedelta(minutes=k)
        rows += [
            Bucket(service=service, country=c, minute=minute, reports=n, counted=n, reporters=n)
            for c in countries
        ]
    Bucket.objects.bulk_create(rows)
    JobCursor.objects.create(name="buckets", position=until)
    baselines_refit(now=until)


@pytest.fixture
def celery_app(redis_url):
    """The project's Celery app, sending to the test Redis."""
    from outagewatch.celery import app

    app.conf.broker_url = redis_url
    return app
