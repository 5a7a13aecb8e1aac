"""A request for a host not in ALLOWED_HOSTS is one WARNING line in the log."""

from __future__ import annotations

import logging

import pytest

from tests.logs import spaced_filter

pytestmark = pytest.mark.django_db


LOGGER = "django.security.DisallowedHost"


def _filter():
    return spaced_filter(LOGGER)


@pytest.mark.parametrize("debug", [False, True])
def test_a_foreign_host_is_one_warning_line_without_traceback_or_address(
    client, caplog, settings, debug
):
    settings.DEBUG = debug
    with caplog.at_level(logging.INFO, logger="django.security"):
        response = client.get(
            "/api/v1/status/", HTTP_HOST="evil.example", REMOTE_ADDR="198.51.100.23"
        )
    assert response.status_code == 400
    records = [r for r in caplog.records if r.name == "django.security.DisallowedHost"]
    assert len(records) == 1
    record = records[0]
    assert record.levelno == logging.WARNING
    assert record.exc_info is None and record.exc_text is None
    assert not hasattr(record, "request")
    line = logging.Formatter("%(levelname)s %(name)s: %(message)s").format(record)
    assert "\n" not in line and "Traceback" not in line
    assert "evil.example" in line and "198.51.100" not in line


def test_a_long_foreign_host_is_shortened_in_the_log(client, caplog):
    with caplog.at_level(logging.INFO, logger="django.security"):
        client.get("/api/v1/status/", HTTP_HOST="a" * 5_000 + ".example")
    (record,) = [r for r in caplog.records if r.name == "django.security.DisallowedHost"]
    assert len(record.getMessage()) < 200


def test_a_flood_of_foreign_hosts_is_one_line_a_minute_with_a_count(caplog):
    refused = _filter()

    def record(at: float) -> logging.LogRecord:
        made = logging.LogRecord(
            "django.security.DisallowedHost", logging.ERROR, "", 0, "x", (), None
        )
        made.created = at
        return made

    flood = [record(1000.0 + i / 100) for i in range(500)]  # 500 in five seconds
    assert [refused.filter(r) for r in flood].count(True) == 1
    later = record(1000.0 + refused.interval_seconds)
    assert refused.filter(later)
    assert later.getMessage() == (
        "Refused a request for a host not in ALLOWED_HOSTS. 499 more refused since the last "
        "such line, not logged singly."
    )
