"""A minute is one we did not hear when at least as many report submissions failed as were
stored (reports.intake); the tick counts its stored reports only when submissions failed."""

from __future__ import annotations

import datetime as dt

import pytest

from detection.services import buckets_aggregate
from detection.services.tick import _unheard
from reports.intake import minute_unheard, submission_failed
from tests.detection.conftest import T0

pytestmark = pytest.mark.django_db
M = dt.timedelta(minutes=1)


def test_a_minute_without_failed_submissions_is_heard_without_counting_its_reports(
    django_assert_num_queries,
):
    with django_assert_num_queries(1):  # the unchecked mark only, no count of the buckets
        assert _unheard(T0) is False


def test_a_minute_with_failed_submissions_is_judged_against_the_reports_it_stored(
    service, send_reports
):
    """Maintainer review (forty-third session): set against the counted reports (one per
    network), three failures beside forty-two stored made the minute unheard."""
    send_reports(service, T0, 40, country="DE", same=True)  # 40 stored, one network counted
    send_reports(service, T0, 2, country="FR")
    buckets_aggregate(now=T0 + M + dt.timedelta(seconds=2))
    for _ in range(3):
        submission_failed(now=T0 + dt.timedelta(seconds=30))
    assert _unheard(T0) is False  # 3 failed, 42 stored (3 counted), each counted once
    for _ in range(39):
        submission_failed(now=T0 + dt.timedelta(seconds=30))
    assert _unheard(T0) is True  # 42 failed: half of what was sent, or more


def test_the_count_is_asked_for_only_when_submissions_failed():
    asked = []

    def stored() -> int:
        asked.append(1)
        return 2

    assert minute_unheard(T0, stored) == ""
    assert asked == []
    submission_failed(now=T0)
    submission_failed(now=T0)
    assert minute_unheard(T0, stored) == "2 report submissions found no database"
    assert asked == [1]
