"""The whole alert path on real processes: gunicorn, a Celery worker, and an SMTP server.

subscribe over HTTP -> confirmation email over SMTP -> confirm over HTTP -> an outage opens
(alerts_notify inside the transaction, as the detector does) -> exactly one alert email
-> the resolution email at once -> a re-fire: "problems again" in the same thread -> resolved
again -> one-click unsubscribe stops mail; and SMTP down, then up: the email arrives exactly
once.

Retries and holds are times in the delivery rows that beat's every-minute alerts-sweep
sends; here a Sweeper thread publishes that same task every half second through the broker.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
from collections.abc import Iterator
from contextlib import suppress
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest
from aiosmtpd.controller import Controller
from django.db import transaction
from django.utils import timezone

from alerts import services
from alerts.models import AlertDelivery, Subscription
from alerts.tasks import alert_delivery_send_task, alerts_sweep_task
from detection.models import Outage, OutageEvent
from tests.conftest import free_port, wait_until
from tests.detection.status_data import baseline_store, flat_baseline
from tests.e2e.conftest import BASE_DIR, BIN

pytestmark = [pytest.mark.e2e]

JSON = {"Content-Type": "application/json"}
LINK = re.compile(r"https?://[^/\s]+(/subscriptions/(?:confirm|unsubscribe)/[^\s/]+/)")
REFUSED = "bounce@example.com"


class Mailbox:
    """An aiosmtpd handler that keeps every message; refuses REFUSED like a real server."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.mail_options: list[list[str]] = []  # each message's MAIL FROM parameters
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == REFUSED:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = BytesParser(policy=policy.default).parsebytes(envelope.content)
        with self._lock:
            self.messages.append(message)
            self.mail_options.append(list(envelope.mail_options))
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if address in m["To"]]

    def wait_for(self, address: str, count: int, timeout: float = 30) -> list[EmailMessage]:
        return wait_until(
            lambda: len(self.to(address)) >= count and self.to(address),
            timeout=timeout,
            what=f"{count} email(s) to {address}",
        )


