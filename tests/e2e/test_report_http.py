"""A report submitted over HTTP to a real gunicorn process ends up in the database."""

from __future__ import annotations

import http.client
import json
import subprocess
import urllib.parse

import pytest
from django.utils import timezone

from reports.intake import submissions_failed
from reports.models import Report
from tests.conftest import free_port, wait_until
from tests.e2e.conftest import BASE_DIR, BIN, HttpResult, WebServer

pytestmark = [pytest.mark.e2e]

JSON = {"Content-Type": "application/json"}


def test_report_posted_to_real_server_is_stored(web_server, make_service):
    make_service("acme", "Acme Cloud")
    body = json.dumps(
        {"service": "acme", "problem": "login", "country": "DE", "subdivision": "DE-BE"}
    )

    created = web_server.request("POST", "/api/v1/reports/", body.encode(), JSON)

    assert created.status == 201, created.body
    payload = json.loads(created.body)
    report = Report.objects.get(pk=payload["id"])
    assert (report.service.slug, report.country, report.counted) == ("acme", "DE", True)
    # The address the server saw was 127.0.0.1; it must not be stored anywhere.
    assert "127.0.0.1" not in json.dumps(list(Report.objects.values()), default=str)

    again = web_server.request("POST", "/api/v1/reports/", body.encode(), JSON)
    assert again.status == 201 and json.loads(again.body)["counted"] is False


def test_real_server_refuses_bad_input_and_serves_pages(web_server, make_service):
    make_service("acme", "Acme Cloud")
    bad = web_server.request("POST", "/api/v1/reports/", b'{"service": "nope"}', JSON)
    assert bad.status == 400
    assert set(json.loads(bad.body)["fields"]) == {"service", "problem", "country"}
    too_big = web_server.request("POST", "/api/v1/reports/", b"x" * 20000, JSON)
    assert too_big.status == 413
    not_json = web_server.request(
        "POST", "/api/v1/reports/", b"a=b", {"Content-Type": "text/plain"}
    )
    assert not_json.status == 415
    assert Report.objects.count() == 0

    page = web_server.request("GET", "/services/acme/")
    assert page.status == 200 and b"Report a problem with Acme Cloud" in page.body
    css = web_server.request("GET", "/static/css/site.css")
    assert css.status == 200
    icon = web_server.request("GET", "/favicon.ico")  # redirected to the hashed static file
    assert icon.status == 200 and b"<svg" in icon.body


def _chunked_post(web_server, path: str, chunks: list[bytes]) -> tuple[int, dict, bytes]:
    """POST with Transfer-Encoding: chunked and no Content-Length, as streaming clients do."""
    parsed = urllib.parse.urlsplit(web_server.url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=20)
    try:
        conn.request("POST", path, body=iter(chunks), headers=JSON, encode_chunked=True)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_chunked_bodies_are_read_and_bounded(web_server, make_service):
    make_service("acme", "Acme Cloud")
    body = json.dumps({"service": "acme", "problem": "login", "country": "DE"}).encode()

    status, _, answer = _chunked_post(web_server, "/api/v1/reports/", [body[:10], body[10:]])
    assert status == 201, answer
    assert Report.objects.get(pk=json.loads(answer)["id"]).country == "DE"

    huge = [b'{"comment": "', *([b"x" * 4096] * 8), b'"}']
    status, _, answer = _chunked_post(web_server, "/api/v1/reports/", huge)
    assert status == 413
    assert json.loads(answer)["code"] == "payload_too_large"
    assert Report.objects.count() == 1


def test_real_server_answers_json_errors_under_api(web_server, make_service):
    make_service("acme", "Acme Cloud")
    over_django_limit = b'{"comment": "' + b"x" * 300_000 + b'"}'
    too_big = web_server.request("POST", "/api/v1/reports/", over_django_limit, JSON)
    assert too_big.status == 413
    assert json.loads(too_big.body)["code"] == "payload_too_large"

    missing = web_server.request("GET", "/api/v1/no-such-thing/")
    assert missing.status == 404
    assert json.loads(missing.body) == {"detail": "Not found.", "code": "not_found"}

    nul = web_server.request("GET", "/api/v1/services/?search=a%00")
    assert nul.status == 400
    assert json.loads(nul.body)["fields"] == {"search": ["Must not contain NUL (0x00) characters."]}
    assert web_server.request("GET", "/?q=a%00").status == 400

    deep = b"[" * 5000 + b"]" * 5000
    assert web_server.request("POST", "/api/v1/reports/", deep, JSON).status == 400

    page = web_server.request("GET", "/")
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert "geolocation=()" in page.headers["Permissions-Policy"]


def test_database_down_is_a_503_with_retry_after(stack_env, tmp_path):
    """The production server with a database that refuses connections: 503 + Retry-After,
    JSON under /api/, a page elsewhere; a report submission among them is counted."""
    env = {**stack_env, "DATABASE_URL": "postgres://ow:ow@127.0.0.1:9/outagewatch"}
    port = free_port()
    log = open(tmp_path / "gunicorn-nodb.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            *(BIN / "gunicorn", "-c", "python:outagewatch.gunicorn_conf"),
            *("--bind", f"127.0.0.1:{port}", "--workers", "1"),
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = WebServer(f"http://127.0.0.1:{port}")

    def answers() -> HttpResult | None:
        try:
            return server.request("GET", "/api/v1/services/")
        except OSError:
            return None

    try:
        api = wait_until(answers, timeout=30, what="gunicorn without a database")
        assert api.status == 503, api.body
        assert int(api.headers["Retry-After"]) > 0
        assert json.loads(api.body)["code"] == "unavailable"
        page = server.request("GET", "/services/acme/")
        assert page.status == 503 and b"Temporarily unavailable" in page.body
        assert int(page.headers["Retry-After"]) > 0
        # A report that found no database is counted in Redis for the tick (reports.intake),
        # so that these minutes are not judged as quiet once the database is back.
        first = timezone.now().replace(second=0, microsecond=0)
        body = json.dumps({"service": "acme", "problem": "login", "country": "DE"})
        report = server.request("POST", "/api/v1/reports/", body.encode(), JSON)
        assert report.status == 503 and json.loads(report.body)["code"] == "unavailable"
        last = timezone.now().replace(second=0, microsecond=0)
        assert sum(submissions_failed(m) for m in {first, last}) == 1
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()
