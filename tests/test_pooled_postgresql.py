"""The web server's pool tries to reconnect at most RECONNECT_MAX_DELAY_SECONDS apart."""

from __future__ import annotations

import psycopg

from outagewatch.pooled_postgresql import base


def test_reconnection_attempts_back_off_no_further_than_the_cap(monkeypatch):
    """Doubling after each failure, the pool's next attempt came about 40 s after a 75-s
    database outage ended, every report meanwhile a 503 (durability tester F1)."""
    pool = base.Pool("dbname=none", open=False, reconnect_timeout=300)
    scheduled = []

    def refuse():
        raise psycopg.OperationalError("connection refused")

    monkeypatch.setattr(pool, "_connect", refuse)
    monkeypatch.setattr(pool, "schedule_task", lambda task, delay: scheduled.append((task, delay)))
    attempt = None
    for _ in range(10):  # ten failures in a row: 1, 2, 4, ... 512 s without the cap
        pool._add_connection(attempt)
        attempt = scheduled[-1][0].attempt
    delays = [delay for _, delay in scheduled]
    assert 0.8 < delays[0] < 1.2
    assert max(delays) == base.RECONNECT_MAX_DELAY_SECONDS
