"""A bump of the read cache's version that finds Redis away is one line, not a traceback: a
catalog load or an admin action saves hundreds of rows, and each bumps it (detection.signals)."""

from __future__ import annotations

import logging

import pytest

from detection.cache import data_version_bump

pytestmark = pytest.mark.django_db


def test_a_bump_that_finds_redis_away_is_one_line_without_a_traceback(redis_down, caplog):
    with caplog.at_level(logging.WARNING, logger="detection.cache"):
        for _ in range(50):
            data_version_bump()
    lines = [r for r in caplog.records if r.name == "detection.cache"]
    assert len(lines) == 1 and lines[0].exc_info is None
    assert "could not invalidate reads" in lines[0].getMessage()
