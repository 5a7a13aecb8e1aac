"""An outage that ended and came back lasted its runs, not its span (API tester F23: "lasted
39 min" for two runs of problems with 16 quiet minutes between them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from detection import presentation
from tests.detection.status_data import outage_make

pytestmark = pytest.mark.django_db

START = datetime(2026, 11, 25, 16, 4, tzinfo=UTC)


def test_a_relapsed_outage_lasts_its_runs_and_says_it_stopped(service):
    outage = outage_make(
        service, started_at=START, resolved_at=START + timedelta(minutes=39), paused_minutes=16
    )
    assert presentation.outage_duration(outage) == "23 min (it stopped for 16 min in between)"
    summary = presentation.outage_summary(outage, now=START + timedelta(hours=1))
    assert "for 23 min (it stopped for 16 min in between)." in summary
    final = presentation.timeline(outage, list(outage.events.all()))[-1]
    assert final.text == "The outage lasted 23 min (it stopped for 16 min in between)."


def test_an_outage_in_one_run_lasts_its_span(service):
    outage = outage_make(service, started_at=START, resolved_at=START + timedelta(minutes=39))
    assert presentation.outage_duration(outage) == "39 min"
