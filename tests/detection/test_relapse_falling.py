"""A relapse's "reports falling" verdict is judged on its own minutes and against its own
peak (explain tester F1, forty-fourth session): a minute into a relapse of 42 reports a minute
every surface said "Reports falling ... may be over", its five newest minutes still holding
the lull before it, and a smaller relapse at its height read as falling against the first
run's peak."""

from __future__ import annotations

from datetime import timedelta

import pytest

from detection import presentation, selectors
from detection.models import Bucket, JobCursor, OutageEvent
from tests.detection.status_data import (
    baseline_store,
    buckets_make,
    flat_baseline,
    outage_make,
    status_make,
)

pytestmark = pytest.mark.django_db


def _relapse(service, now, *, back_minutes_ago: int, rate: int):
    """An outage whose first run peaked at 70 a minute (normal 1.2), resolved, and back
    `back_minutes_ago` minutes ago at `rate` a minute; quiet minutes at 1 between."""
    start = now - timedelta(minutes=60)
    outage = outage_make(
        service, started_at=start, countries=("FR",), peak_observed=70.0, peak_expected=1.2
    )
    back = now - timedelta(minutes=back_minutes_ago)
    OutageEvent.objects.create(
        outage=outage, at=back - timedelta(minutes=3), kind=OutageEvent.Kind.RESOLVED
    )
    OutageEvent.objects.create(outage=outage, at=back, since=back, kind=OutageEvent.Kind.REOPENED)
    OutageEvent.objects.create(
        outage=outage,
        at=back,
        since=back,
        kind=OutageEvent.Kind.COUNTRY,
        country="FR",
        observed=rate,
    )
    baseline_store(service, flat_baseline(1.0))
    minutes = {start + timedelta(minutes=k): (70 if k < 10 else 1) for k in range(60)}
    for k in range(back_minutes_ago):
        minutes[back + timedelta(minutes=k)] = rate
    buckets_make(service, minutes)
    JobCursor.objects.create(name=JobCursor.BUCKETS, position=now)
    status_make(service, 2, outage=outage, countries=("FR",), observed=rate, expected=1.0)
    return outage


def _minute(at):
    return at.replace(second=0, microsecond=0)


def test_a_relapse_in_its_second_minute_is_not_falling(service, midday):
    now = _minute(midday)
    _relapse(service, now, back_minutes_ago=2, rate=42)
    state = selectors.service_state_get(service=service)
    assert state.again_since == now - timedelta(minutes=2)
    assert not state.falling
    assert presentation.status_label(state) == "Problems detected"
    text = presentation.status_sentence(state, now=midday)
    assert text.startswith("User reports indicate problems at Acme Cloud again since 11:58 UTC.")
    assert "Now about 42 reports a minute" in text


def test_a_smaller_relapse_at_its_height_is_not_falling_against_the_first_runs_peak(
    service, midday
):
    now = _minute(midday)
    _relapse(service, now, back_minutes_ago=12, rate=15)
    state = selectors.service_state_get(service=service)
    assert not state.falling
    assert (state.peak_observed, state.peak_expected) == (15.0, 1.0)
    assert "Now about 15 reports a minute" in presentation.status_sentence(state, now=midday)


def test_a_relapse_that_fell_is_falling(service, midday):
    now = _minute(midday)
    outage = _relapse(service, now, back_minutes_ago=12, rate=15)
    last_five = [now - timedelta(minutes=k) for k in range(1, 6)]
    Bucket.objects.filter(service=service, minute__in=last_five).update(counted=1, reporters=1)
    status_make(service, 2, outage=outage, countries=("FR",), observed=1, expected=1.0)
    state = selectors.service_state_get(service=service)
    assert state.falling
    assert presentation.status_label(state) == "Reports falling"
