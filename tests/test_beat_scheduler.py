"""outagewatch.beat.Scheduler in this process, on the test Redis: one of two beats sends, the
other stands by and takes over without sending again what the first sent; a send the broker
refuses is one line. tests/test_beat_process.py runs real beats."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
import redis
from celery.beat import SchedulingError
from kombu.exceptions import OperationalError

from outagewatch.beat import Scheduler
from outagewatch.beat_lease import heartbeat_read
from outagewatch.celery import app

AT = dt.datetime(2026, 11, 25, 12, 0, 30, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _pinned_clock(monkeypatch) -> None:
    # The schedule's entries, crontab's is_due and the heartbeat all read the app's clock.
    monkeypatch.setattr(app, "now", lambda: AT)


def _beat(tmp_path: Path, name: str, sent: list[tuple[str, str]], *, last_run: dt.datetime):
    scheduler = Scheduler(app=app, schedule_filename=str(tmp_path / name))
    scheduler.lease.name = name
    scheduler.__dict__["producer"] = None  # no broker: apply_async is replaced below

    def apply_async(entry, producer=None, advance=True, **kwargs):
        sent.append((name, entry.name))

    scheduler.apply_async = apply_async  # type: ignore[method-assign]
    for entry in scheduler.schedule.values():
        entry.last_run_at = last_run
    return scheduler


def _run(scheduler: Scheduler, ticks: int = 30) -> None:
    """Ticks until it would sleep (every due job sent), as beat's loop does; a fresh check of
    the lease first, whatever its timer says."""
    scheduler._next_check = 0.0
    for _ in range(ticks):
        if scheduler.tick() > 0:
            return


def test_of_two_beats_one_sends_and_the_other_stands_by_saying_so_once(tmp_path, caplog):
    sent: list[tuple[str, str]] = []
    day_ago = AT - dt.timedelta(days=1)
    a = _beat(tmp_path, "beat-a", sent, last_run=day_ago)
    b = _beat(tmp_path, "beat-b", sent, last_run=day_ago)
    with caplog.at_level(logging.INFO, logger="outagewatch.beat"):
        for _ in range(3):
            _run(a)
            _run(b)
    assert a.leading and not b.leading
    assert {beat for beat, _ in sent} == {"beat-a"}
    assert [job for _, job in sent].count("detect-minute") == 1
    standby = [r.getMessage() for r in caplog.records if "standby" in r.getMessage()]
    assert standby == [
        "Beat on standby: beat-a sends the periodic jobs. This one takes over within a minute "
        "of that one stopping."
    ]
    heartbeat, standing_by = heartbeat_read()
    assert heartbeat is not None and (heartbeat.by, heartbeat.at) == ("beat-a", AT)
    assert standing_by == "beat-b"
    a.close()
    b.close()


def test_a_standby_takes_over_without_sending_again_what_the_leader_sent(tmp_path, caplog):
    """A standby's own schedule remembers the jobs as last run when it started: taking over,
    it sent every one due since, the nightly refit too, at whatever hour it took over."""
    sent: list[tuple[str, str]] = []
    a = _beat(tmp_path, "beat-a", sent, last_run=AT - dt.timedelta(minutes=1))
    b = _beat(tmp_path, "beat-b", sent, last_run=AT - dt.timedelta(days=2))
    _run(a)
    _run(b)
    a.close()  # a clean stop gives the lease up
    sent.clear()
    with caplog.at_level(logging.INFO, logger="outagewatch.beat"):
        _run(b)
    assert b.leading
    assert sent == []  # nothing due since beat-a's last heartbeat at AT
    assert "Beat leads: sends the periodic jobs from now (beat-a last sent them at " in (
        caplog.text
    )
    assert b.schedule["baselines-refit-all"].last_run_at == AT
    b.close()


def test_a_leader_keeps_leading_while_redis_is_away_and_says_so_once(tmp_path, caplog, monkeypatch):
    sent: list[tuple[str, str]] = []
    a = _beat(tmp_path, "beat-a", sent, last_run=AT)
    _run(a)
    assert a.leading

    def away(self):
        raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    with caplog.at_level(logging.INFO, logger="outagewatch.beat"):
        monkeypatch.setattr(type(a.lease), "take", away)
        for _ in range(3):
            _run(a)
        monkeypatch.undo()
        monkeypatch.setattr(app, "now", lambda: AT)
        _run(a)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "Beat leads: sends the periodic jobs (beat-a).",
        "Beat cannot reach Redis to renew its lease (ConnectionError: Error 111 connecting to "
        "127.0.0.1:6379. Connection refused.); still sending meanwhile.",
        "Beat reaches Redis again.",
    ]
    assert a.leading
    a.close()


def _failing(cause: Exception):
    def apply_async(*args, **kwargs):
        try:
            raise cause
        except type(cause):
            # As Celery's: the error of the send is the context of its SchedulingError.
            raise SchedulingError(f"Couldn't apply scheduled task detect-minute: {cause}")  # noqa: B904

    return apply_async


def test_a_send_the_broker_refuses_is_one_warning_line(tmp_path, caplog):
    """With Redis stopped Celery logged the stack and two tracebacks per job, about 200 lines
    each, 620 a minute."""
    beat = _beat(tmp_path, "beat-a", [], last_run=AT)
    beat.apply_async = _failing(  # type: ignore[method-assign]
        OperationalError("Error 111 connecting to 127.0.0.1:6395. Connection refused.")
    )
    with caplog.at_level(logging.INFO):
        beat.apply_entry(beat.schedule["detect-minute"])
    assert [(r.levelname, r.getMessage(), r.exc_info) for r in caplog.records] == [
        ("INFO", "Scheduler: Sending due task detect-minute (detection.tasks.detect_minute)", None),
        (
            "WARNING",
            "Could not send detect-minute (detection.tasks.detect_minute): OperationalError: "
            "Error 111 connecting to 127.0.0.1:6395. Connection refused.",
            None,
        ),
    ]
    beat.close()


def test_a_send_that_fails_on_our_own_bug_keeps_its_traceback(tmp_path, caplog):
    beat = _beat(tmp_path, "beat-a", [], last_run=AT)
    beat.apply_async = _failing(  # type: ignore[method-assign]
        TypeError("detect_minute() got an unexpected keyword argument 'only_cold'")
    )
    with caplog.at_level(logging.INFO):
        beat.apply_entry(beat.schedule["detect-minute"])
    error = caplog.records[-1]
    assert error.levelname == "ERROR" and error.exc_info is not None
    assert "TypeError: detect_minute() got an unexpected keyword argument" in caplog.text
    beat.close()
