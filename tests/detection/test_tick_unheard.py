"""The tick counts a minute's reports for reports.intake only when submissions failed in it:
the count is a pass over every series, and nearly every minute has no failure."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from detection.models import OVERALL
from detection.services.tick import _unheard
from reports.intake import minute_unheard, submission_failed
from tests.detection.conftest import T0

pytestmark = pytest.mark.django_db


class Untouchable(list):
    """Series keys that fail the test if anything walks them."""

    def __iter__(self):
        raise AssertionError("the keys were walked to count the minute's reports")


def test_a_minute_without_failed_submissions_is_heard_without_counting_its_reports():
    keys = Untouchable([("acme", OVERALL), ("acme", "DE")])
    assert _unheard(T0, keys, np.array([0, 0])) is False


def test_a_minute_with_failed_submissions_is_judged_against_its_reports_counted_once():
    keys = [("acme", OVERALL), ("acme", "DE"), ("other", OVERALL)]
    for _ in range(3):
        submission_failed(now=T0 + dt.timedelta(seconds=30))
    # Overall 1 + 2 = 3 counted (the DE series repeats acme's): as many failed, so unheard.
    assert _unheard(T0, keys, np.array([1, 1, 2])) is True
    assert _unheard(T0, keys, np.array([2, 2, 2])) is False  # 4 counted, more than failed


def test_the_count_is_asked_for_only_when_submissions_failed():
    asked = []

    def counted() -> int:
        asked.append(1)
        return 2

    assert minute_unheard(T0, counted) == ""
    assert asked == []
    submission_failed(now=T0)
    submission_failed(now=T0)
    assert minute_unheard(T0, counted) == "2 report submissions found no database"
    assert asked == [1]
