"""Faults and cheap denials of service on the production server (issue 11): a flood while
Redis is down, slow uploads, and thousands of made-up (service, country) pairs."""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from urllib.parse import urlsplit

import pytest

from detection.models import SeriesBaseline, SeriesState
from reports.models import Report
from tests.abuse.conftest import assert_no_outage_and_no_email
from tests.conftest import free_port
from tests.e2e.conftest import running_web_server

pytestmark = [pytest.mark.e2e]


def test_flood_while_redis_is_down_is_stored_but_not_counted(
    stack_env, watched, celery_worker_process, judge, tmp_path
):
    # The web server's Redis (cache and throttles) does not answer; the worker's still does.
    dead = f"redis://127.0.0.1:{free_port()}/0"
    env = {**stack_env, "REDIS_URL": dead, "THROTTLE_REPORTS": "10/min"}
    with running_web_server(env) as web:
        from tests.abuse.conftest import REPORT

        parts = urlsplit(web.url)
        statuses = []
        for k in range(300):  # 30 networks in 30 blocks: an outage, if it counted
            conn = _connection(parts, f"127.{100 + k % 30}.0.1")
            conn.request("POST", "/api/v1/reports/", _json(REPORT), _JSON)
            statuses.append(conn.getresponse().status)
            conn.close()
        log = web.log_path.read_text()
    assert statuses == [201] * 300
    assert Report.objects.count() == 300
    assert not Report.objects.filter(counted=True).exists()
    # One line per minute and process while it lasts, not a traceback per request.
    assert "Traceback" not in log
    assert 1 <= log.count("Throttle cache unavailable") <= 4
    judge()
    assert_no_outage_and_no_email(tmp_path / "mail")


def test_two_slow_uploads_do_not_take_the_site_offline(stack_env):
    env = {**stack_env, "REQUEST_BODY_TIMEOUT_SECONDS": "4"}
    with running_web_server(env) as web:
        parts = urlsplit(web.url)
        answers: list[bytes] = []
        slow = [
            threading.Thread(target=_trickle, args=(parts, answers), daemon=True) for _ in range(2)
        ]
        for thread in slow:
            thread.start()
        time.sleep(1)  # both uploads are under way, a byte a second
        for _ in range(3):
            with urllib.request.urlopen(web.url + "/api/v1/services/?page_size=1", timeout=5) as r:
                assert r.status == 200
        for thread in slow:
            thread.join(timeout=15)
    # The trickling clients were cut off after REQUEST_BODY_TIMEOUT_SECONDS.
    assert len(answers) == 2 and all(a.startswith(b"HTTP/1.1 408") for a in answers)
    assert all(b"content-security-policy: default-src 'none'" in a for a in answers)


def test_reports_for_made_up_pairs_create_no_series(
    make_service, web_server, post_report, celery_worker_process, judge
):
    services = [make_service(f"service-{i}") for i in range(40)]
    countries = ["AR", "BR", "CL", "CO", "PE"]
    k = 0
    for service in services:
        problem = service.problem_types.first().slug
        for country in countries:
            k += 1
            sent = post_report(
                source=f"127.{k % 200 + 20}.{k // 200}.1",
                service=service.slug,
                problem=problem,
                country=country,
            )
            assert sent.status == 201, sent.body
    assert Report.objects.filter(counted=True).count() == 200
    judge()
    # Counted in each service's overall series; no pair became a series of its own.
    assert not SeriesState.objects.exclude(country="").exists()
    assert not SeriesBaseline.objects.exclude(country="").exists()
    assert SeriesState.objects.filter(country="", service__in=services).count() == 40


_JSON = {"Content-Type": "application/json"}


def _json(body: dict) -> bytes:
    import json

    return json.dumps(body).encode()


def _connection(parts, source: str):
    import http.client

    return http.client.HTTPConnection(
        parts.hostname, parts.port, timeout=20, source_address=(source, 0)
    )


def _trickle(parts, answers: list[bytes]) -> None:
    """Send a report's headers, then its body at one byte a second."""
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    try:
        head = (
            f"POST /api/v1/reports/ HTTP/1.1\r\nHost: {parts.hostname}\r\n"
            "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        )
        sock.sendall(head.encode())
        for _ in range(100):
            try:
                sock.sendall(b" ")
            except OSError:
                break  # the server closed the connection
            sock.settimeout(1.0)
            try:
                data = sock.recv(4096)
            except TimeoutError:
                continue
            if data:
                answers.append(data)
                return
            break
    finally:
        sock.close()
