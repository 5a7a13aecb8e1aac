"""Real processes for end-to-end tests: a gunicorn web server on the test database."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import pytest
import redis
from django.db import connection

from tests.conftest import free_port, wait_until

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
    redis.Redis.from_url(redis_url).delete("celery", "unacked", "unacked_index")
    log_path = tmp_path / "worker.log"
    log = open(log_path, "wb")  # noqa: SIM115
    command = [BIN / "celery", "-A", "outagewatch", "worker", "--pool=solo", "-l", "INFO"]
    proc = subprocess.Popen(
        [*command, "--without-gossip", "--without-mingle"],
        cwd=BASE_DIR,
        env=stack_env,
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
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
        print(log_path.read_text()[-5000:])  # shown by pytest when a test fails


@pytest.fixture
def celery_app(redis_url):
    """The project's Celery app, sending to the test Redis."""
    from outagewatch.celery import app

    app.conf.broker_url = redis_url
    return app
