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


def test_an_open_relapsed_outage_says_it_stopped_beside_its_first_start(service, make_service):
    """'Problems since 16:04' beside the status's 'problems again since 16:37' read as two
    claims about one outage (relapse verifier)."""
    outage = outage_make(service, started_at=START, paused_minutes=16)
    now = START + timedelta(minutes=45)
    text = presentation.outage_summary(outage, now=now)
    assert text.startswith("Problems since 16:04 UTC (they stopped for 16 min in between).")
    html = presentation.outage_summary(outage, now=now, html=True)
    assert "</time> (they stopped for 16 min in between)." in html
    once = outage_make(make_service("other"), started_at=START)
    assert "stopped" not in presentation.outage_summary(once, now=now)
