"""Fault injection: Redis restarts while an alert and a confirmation email wait for an SMTP
retry. No email is lost or doubled, and the Celery worker keeps running (issue 11).

Real processes: a private redis-server as the broker (ours even in CI, since we kill it),
a Celery worker under outagewatch.supervise as `make run` starts it, an aiosmtpd server
that answers 451 until told to recover, and beat's alerts-sweep played by a thread.

Before the fix, both retries were countdown tasks held unacked inside the worker; the
restart made kombu's restore_unacked raise AttributeError ('NoneType' object has no
attribute 'hostname') and the worker exited, and the confirmation's retry vanished with
Redis. Now both retries are times in their rows that the sweeper sends.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from aiosmtpd.controller import Controller
from django.db import transaction
from django.utils import timezone

from alerts import services
from alerts.models import AlertDelivery, ConfirmationDelivery, Subscription
from tests.conftest import free_port, wait_until
from tests.e2e.conftest import BIN, running_celery_worker, stack_env  # noqa: F401  (fixture)
from tests.e2e.test_email_alerts import Mailbox, Sweeper, _open_outage

pytestmark = [pytest.mark.e2e]

ALERTED = "ann@example.com"
CONFIRMING = "bob@example.com"


class RedisServer:
    """A redis-server we may kill and start again on the same port, like a restart."""

    def __init__(self) -> None:
        self.binary = shutil.which("redis-server")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = tempfile.mkdtemp(prefix="ow-broker-")
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        # No persistence, as in `make run`: a restart loses every queued message.
        options = ["--bind", "127.0.0.1", "--port", str(self.port), "--save", ""]
        options += ["--appendonly", "no", "--dir", self.workdir]
        self.proc = subprocess.Popen([self.binary, *options], stdout=subprocess.DEVNULL)
        wait_until(self.answers, timeout=10, what="redis-server")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def answers(self) -> bool:
        try:
            return bool(redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        shutil.rmtree(self.workdir, ignore_errors=True)


class FlakyMailbox(Mailbox):
    """Answers 451 (try again later) to every recipient while ``failing``."""

    failing = True

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.failing:
            return "451 4.3.0 Temporary failure, try again later"
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


@pytest.fixture
def broker() -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp() -> Iterator[FlakyMailbox]:
    mailbox = FlakyMailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    mailbox.port = controller.port
    yield mailbox
    controller.stop()


@pytest.fixture
def env(stack_env, broker, smtp) -> dict[str, str]:  # noqa: F811
    return {
        **stack_env,
        "REDIS_URL": broker.url,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp.port),
        "EMAIL_USE_TLS": "0",
        "EMAIL_TIMEOUT": "5",
        "SITE_URL": "http://ow.test",
        "ALERT_RETRY_BACKOFF_SECONDS": "1",
        "ALERT_RETRY_BACKOFF_MAX_SECONDS": "2",
        "ALERT_MAX_ATTEMPTS": "200",
    }


@pytest.fixture
def app_on_broker(broker) -> Iterator[None]:
    """This process's Celery app publishes (on commit) to our broker, then back."""
    from outagewatch.celery import app

    def point_at(url: str) -> None:
        app.conf.broker_url = url
        # The app caches its connection and producer pools for the first broker it saw.
        app._pool = None
        app.amqp._producer_pool = None

    previous = app.conf.broker_url
    point_at(broker.url)
    yield
    point_at(previous)


class SupervisedWorker:
    def __init__(self, proc: subprocess.Popen, log: Path) -> None:
        self.proc = proc
        self.log = log

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def worker_pids(self) -> list[int]:
        return [
            int(pid) for pid in re.findall(r"supervise\[worker\]: started pid (\d+)", self.text())
        ]

    def restarts(self) -> int:
        return len(re.findall(r"supervise\[worker\]: pid \d+ exited", self.text()))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    return not status.exists() or status.read_text().split()[2] != "Z"


@pytest.fixture
def worker(env, tmp_path) -> Iterator[SupervisedWorker]:
    """The worker as `make run` starts it: under the supervisor (solo pool, for the log)."""
    supervise = [BIN / "python", "-m", "outagewatch.supervise", "--name", "worker"]
    prefix = [*supervise, "--min-backoff", "0.5", "--"]
    with running_celery_worker(env, tmp_path / "worker.log", prefix) as (proc, log_path):
        yield SupervisedWorker(proc, log_path)


def _waiting_for_retry(model) -> bool:
    return model.objects.filter(
        status="pending", attempts__gte=1, last_error__contains="451"
    ).exists()


def test_a_redis_restart_loses_no_email_and_leaves_the_worker_running(
    broker, smtp, worker, app_on_broker, make_service
):
    service = make_service("acme", "Acme Cloud")
    Subscription.objects.create(email=ALERTED, service=service, confirmed_at=timezone.now())

    with Sweeper(broker.url, interval=1.0) as sweeper:
        with transaction.atomic():
            services.subscription_request(email=CONFIRMING, service=service, countries=["DE"])
        _open_outage(service)

        # Both were tried, refused with 451, and now wait for a retry.
        wait_until(
            lambda: _waiting_for_retry(AlertDelivery) and _waiting_for_retry(ConfirmationDelivery),
            timeout=60,
            what="both emails waiting for an SMTP retry",
        )
        connected = worker.text().count("Connected to redis")

        broker.kill()
        time.sleep(2)  # the worker notices the lost connection
        assert _alive(worker.proc.pid), worker.text()
        broker.start()
        wait_until(
            lambda: worker.text().count("Connected to redis") > connected,
            timeout=90,
            what="the worker reconnected to the restarted Redis",
        )

        smtp.failing = False
        [alert] = smtp.wait_for(ALERTED, 1, timeout=90)
        [confirmation] = smtp.wait_for(CONFIRMING, 1, timeout=90)
        wait_until(
            lambda: (
                not AlertDelivery.objects.exclude(status="sent").exists()
                and not ConfirmationDelivery.objects.exclude(status="sent").exists()
            ),
            timeout=30,
            what="both rows marked sent",
        )
        # Let more sweeps and duplicate sends run: still one email each.
        published = sweeper.published
        wait_until(lambda: sweeper.published >= published + 3, timeout=30, what="three sweeps")
        time.sleep(1)

    assert "problems detected" in alert["Subject"]
    assert "/subscriptions/confirm/" in confirmation.get_body(("plain",)).get_content()
    assert len(smtp.to(ALERTED)) == 1 and len(smtp.to(CONFIRMING)) == 1
    assert AlertDelivery.objects.get().attempts >= 2
    assert ConfirmationDelivery.objects.get().attempts >= 2

    # Supervision is alive and a worker runs under it. With no countdown task held, the
    # restart no longer kills it: a restart by the supervisor is the fallback, not the fix.
    assert worker.proc.poll() is None, worker.text()
    assert _alive(worker.worker_pids()[-1]), worker.text()
    assert "'NoneType' object has no attribute 'hostname'" not in worker.text()
    print(f"worker restarts during the test: {worker.restarts()}")