def _text(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def _html(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()


def _link_path(message: EmailMessage, kind: str) -> str:
    return next(p for p in LINK.findall(_text(message)) if f"/{kind}/" in p)


class Sweeper:
    """Beat's alerts-sweep, published every ``interval`` seconds to ``broker_url``.

    Each publish opens its own connection, so a broker that is down (or restarted) costs
    only the sweeps that fall in the gap, as with beat.
    """

    def __init__(self, broker_url: str, interval: float = 0.5) -> None:
        self.broker_url = broker_url
        self.interval = interval
        self.published = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sweeper", daemon=True)

    def _run(self) -> None:
        from outagewatch.celery import app

        while not self._stop.wait(self.interval):
            # The broker may be down on purpose; beat would simply miss that minute.
            with suppress(Exception), app.connection_for_write(self.broker_url) as conn:
                alerts_sweep_task.apply_async(connection=conn, retry=False)
                self.published += 1

    def __enter__(self) -> Sweeper:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


@pytest.fixture
def sweeper(redis_url) -> Iterator[Sweeper]:
    with Sweeper(redis_url) as running:
        yield running


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def stack_env(stack_env, smtp_port) -> dict[str, str]:
    """The e2e environment plus our SMTP server and short retry backoff."""
    return {
        **stack_env,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "EMAIL_USE_TLS": "0",
        "EMAIL_TIMEOUT": "5",
        "DEFAULT_FROM_EMAIL": "OutageWatch <alerts@ow.test>",
        "SITE_URL": "http://ow.test",
        "ALERT_RETRY_BACKOFF_SECONDS": "1",
        "ALERT_RETRY_BACKOFF_MAX_SECONDS": "2",
        "ALERT_MAX_ATTEMPTS": "30",
    }


def _start_smtp(port: int) -> tuple[Controller, Mailbox]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, mailbox


@pytest.fixture
def smtp(smtp_port) -> Iterator[Mailbox]:
    controller, mailbox = _start_smtp(smtp_port)
    yield mailbox
    controller.stop()


@pytest.fixture
def worker(celery_worker_process) -> subprocess.Popen:
    """The shared real Celery worker, here mailing through this module's SMTP port."""
    return celery_worker_process


def _open_outage(service, **kw) -> Outage:
    """What the detector does: open the outage and schedule alerts in one transaction."""
    now = timezone.now()
    fields = {
        "started_at": now - timedelta(minutes=4),
        "detected_at": now - timedelta(minutes=1),
        "countries": ["DE"],
        "top_problems": [{"problem": "login", "count": 31}],
        "peak_observed": 31,
        "peak_expected": 2.4,
        "score": 0.98,
        "rule": "poisson_tail",
        **kw,
    }
    with transaction.atomic():
        outage = Outage.objects.create(service=service, **fields)
        services.alerts_notify(outage=outage, change="opened")
    return outage


def _reopen_outage(outage: Outage) -> None:
    with transaction.atomic():
        Outage.objects.filter(pk=outage.pk).update(status=Outage.Status.ACTIVE, resolved_at=None)
        OutageEvent.objects.create(
            outage=outage, at=timezone.now(), kind=OutageEvent.Kind.REOPENED, message=""
        )
        # Where it came back, as detection records it before telling alerts.
        OutageEvent.objects.create(
            outage=outage, at=timezone.now(), kind=OutageEvent.Kind.COUNTRY, country="DE"
        )
        outage.refresh_from_db()
        services.alerts_notify(outage=outage, change="reopened")


def _resolve_outage(outage: Outage) -> None:
    with transaction.atomic():
        outage.status = Outage.Status.RESOLVED
        outage.resolved_at = timezone.now()
        outage.save()
        services.alerts_notify(outage=outage, change="resolved")


def _barrier(mailbox: Mailbox, service, address: str) -> None:
    """Queue one more email and wait for it: the single solo worker has run what came before."""
    with transaction.atomic():
        services.subscription_request(email=address, service=service, countries=[])
    mailbox.wait_for(address, 1)


def test_subscribe_confirm_alert_resolve_unsubscribe(
    web_server, worker, sweeper, smtp, make_service
):
    service = make_service("acme", "Acme Cloud")
    # A service with history: its messages quote its normal (a new one's do not).
    baseline_store(service, flat_baseline(2.0))
    address = "ann@example.com"

    created = web_server.request(
        "POST",
        "/api/v1/subscriptions/",
        json.dumps({"email": address, "service": "acme", "countries": ["DE"]}).encode(),
        JSON,
    )
    assert created.status == 201, created.body

    [confirmation] = smtp.wait_for(address, 1)
    assert confirmation["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    confirm_path = _link_path(confirmation, "confirm")
    page = web_server.request("GET", confirm_path)
    assert page.status == 200 and b"Confirm alerts for Acme Cloud" in page.body
    assert Subscription.objects.get().confirmed_at is None
    assert web_server.request("POST", confirm_path).status == 200
    subscription = Subscription.objects.get()
    assert subscription.confirmed_at is not None and subscription.countries == ["DE"]

    outage = _open_outage(service)
    opened = smtp.wait_for(address, 2)[1]
    assert opened["Subject"].startswith("Acme Cloud: problems detected in Germany since")
    assert opened["From"] == "OutageWatch <alerts@ow.test>"
    assert (
        opened["List-Unsubscribe"].strip().startswith("<http://ow.test/subscriptions/unsubscribe/")
    )
    assert opened["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    for body in (_text(opened), _html(opened)):
        assert "about 31 reports a minute, where about 2 are normal" in body
        assert "Login (31)" in body
        assert "http://ow.test/services/acme/" in body
        assert f"http://ow.test/outages/{outage.pk}/" in body
    # The worker marks the delivery sent after the SMTP server has accepted the message.
    delivery = wait_until(
        lambda: AlertDelivery.objects.filter(kind="opened", status="sent").first(),
        timeout=10,
        what="opened delivery marked sent",
    )
    assert delivery.attempts == 1

    # The same task delivered twice more, then the detector calling again: still one email.
    alert_delivery_send_task.delay(delivery_id=delivery.pk)
    alert_delivery_send_task.delay(delivery_id=delivery.pk)
    with transaction.atomic():
        services.alerts_notify(outage=outage, change="opened")
    _barrier(smtp, service, "barrier1@example.com")
    assert len(smtp.to(address)) == 2

    _resolve_outage(outage)
    resolved = smtp.wait_for(address, 3)[2]
    assert resolved["Subject"].startswith("Resolved: Acme Cloud is working again")
    assert "ended at" in _text(resolved)
    root = opened["Message-ID"]
    assert root.startswith(f"<outage-{outage.pk}.") and root.endswith("@ow.test>")
    assert resolved["In-Reply-To"] == root and resolved["References"] == root

    # Problems again within the reopen window: the same outage, the same thread.
    wait_until(
        lambda: AlertDelivery.objects.filter(kind="resolved", status="sent").exists(),
        timeout=10,
        what="resolved delivery marked sent",
    )
    _reopen_outage(outage)
    again = smtp.wait_for(address, 4)[3]
    assert again["Subject"].startswith("Acme Cloud: problems again in Germany")
    assert again["In-Reply-To"] == root and again["Message-ID"] != root
    _resolve_outage(outage)
    resolved = smtp.wait_for(address, 5)[4]
    assert resolved["Subject"].startswith("Resolved:") and resolved["In-Reply-To"] == root

    # One-click unsubscribe, as a mail provider does it: POST, no cookies, no CSRF token.
    one_click = web_server.request(
        "POST",
        _link_path(resolved, "unsubscribe"),
        b"List-Unsubscribe=One-Click",
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert one_click.status == 200
    assert Subscription.objects.get(email=address).unsubscribed_at is not None

    _open_outage(service, started_at=timezone.now() - timedelta(minutes=1))
    _barrier(smtp, service, "barrier2@example.com")
    assert len(smtp.to(address)) == 5
    assert AlertDelivery.objects.filter(subscription__email=address).count() == 4


def test_smtp_down_then_up_delivers_exactly_once(
    stack_env, worker, sweeper, smtp_port, make_service
):
    service = make_service("acme", "Acme Cloud")
    address = "ann@example.com"
    Subscription.objects.create(email=address, service=service, confirmed_at=timezone.now())

    _open_outage(service)  # nothing listens on the SMTP port yet

    delivery = wait_until(
        lambda: AlertDelivery.objects.filter(attempts__gte=1, last_error__gt="").first(),
        timeout=30,
        what="a failed attempt",
    )
    assert delivery.status in ("pending", "sending")
    assert "Connection" in delivery.last_error or "refused" in delivery.last_error.lower()

    controller, mailbox = _start_smtp(smtp_port)
    try:
        [message] = mailbox.wait_for(address, 1)
        assert "problems detected" in message["Subject"]
        delivery = wait_until(
            lambda: AlertDelivery.objects.filter(status="sent").first(), timeout=10, what="sent"
        )
        assert delivery.attempts >= 2

        alert_delivery_send_task.delay(delivery_id=delivery.pk)  # delivered again: no second email
        _barrier(mailbox, service, "barrier@example.com")
        assert len(mailbox.to(address)) == 1
    finally:
        controller.stop()


def test_permanent_refusal_disables_the_address(worker, smtp, make_service):
    service = make_service("acme", "Acme Cloud")
    Subscription.objects.create(email=REFUSED, service=service, confirmed_at=timezone.now())

    _open_outage(service, countries=[])

    subscription = wait_until(
        lambda: Subscription.objects.filter(disabled_at__isnull=False).first(),
        timeout=30,
        what="the subscription to be disabled",
    )
    assert "550" in subscription.disabled_reason
    delivery = AlertDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert smtp.to(REFUSED) == []


def test_the_worker_finds_the_alert_tasks_by_autodiscovery(stack_env):
    script = (
        "import django; django.setup(); from outagewatch.celery import app; "
        "app.loader.import_default_modules(); print(sorted(app.tasks))"
    )
    out = subprocess.run(
        [BIN / "python", "-c", script],
        cwd=BASE_DIR,
        env=stack_env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for name in (
        "alert_delivery_send",
        "alerts_dispatch",
        "alerts_sweep",
        "confirmation_delivery_send",
        "subscriptions_purge",
    ):
        assert f"alerts.tasks.{name}" in out
