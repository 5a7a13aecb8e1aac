"""GET /api/v1/health/: a stopped worker or detector, or a database or Redis away, shows to a
monitor (scale tester, fortieth session: with the detector stopped the pages said "No
problems" while 19,430 reports waited)."""

from __future__ import annotations

import datetime as dt

import pytest

from alerts.models import AlertDelivery, Subscription
from detection.models import JobCursor, Outage

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("midday")]

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)  # the pinned clock's minute


def _cursors(
    *,
    bucketed: dt.datetime,
    judged: dt.datetime,
    swept: dt.datetime | None = NOW,
    beat: dt.datetime | None = NOW,
) -> None:
    if beat is not None:
        _beat_heard(at=beat)
    JobCursor.objects.create(name=JobCursor.BUCKETS, position=bucketed)
    JobCursor.objects.create(name=JobCursor.TICK, position=judged)
    if swept is not None:
        JobCursor.objects.create(name=JobCursor.ALERTS_SWEEP, position=swept)


def _beat_heard(*, at: dt.datetime, name: str = "web01 pid 4321 #a1b2") -> None:
    from outagewatch.beat_lease import Lease

    Lease(name).beat(at=at)


def test_a_stack_that_keeps_up_is_healthy(client):
    # At 12:00:30 the minutes before 12:00 are counted and 11:59 is judged.
    _cursors(bucketed=NOW, judged=NOW - dt.timedelta(minutes=1))
    response = client.get("/api/v1/health/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["status"] == "ok"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "bucketing": True,
        "detection": True,
        "worker": True,
        "alerts": True,
        "mail": True,
        "redis": True,
        "beat": True,
    }
    assert body["checks"]["detection"]["behind_minutes"] == 0
    assert body["checks"]["beat"] == {
        "ok": True,
        "detail": "Beat sends the periodic jobs: web01 pid 4321 #a1b2, heard 30 s ago.",
        "behind_minutes": 0,
        "as_of": "2026-11-25T12:00:00Z",
    }


def test_a_stopped_beat_is_named_by_its_own_check(client, settings):
    """A stopped beat showed only by elimination: bucketing, detection and the worker all
    behind by the same minutes (ops runbook). Its heartbeat names it, within 90 s."""
    _cursors(bucketed=NOW, judged=NOW - dt.timedelta(minutes=1), beat=None)
    _beat_heard(at=NOW - dt.timedelta(seconds=60))
    assert client.get("/api/v1/health/").status_code == 200  # a takeover can take 70 s
    _beat_heard(at=NOW - dt.timedelta(minutes=5))
    response = client.get("/api/v1/health/")
    assert response.status_code == 503
    body = response.json()
    assert [name for name, check in body["checks"].items() if not check["ok"]] == ["beat"]
    assert body["checks"]["beat"] == {
        "ok": False,
        "detail": "Beat sends the periodic jobs: last heard 5 minutes ago, from web01 pid 4321 "
        "#a1b2 (more than 90 s: it is stopped or stuck).",
        "behind_minutes": 5,
        "as_of": "2026-11-25T11:55:00Z",
    }


def test_a_beat_never_started_is_not_healthy(client):
    _cursors(bucketed=NOW, judged=NOW - dt.timedelta(minutes=1), beat=None)
    response = client.get("/api/v1/health/")
    assert response.status_code == 503
    assert response.json()["checks"]["beat"] == {
        "ok": False,
        "detail": "Beat sends the periodic jobs: not started yet (no heartbeat since Redis "
        "started, or ever).",
    }


def test_a_second_beat_standing_by_is_mentioned(client):
    from outagewatch.beat_lease import Lease

    _cursors(bucketed=NOW, judged=NOW - dt.timedelta(minutes=1))
    Lease("web02 pid 99 #ffff").stand_by()
    beat = client.get("/api/v1/health/").json()["checks"]["beat"]
    assert beat["ok"] and beat["detail"] == (
        "Beat sends the periodic jobs: web01 pid 4321 #a1b2, heard 30 s ago; another beat "
        "stands by (web02 pid 99 #ffff)."
    )


def test_a_stopped_detector_is_degraded_and_says_how_far_behind(client, settings):
    settings.HEALTH_MAX_LAG_MINUTES = 3
    _cursors(bucketed=NOW, judged=NOW - dt.timedelta(minutes=5))
    response = client.get("/api/v1/health/")
    assert response.status_code == 503 and response["Retry-After"] == "60"
    body = response.json()
    assert body["status"] == "degraded"
    detection = body["checks"]["detection"]
    assert not detection["ok"] and detection["behind_minutes"] == 4
    assert detection["detail"] == (
        "Every minute is judged: 4 minutes behind the clock (more than 3)."
    )
    assert detection["as_of"] == "2026-11-25T11:55:00Z"
    assert body["checks"]["bucketing"]["ok"]


