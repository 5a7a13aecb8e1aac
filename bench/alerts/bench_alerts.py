"""Alerts on the day a giant service breaks: N confirmed email subscriptions to one service,
one outage; the fan-out inside the detector's transaction, the send path to a real SMTP
server, and the sweep, on the database DATABASE_URL names.

    DATABASE_URL=postgres://outagewatch:outagewatch@127.0.0.1:5432/ow_bench_alerts \\
        REDIS_URL=redis://127.0.0.1:6379/3 .venv/bin/python bench/alerts/bench_alerts.py \\
        --sizes 1000 10000 50000 --broker

It imports the code of the directory it runs from, so one copy of this script times any
checkout (a git worktree of the commit before, say). It migrates the database, adds one
service per size with its subscriptions (bulk-created, not through the sign-up flow), and
deletes them at the end. A SQLite DATABASE_URL runs the same on a temporary file (the tiny
run tests/test_bench_alerts.py makes). bench/alerts/README.md has the method and figures.
"""

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import logging
import os
import shutil
import smtplib
import socket
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Any

sys.path.insert(0, os.getcwd())  # the checkout measured
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outagewatch.settings")
os.environ.setdefault("SECRET_KEY", "bench-alerts-not-secret")
if os.environ.get("DATABASE_URL", "sqlite").startswith("sqlite"):
    _TMP = tempfile.mkdtemp(prefix="bench_alerts_")
    atexit.register(shutil.rmtree, _TMP, ignore_errors=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{_TMP}/bench.sqlite3"

import django

django.setup()

from aiosmtpd.controller import Controller  # noqa: E402
from celery.app.task import Task  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from alerts import services  # noqa: E402
from alerts.models import AlertDelivery, Subscription  # noqa: E402
from alerts.tasks import alerts_dispatch_task  # noqa: E402
from detection.models import Outage  # noqa: E402
from reports.models import Category, Service  # noqa: E402
from tests.alerts.relay import relay_settings  # noqa: E402

logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd: a line per command

Status = AlertDelivery.Status


class Sink:
    """An SMTP server that keeps a count: messages, and the connections they came on."""

    def __init__(self) -> None:
        self.messages = self.connections = 0
        self.lock = threading.Lock()

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        # Once per connection: smtplib greets once, then sends every message on it.
        with self.lock:
            self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages += 1
        return "250 OK"


@contextmanager
def smtp_server() -> Any:
    sink = Sink()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    relay_settings(settings, port)
    try:
        yield sink
    finally:
        controller.stop()


@contextmanager
def tasks_recorded() -> Any:
    """Every task queued (delay/apply_async) is noted, not sent to a broker: the bench then
    runs them as a worker would, one after the other, in this process."""
    queued: list[tuple[Task, dict[str, Any]]] = []
    original = Task.apply_async

    def record(self: Task, args: Any = None, kwargs: Any = None, **options: Any) -> None:
        queued.append((self, dict(kwargs or {})))

    Task.apply_async = record  # type: ignore[method-assign]
    try:
        yield queued
    finally:
        Task.apply_async = original  # type: ignore[method-assign]


class Queries:
    """Counts the queries run inside it (Django's CaptureQueriesContext keeps only 9,000)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        return execute(sql, params, many, context)

    def __len__(self) -> int:
        return self.count


@contextmanager
def counting() -> Any:
    queries = Queries()
    with connection.execute_wrapper(queries):
        yield queries


def timed(func: Callable[[], Any]) -> tuple[Any, float, int, int]:
    """(result, seconds, queries, tracemalloc peak bytes) of one call."""
    tracemalloc.start()
    with counting() as queries:
        start = time.perf_counter()
        result = func()
        seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, seconds, len(queries), peak


def fill(size: int, *, now: dt.datetime) -> Outage:
    category, _ = Category.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    service = Service.objects.create(
        slug=f"bench-alerts-{os.getpid()}-{size}",
        name=f"Giant {size}",
        category=category,
        website="https://giant.example",
    )
    Subscription.objects.bulk_create(
        (
            Subscription(
                email=f"s{k}@example.com",
                service=service,
                countries=[] if k % 4 else ["DE"],
                confirmed_at=now - dt.timedelta(days=1),
            )
            for k in range(size)
        ),
        batch_size=5000,
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE alerts_subscription")
    started = now - dt.timedelta(minutes=5)
    return Outage.objects.create(
        service=service,
        started_at=started,
        detected_at=started + dt.timedelta(minutes=2),
        countries=[],
        top_problems=[{"problem": "login", "count": 40}],
        peak_observed=4200,
        peak_expected=32,
        score=0.99,
        rule="poisson_tail",
        explanation="4200 reports a minute where about 32 are usual.",
    )


def notify(outage: Outage, change: str, now: dt.datetime) -> tuple[Any, float, int, int]:
    """alerts_notify as the tick calls it, inside a transaction: once rolled back for the
    time and queries, once more under tracemalloc (which slows it) for the memory, committed
    (its hooks recorded, not run)."""

    def call() -> int:
        with transaction.atomic():
            return services.alerts_notify(outage=outage, change=change, now=now)

    def rolled_back() -> int:
        told = 0
        try:
            with transaction.atomic():
                told = services.alerts_notify(outage=outage, change=change, now=now)
                raise _Rollback
        except _Rollback:
            return told

    with counting() as queries:
        start = time.perf_counter()
        told = rolled_back()
        seconds = time.perf_counter() - start
    tracemalloc.start()
    call()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return told, seconds, len(queries), peak


def reference_insert(outage: Outage, size: int) -> float:
    """The floor for the fan-out: N bare delivery rows bulk-inserted, rolled back."""
    ids = list(Subscription.objects.filter(service=outage.service).values_list("pk", flat=True))
    start = time.perf_counter()
    try:
        with transaction.atomic():
            AlertDelivery.objects.bulk_create(
                AlertDelivery(outage=outage, subscription_id=pk, kind="resolved") for pk in ids
            )
            raise _Rollback
    except _Rollback:
        pass
    return time.perf_counter() - start


class _Rollback(Exception):
    pass


def reference_smtp(count: int) -> float:
    """The floor for sending: `count` small messages over one smtplib connection."""
    start = time.perf_counter()
    with smtplib.SMTP(settings.EMAIL_HOST, settings.EMAIL_PORT) as smtp:
        for k in range(count):
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = "a@x.example", f"s{k}@x", "hi"
            message.set_content("Problems detected.\n" * 40)
            smtp.send_message(message)
    return time.perf_counter() - start


def run_queued(queued: list[tuple[Task, dict[str, Any]]], enough: Callable[[], bool]) -> int:
    """Run the queued tasks as one worker would, and those they queue, until `enough()`."""
    ran = 0
    while queued and not enough():
        task, kwargs = queued.pop(0)
        task.run(**kwargs)
        ran += 1
    return ran


def _sent(outage: Outage) -> int:
    return AlertDelivery.objects.filter(outage=outage, status=Status.SENT).count()


def broker_queue(outage: Outage, kind: str) -> tuple[float, int]:
    """alerts_queue against the real broker (REDIS_URL), then the queue purged."""
    from outagewatch.celery import app

    start = time.perf_counter()
    ids = services.alerts_queue(outage_id=outage.pk, kind=kind)
    seconds = time.perf_counter() - start
    app.control.purge()
    return seconds, len(ids)


def row(*cells: object) -> None:
    print("| " + " | ".join(str(c) for c in cells) + " |", flush=True)


def send_opened(outage: Outage, size: int, limit: int | None) -> None:
    """The dispatch the commit queued, and the send tasks it queues, run as a worker runs
    them against a real SMTP server, until every "detected" is sent (or `limit`)."""
    with smtp_server() as sink, tasks_recorded() as queued:
        floor = reference_smtp(size if limit is None else min(size, limit))
        smtp_floor = sink.messages
        sink.messages = sink.connections = 0
        # What the commit hook queues (the dispatch), then what it queues, as a worker runs.
        queued.append((alerts_dispatch_task, {"outage_id": outage.pk, "kind": "opened"}))
        before = time.perf_counter()
        with counting() as captured:
            run_queued(queued, lambda: limit is not None and sink.messages >= limit)
        seconds = time.perf_counter() - before
        sent = _sent(outage)
        row(
            f"send opened: {sent:,} sent, {sink.messages:,} received",
            f"{seconds:.2f}",
            f"{len(captured) / max(sent, 1):.1f} a message",
            f"{sink.connections:,} SMTP connections",
            f"smtplib, 1 connection, {smtp_floor:,} msgs: {floor:.2f}",
            f"{seconds / floor:.1f}x",
        )
        if sent < size:
            print(f"\n(sent {sent:,} of {size:,}: --send-limit)\n")


def bench_size(size: int, args: argparse.Namespace) -> None:
    now = timezone.now()
    outage = fill(size, now=now)
    vendor = connection.vendor
    print(f"\n## {size:,} email subscriptions ({vendor})\n")
    row("measure", "seconds", "queries", "tracemalloc peak", "reference", "ratio")
    row("---", "---", "---", "---", "---", "---")
    floor = reference_insert(outage, size)
    with tasks_recorded() as queued:
        told, seconds, queries, peak = notify(outage, "opened", now)
        row(
            f"alerts_notify opened ({told:,} told)",
            f"{seconds:.3f}",
            queries,
            f"{peak / 2**20:.1f} MB",
            f"bulk insert {floor:.3f}",
            f"{seconds / floor:.1f}x",
        )
    if args.broker:
        seconds, count = broker_queue(outage, "opened")
        row(f"alerts_queue to Redis ({count:,} due)", f"{seconds:.3f}", "", "", "", "")

    limit = args.send_limit
    if limit != 0:
        send_opened(outage, size, limit)

    # Everyone told (as after the send): the end is told to all of them.
    AlertDelivery.objects.filter(outage=outage).update(status=Status.SENT, sent_at=now)
    Outage.objects.filter(pk=outage.pk).update(
        status=Outage.Status.RESOLVED, resolved_at=now + dt.timedelta(minutes=20)
    )
    outage.refresh_from_db()
    with tasks_recorded():
        told, seconds, queries, peak = notify(outage, "resolved", now + dt.timedelta(minutes=20))
    row(
        f"alerts_notify resolved ({told:,} told)",
        f"{seconds:.3f}",
        queries,
        f"{peak / 2**20:.1f} MB",
        "",
        "",
    )

    # Every "resolved" lost with Redis: the sweep is all that queues them.
    later = now + dt.timedelta(minutes=21)
    with tasks_recorded() as queued:
        swept, seconds, queries, peak = timed(lambda: services.alerts_sweep(now=later))
    row(
        f"alerts_sweep, {size:,} due: {len(swept.deliveries):,} ids, {len(queued):,} tasks",
        f"{seconds:.3f}",
        queries,
        f"{peak / 2**20:.1f} MB",
        "",
        "",
    )
    Service.objects.filter(pk=outage.service_id).delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000])
    parser.add_argument(
        "--send-limit",
        type=int,
        default=None,
        help="stop sending after this many (default all; 0: no sending)",
    )
    parser.add_argument(
        "--broker", action="store_true", help="also time alerts_queue against REDIS_URL"
    )
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    settings.ALERT_COOLDOWN_MINUTES = 60
    for size in args.sizes:
        bench_size(size, args)


if __name__ == "__main__":
    main()
