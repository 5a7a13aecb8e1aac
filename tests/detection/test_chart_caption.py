"""A chart's words say what it draws, the quarter hour still filling too (accessibility tester
F3, forty-fifth session: "Highest: about 2 reports a minute" under a chart at 39 a minute ten
minutes into an outage)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from detection import presentation
from detection.selectors import Series, SeriesPoint

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("midday")]  # 25 Nov, 12:00

AT = datetime(2026, 11, 25, 11, 0, tzinfo=UTC)


def _point(k: int, observed: int, minutes: int = 15) -> SeriesPoint:
    return SeriesPoint(
        at=AT + timedelta(minutes=15 * k),
        minutes=minutes,
        complete=minutes == 15,
        observed=observed,
        expected=15.0 * minutes / 15,
        lower=0.0,
        upper=30.0,
    )


def _caption(service, points: list[SeriesPoint]) -> str:
    series = Series(
        service=service,
        country="",
        step_minutes=15,
        start=AT,
        end=AT + timedelta(minutes=15 * len(points)),
        baseline_method="seasonal",
        points=points,
    )
    return re.sub(r"<[^>]+>", "", str(presentation.series_caption(series)))


def test_the_quarter_hour_still_filling_is_in_the_words(service):
    # 2 a minute before; 10 minutes into the newest quarter hour, 390 reports: 39 a minute.
    caption = _caption(service, [_point(0, 30), _point(1, 15), _point(2, 390, minutes=10)])
    assert caption.startswith("Highest: about 39 reports a minute on average so far since 11:30")
    assert "Newest: about 39 reports a minute on average so far since 11:30" in caption
    assert "where about 1 is normal" in caption


def test_closed_quarter_hours_keep_their_times(service):
    caption = _caption(service, [_point(0, 30), _point(1, 45)])
    assert caption.startswith("Highest: about 3 reports a minute on average at 11:15 UTC.")
    assert "Newest: about 3 reports a minute on average at 11:15" in caption
    assert "so far" not in caption