def test_a_lag_within_the_limit_is_healthy_but_not_called_up_to_date(client, settings):
    # At exactly the limit the check read "up to date" (ops tester, forty-fourth session).
    settings.HEALTH_MAX_LAG_MINUTES = 3
    _cursors(bucketed=NOW, judged=NOW - dt.timedelta(minutes=4))
    body = client.get("/api/v1/health/").json()
    detection = body["checks"]["detection"]
    assert body["status"] == "ok" and detection["ok"] and detection["behind_minutes"] == 3
    assert detection["detail"] == "Every minute is judged: 3 minutes behind the clock (at most 3)."
    assert body["checks"]["bucketing"]["detail"] == "Reports are counted into minutes: up to date."


def test_a_stack_that_never_ran_its_minute_jobs_is_not_healthy(client):
    body = client.get("/api/v1/health/").json()
    assert body["status"] == "degraded"
    assert body["checks"]["bucketing"]["detail"].endswith("not started yet (no run has finished).")


def test_redis_away_is_degraded(client, redis_down):
    _cursors(bucketed=NOW, judged=NOW - dt.timedelta(minutes=1), beat=None)
    response = client.get("/api/v1/health/")
    assert response.status_code == 503
    redis = response.json()["checks"]["redis"]
    assert not redis["ok"] and redis["detail"].startswith("Redis does not answer")
    # Beat's heartbeat is kept in Redis: unknown, not a second failure to chase.
    assert response.json()["checks"]["beat"] == {
        "ok": True,
        "detail": "Beat sends the periodic jobs: not known while Redis does not answer (the "
        "redis check).",
    }


def test_the_pages_say_when_detection_is_behind(client, service):
    """The status pages are rebuilt by the tick: a stopped detector froze them at their last
    verdict with no word of it."""
    _cursors(bucketed=NOW, judged=NOW - dt.timedelta(minutes=12))
    for path in ("/", f"/services/{service.slug}/"):
        page = client.get(path).content.decode()
        assert "data-pipeline-notice" in page, path
        assert "Detection is 11 minutes behind: the statuses here are as of" in page
        assert 'datetime="2026-11-25T11:48:00Z"' in page


def test_the_pages_say_nothing_while_detection_keeps_up(client, service):
    _cursors(bucketed=NOW, judged=NOW - dt.timedelta(minutes=1))
    for path in ("/", f"/services/{service.slug}/"):
        assert "data-pipeline-notice" not in client.get(path).content.decode(), path


def test_a_load_balancers_check_passes_while_the_jobs_lag_and_redis_is_away(client, redis_down):
    """/api/v1/health/ fails every web server when the detector stops: as a load balancer's
    check it would take the site and the report API down with it (newcomer tester F3)."""
    _cursors(bucketed=NOW, judged=NOW - dt.timedelta(minutes=30), beat=None)
    response = client.get("/api/v1/health/live/")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert response.json() == {
        "status": "ok",
        "detail": "This web server and its database answer.",
    }


