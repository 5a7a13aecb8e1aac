"""A report submitted over HTTP to a real gunicorn process ends up in the database."""

from __future__ import annotations

import json

import pytest

from reports.models import Report

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
