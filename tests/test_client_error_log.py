"""A client error (4xx) is at most one django.request line a minute per status, with a count."""

from __future__ import annotations

import logging

import pytest

from tests.logs import spaced_filter

pytestmark = pytest.mark.django_db


def _filter():
    return spaced_filter("django.request")


def _record(status: int, at: float, path: str = "/api/v1/reports/") -> logging.LogRecord:
    made = logging.LogRecord(
        "django.request", logging.WARNING, "", 0, "Too Many Requests: %s", (path,), None
    )
    made.status_code = status
    made.created = at
    return made


def test_a_flood_of_throttled_requests_is_one_line_a_minute_with_a_count():
    spaced = _filter()
    flood = [_record(429, 1000.0 + i / 100) for i in range(500)]  # 500 in five seconds
    assert [spaced.filter(r) for r in flood].count(True) == 1
    later = _record(429, 1000.0 + spaced.interval_seconds, "/api/v1/status/")
    assert spaced.filter(later)
    assert later.getMessage() == (
        "Too Many Requests: /api/v1/status/ (499 more 429s since the last such line, "
        "not logged singly)"
    )


def test_each_status_has_its_own_minute_and_server_errors_are_never_held():
    spaced = _filter()
    assert spaced.filter(_record(429, 1000.0))
    assert spaced.filter(_record(400, 1000.1))
    assert not spaced.filter(_record(400, 1000.2))
    assert all(spaced.filter(_record(500, 1000.3 + i)) for i in range(5))


def test_a_scanner_walking_paths_is_one_line(client, caplog):
    with caplog.at_level(logging.INFO, logger="django.request"):
        for i in range(20):
            assert client.get(f"/no-such-page-{i}/").status_code == 404
    lines = [r for r in caplog.records if r.name == "django.request"]
    assert len(lines) == 1 and lines[0].levelno == logging.WARNING


def test_a_django_line_is_written_once_in_development_mode_too(settings):
    # Django's own console handler (it writes only with DEBUG on) printed each kept line a
    # second time beside the root's: the django loggers write through the root's alone.
    settings.DEBUG = True
    own = []
    logger = logging.getLogger("django.request")
    while logger is not logging.root:
        own += [h for h in logger.handlers if h.filter(_record(500, 1000.0))]
        assert logger.propagate and logger.parent is not None
        logger = logger.parent
    assert own == []