def test_a_load_balancers_check_is_never_throttled(api_client, throttle_rate):
    # It shared its address's read allowance: a dashboard on the probe's host, or a NAT, made
    # it answer 429 and the load balancer took the server out (API tester F8).
    throttle_rate("reads", "3/min")
    assert [api_client.get("/api/v1/health/live/").status_code for _ in range(6)] == [200] * 6
    codes = [api_client.get("/api/v1/status/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]  # reads are still limited


def test_a_load_balancers_check_fails_when_the_database_does_not_answer(client, monkeypatch):
    from django.db import OperationalError

    from outagewatch import health

    class Gone:
        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr(health, "connection", Gone())
    response = client.get("/api/v1/health/live/")
    assert response.status_code == 503 and response["Retry-After"] == "60"
    assert response.json() == {
        "status": "down",
        "detail": "The database does not answer: OperationalError.",
    }


def test_a_degraded_answer_is_no_error_line_in_the_log(client, caplog):
    """django.request logged each 503 at ERROR: a probe every few seconds, one line each."""
    with caplog.at_level("WARNING", logger="django.request"):
        assert client.get("/api/v1/health/").status_code == 503
    assert not [r for r in caplog.records if r.name == "django.request"]


def test_messages_left_due_by_a_stopped_worker_are_degraded(client, service):
    """Chaos tester (forty-third session): with the worker stopped every email waited while
    the health check said "ok"; the detector alone was measured."""
    _cursors(bucketed=NOW, judged=NOW - dt.timedelta(minutes=1))
    subscription = Subscription.objects.create(
        email="ann@example.com", service=service, countries=[], confirmed_at=NOW
    )
    outage = Outage.objects.create(service=service, started_at=NOW, detected_at=NOW)
    delivery = AlertDelivery.objects.create(
        outage=outage, subscription=subscription, kind="opened",
        next_attempt_at=NOW - dt.timedelta(minutes=2),
    )  # fmt: skip
    assert client.get("/api/v1/health/").status_code == 200  # due lately: a worker will take it
    AlertDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=NOW - dt.timedelta(minutes=5)
    )
    response = client.get("/api/v1/health/")
    assert response.status_code == 503
    alerts = response.json()["checks"]["alerts"]
    assert not alerts["ok"] and alerts["overdue"] == 1
    assert alerts["as_of"] == "2026-11-25T11:55:00Z"
    assert alerts["detail"] == (
        "Messages are taken by a worker: 1 due more than 3 minutes ago and not taken."
    )


def test_a_stopped_worker_is_degraded_before_any_message_is_due(client):
    """Ops tester (forty-fourth session): with the worker stopped and no email due, the check
    said "ok" while its jobs piled up in the broker; it showed only once a message was late."""
    settings_limit = 3
    _cursors(bucketed=NOW, judged=NOW - dt.timedelta(minutes=1), swept=NOW)
    assert client.get("/api/v1/health/").json()["checks"]["worker"]["ok"]
    JobCursor.objects.filter(name=JobCursor.ALERTS_SWEEP).update(
        position=NOW - dt.timedelta(minutes=settings_limit + 2)
    )
    response = client.get("/api/v1/health/")
    assert response.status_code == 503
    worker = response.json()["checks"]["worker"]
    assert not worker["ok"] and worker["behind_minutes"] == 5
    assert worker["detail"] == (
        "The worker sweeps the outboxes every minute: 5 minutes behind the clock (more than 3)."
    )
    assert response.json()["checks"]["alerts"]["ok"]  # no message is due yet


def test_the_sweep_records_when_it_ran():
    from alerts.selectors import outbox_swept_at
    from alerts.services import alerts_sweep

    assert outbox_swept_at() is None
    alerts_sweep(now=NOW)
    assert outbox_swept_at() == NOW
    alerts_sweep(now=NOW + dt.timedelta(minutes=1))
    assert outbox_swept_at() == NOW + dt.timedelta(minutes=1)


def test_emails_failing_on_the_relay_for_a_quarter_hour_are_degraded(client, service):
    """Mail tester F3 (forty-fifth session): with the relay answering 451 to every message the
    check said "Messages are sent: none overdue" (failing rows are retried, never overdue)."""
    _cursors(bucketed=NOW, judged=NOW - dt.timedelta(minutes=1))
    outage = Outage.objects.create(service=service, started_at=NOW, detected_at=NOW)

    def failing(
        email: str, channel: str = "email", attempts: int = 6, error: str = "451 try later"
    ) -> AlertDelivery:
        subscription = Subscription.objects.create(
            email=email, service=service, countries=[], confirmed_at=NOW, channel=channel,
            url="" if channel == "email" else "https://hooks.example/x",
        )  # fmt: skip
        row = AlertDelivery.objects.create(
            outage=outage, subscription=subscription, kind="opened", attempts=attempts,
            next_attempt_at=NOW + dt.timedelta(minutes=1), last_error=error,
        )  # fmt: skip
        AlertDelivery.objects.filter(pk=row.pk).update(created_at=NOW - dt.timedelta(hours=2))
        return row

    failing("hook@example.com", channel="webhook")  # its owner's endpoint: not the site's
    # Five failures span 7.5 minutes of backoff (a greylisting relay's first refusal), however
    # long the row waited before its first (regression tester F2, forty-fifth session).
    failing("new@example.com", attempts=5)
    failing("gone@example.com", attempts=9, error="the mail relay refused the address: 550")
    assert client.get("/api/v1/health/").status_code == 200
    failing("ann@example.com")
    response = client.get("/api/v1/health/")
    assert response.status_code == 503
    mail = response.json()["checks"]["mail"]
    assert not mail["ok"] and mail["failing"] == 1
    assert mail["as_of"] == "2026-11-25T10:00:00Z"
    assert mail["detail"].startswith("Emails leave: 1 failed every attempt for more than 15")
    assert response.json()["checks"]["alerts"]["ok"]  # not overdue: retried on time
    # One email that left meanwhile: the relay works, this address is the trouble.
    sent = failing("bob@example.com")
    AlertDelivery.objects.filter(pk=sent.pk).update(
        status="sent", sent_at=NOW - dt.timedelta(minutes=5)
    )
    assert client.get("/api/v1/health/").json()["checks"]["mail"]["ok"]


def test_the_schema_declares_every_check_and_its_figures(client, service):
    # One serializer instance shared by every check's name: the schema listed only "redis",
    # titled "Database", and no "failing" (docs tester, forty-seventh session).
    _cursors(bucketed=NOW, judged=NOW - dt.timedelta(minutes=1))
    schemas = client.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
    declared = schemas["HealthChecks"]["properties"]
    answered = client.get("/api/v1/health/").json()["checks"]
    assert set(declared) == set(answered)
    assert set(schemas["HealthChecks"]["required"]) == {"database", "redis", "beat"}
    figures = set(schemas["HealthCheck"]["properties"])
    for name, check in answered.items():
        assert set(check) <= figures, name
