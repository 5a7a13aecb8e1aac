"""`simulate history` gives the track record something to show: official incidents for the
simulated outages of services with an official source; `simulate reset` removes them."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from detection.models import Outage
from detection.official.models import OfficialIncident, ServiceStatusSource, StatusSource
from detection.official.track_record import track_record
from detection.services.simulate import (
    SIMULATED_LEAD_MINUTES,
    SIMULATED_MARK,
    history_reset,
    official_incidents_simulate,
)
from reports.models import Service

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
M = dt.timedelta(minutes=1)


def test_simulated_incidents_fill_the_track_record_and_go_with_reset():
    slack, steam = Service.objects.get(slug="slack"), Service.objects.get(slug="steam")
    # A page read: its silence about an outage counts as never acknowledged (source_read).
    source = StatusSource.objects.create(
        url="https://status.slack.test/api/v2/summary.json", kind="statuspage",
        host="status.slack.test", next_poll_at=NOW, last_success_at=NOW,
    )  # fmt: skip
    ServiceStatusSource.objects.create(service=slack, source=source)
    for service in (slack, steam):
        for day in range(1, 21, 2):
            start = NOW - dt.timedelta(days=day)
            Outage.objects.create(
                service=service, started_at=start, detected_at=start + 2 * M,
                resolved_at=start + 40 * M, status="resolved",
                explanation=f"Simulated. {SIMULATED_MARK}",
            )  # fmt: skip
    real = OfficialIncident.objects.create(
        source=source, external_id="real-1", title="Real", status="resolved", impact="minor",
        started_at=NOW - dt.timedelta(days=40), acknowledged_at=NOW - dt.timedelta(days=40),
        resolved_at=NOW - dt.timedelta(days=39), updated_at=NOW, first_seen_at=NOW,
        last_seen_at=NOW,
    )  # fmt: skip

    written = official_incidents_simulate(services=[slack, steam], rng=np.random.default_rng(2))
    simulated = OfficialIncident.objects.exclude(pk=real.pk)
    assert written == simulated.count()
    assert 6 <= written <= 11  # most of slack's 10 outages, and one unseen incident; none for steam
    month = track_record(now=NOW).overall[30]
    assert month.matched_incidents == written - 1 and month.unseen_incidents == 1
    low, high = SIMULATED_LEAD_MINUTES
    assert all(low <= lead < high for lead in month.leads)
    assert month.unacknowledged_outages == 10 - month.matched_incidents

    history_reset(now=NOW)
    assert list(OfficialIncident.objects.all()) == [real]
