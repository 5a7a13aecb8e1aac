"""The track record read (detection.official.track_record) over a simulated month of rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from detection.models import Outage
from detection.official.models import OfficialIncident
from detection.official.track_record import track_record
from reports.models import Service

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
M = timedelta(minutes=1)


def simulated_month(official_source) -> dict:
    """Slack (official page) breaks every few days; its provider posts most incidents 5-40
    minutes after the crowd, one before, and one the crowd never saw; Steam has no page."""
    slack = Service.objects.get(slug="slack")
    steam = Service.objects.get(slug="steam")
    source = official_source(slack, "https://status.slack.test/api/v2/summary.json")
    # A page we read: only then can an outage count as never acknowledged (source_read).
    source.last_success_at = NOW - timedelta(minutes=2)
    source.save(update_fields=["last_success_at"])
    rng = np.random.default_rng(3)
    leads = []
    for day in range(1, 29, 3):
        start = NOW - timedelta(days=day, hours=int(rng.integers(0, 12)))
        outage = Outage.objects.create(
            service=slack,
            started_at=start,
            detected_at=start + 2 * M,
            resolved_at=start + 50 * M,
            status="resolved",
        )
        if day == 25:
            continue  # never acknowledged
        lead = -10 if day == 1 else int(rng.integers(5, 40))
        leads.append(lead)
        OfficialIncident.objects.create(
            source=source,
            external_id=f"inc-{day}",
            title="Degraded performance",
            status="resolved",
            impact="major",
            started_at=outage.detected_at + lead * M,
            acknowledged_at=outage.detected_at + lead * M,
            resolved_at=outage.detected_at + 90 * M,
            updated_at=outage.detected_at + 90 * M,
            first_seen_at=outage.detected_at + lead * M,
            last_seen_at=outage.detected_at + 90 * M,
        )
    quiet = NOW - timedelta(days=12, hours=3)  # an incident nobody reported
    OfficialIncident.objects.create(
        source=source, external_id="unseen", title="Slow file uploads", status="resolved",
        impact="minor", started_at=quiet, acknowledged_at=quiet, resolved_at=quiet + 30 * M,
        updated_at=quiet + 30 * M, first_seen_at=quiet, last_seen_at=quiet + 30 * M,
    )  # fmt: skip
    maintenance = NOW - timedelta(days=5)
    OfficialIncident.objects.create(
        source=source, external_id="maint", title="Scheduled maintenance", status="completed",
        impact="maintenance", started_at=maintenance, acknowledged_at=maintenance,
        resolved_at=maintenance + 60 * M, updated_at=maintenance,
        first_seen_at=maintenance, last_seen_at=maintenance,
    )  # fmt: skip
    for day in (3, 20):
        start = NOW - timedelta(days=day)
        Outage.objects.create(
            service=steam, started_at=start, detected_at=start + 2 * M,
            resolved_at=start + 30 * M, status="resolved",
        )  # fmt: skip
    return {"leads": leads}


def test_the_track_record_of_a_simulated_month(official_source):
    truth = simulated_month(official_source)
    record = track_record(now=NOW)
    month = record.overall[30]
    assert month.outages == 10 + 2
    assert month.incidents == 9 + 1  # maintenance left out
    assert (month.matched_incidents, month.unseen_incidents) == (9, 1)
    assert month.unacknowledged_outages == 1  # Slack's day 25; Steam has no page to ask
    assert sorted(month.leads) == sorted(float(x) for x in truth["leads"])
    assert month.median_lead == float(np.median(truth["leads"]))
    assert month.p90_lead == pytest.approx(float(np.quantile(truth["leads"], 0.9)))
    slack, steam = record.services
    assert (slack.slug, slack.has_source, slack.records[30].outages) == ("slack", True, 10)
    assert (steam.slug, steam.has_source, steam.records[90].unacknowledged_outages) == (
        "steam",
        False,
        0,
    )
    assert "give or take 30 minutes" in record.method


def test_an_empty_track_record_has_no_lead_times():
    record = track_record(now=NOW)
    assert record.services == () and record.overall[90].median_lead is None


class _Passes(list):
    """A list that counts the passes made over it."""

    passes = 0

    def __iter__(self):
        self.passes += 1
        return super().__iter__()


def test_each_service_row_takes_no_pass_over_every_outage(monkeypatch):
    """Each service's row filtered the whole 90 days of outages, incidents and matches again:
    passes over them grew with the number of services (quadratic in the catalog)."""
    from detection.official import track_record as module
    from detection.official.matching import CrowdOutage, Incident

    original = module.matches

    def passes(services: int) -> tuple[int, int, int]:
        outages = _Passes(
            CrowdOutage(k, f"s{k}", NOW - 3 * M * k, NOW - 2 * M * k, NOW - M * k)
            for k in range(1, services + 1)
        )
        incidents = _Passes(
            Incident(k, f"s{k}", "major", NOW - 3 * M * k, NOW - 2 * M * k, None)
            for k in range(1, services + 1)
        )
        found: list[_Passes] = []

        def matches(*args, **kwargs):
            found.append(_Passes(original(*args, **kwargs)))
            return found[-1]

        with monkeypatch.context() as patch:
            patch.setattr(module, "_outages", lambda since: outages)
            patch.setattr(module, "_incidents", lambda since, now: (incidents, set()))
            patch.setattr(module, "matches", matches)
            record = track_record(now=NOW)
        assert len(record.services) == services
        return outages.passes, incidents.passes, found[0].passes

    assert passes(2) == passes(12)
