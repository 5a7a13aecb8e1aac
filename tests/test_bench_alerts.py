"""bench/alerts/bench_alerts.py runs end to end at a tiny size on SQLite (a temporary file
of its own), against its own aiosmtpd relay, no broker: so that it cannot rot."""

from tests.test_bench_scale import run_on_sqlite


def test_bench_alerts_runs_tiny_on_sqlite():
    out = run_on_sqlite("bench/alerts/bench_alerts.py", "--sizes", "30")
    assert "## 30 email subscriptions (sqlite)" in out
    assert "| alerts_notify opened (30 told) |" in out
    # Every alert reaches the relay, one batch on one connection.
    assert "| send opened: 30 sent, 30 received |" in out
    assert "| 1 SMTP connections |" in out
    assert "| alerts_notify resolved (30 told) |" in out
    assert "| alerts_sweep, 30 due: 30 ids, 1 tasks |" in out
