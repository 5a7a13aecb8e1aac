"""The web server's connection pool after the database drops every connection (a restart or
a failover): no request fails once the database answers again."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from reports.models import Report
from tests.e2e.conftest import running_web_server

pytestmark = [pytest.mark.e2e]

JSON = {"Content-Type": "application/json"}


def _drop_other_connections() -> int:
    """What a PostgreSQL restart does to the server's pooled connections."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_reports_are_taken_at_once_after_the_database_dropped_the_pool(stack_env, make_service):
    if connection.vendor != "postgresql":
        pytest.skip("the web server pools connections on PostgreSQL only")
    make_service("acme", "Acme Cloud")
    body = json.dumps({"service": "acme", "problem": "login", "country": "DE"}).encode()
    with running_web_server({**stack_env, "WEB_CONCURRENCY": "1"}) as server:
        assert server.request("POST", "/api/v1/reports/", body, JSON).status == 201
        assert _drop_other_connections() >= 1
        # Each dead connection idle in the pool answered one of these 503 before; with
        # psycopg_pool's own check the first one waited past DB_POOL_TIMEOUT.
        statuses = [server.request("POST", "/api/v1/reports/", body, JSON).status for _ in range(4)]
        log = server.log_path.read_text() if server.log_path else ""
    assert statuses == [201] * 4, log[-3000:]
    assert Report.objects.count() == 5
