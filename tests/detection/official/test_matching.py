"""The track record's method (detection.official.matching), on hand-made cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from detection.official.matching import ACK_GRACE, CrowdOutage, Incident, matches, record

T = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
M = timedelta(minutes=1)


def crowd(i: int, start: int, end: int | None, service: str = "slack") -> CrowdOutage:
    return CrowdOutage(i, service, T + start * M, T + (start + 2) * M, T + end * M if end else None)


def official(i: int, start: int, ack: int, end: int | None, *, impact="major", service="slack"):
    return Incident(i, service, impact, T + start * M, T + ack * M, T + end * M if end else None)


def test_the_lead_time_is_the_acknowledgement_minus_the_detection():
    [m] = matches([crowd(1, 0, 60)], [official(7, -5, 20, 90)], now=T + 200 * M)
    assert (m.outage_id, m.incident_id) == (1, 7)
    assert m.lead == 18 * M  # detected at +2, acknowledged at +20: the crowd knew first
    [late] = matches([crowd(1, 30, 60)], [official(7, 0, 5, 90)], now=T + 200 * M)
    assert late.lead == -27 * M  # the provider said so before the crowd noticed


def test_times_must_overlap_give_or_take_the_slack():
    outage = crowd(1, 0, 60)
    assert matches([outage], [official(7, 85, 85, 120)], now=T + 300 * M)  # 25 min after
    assert not matches([outage], [official(7, 95, 95, 120)], now=T + 300 * M)  # 35 min after
    assert not matches([outage], [official(7, 0, 5, 60, service="zoom")], now=T + 300 * M)
    assert not matches([outage], [official(7, 0, 5, 60, impact="maintenance")], now=T + 300 * M)


def test_an_outage_takes_the_incident_acknowledged_first():
    [m] = matches([crowd(1, 0, 120)], [official(8, 30, 40, 100), official(7, 5, 15, 50)], now=T)
    assert m.incident_id == 7


def test_the_figures_count_what_was_seen_by_whom():
    now = T + 30 * 1440 * M
    outages = [crowd(1, 0, 60), crowd(2, 1000, 1100), crowd(3, 5000, 5100, service="steam")]
    incidents = [official(7, 0, 20, 90), official(8, 20000, 20000, 20100)]
    found = matches(outages, incidents, now=now)
    r = record(outages, incidents, found, with_source={"slack"}, since=T, now=now)
    assert (r.outages, r.incidents, r.matched_incidents, r.unseen_incidents) == (3, 2, 1, 1)
    # Outage 2 (slack has a source) was never acknowledged; steam has no source to ask.
    assert r.unacknowledged_outages == 1
    assert r.leads == (18.0,) and r.median_lead == 18.0 and r.p90_lead == 18.0


def test_a_shared_page_s_incident_is_seen_only_for_the_service_the_crowd_saw_it_on():
    # Google's page: one incident concerning Gmail and Drive, the crowd saw Gmail only.
    now = T + 1440 * M
    incidents = [official(7, 0, 20, 90, service="gmail"), official(7, 0, 20, 90, service="drive")]
    found = matches([crowd(1, 0, 60, service="gmail")], incidents, now=now)
    drive = record([], incidents[1:], found, with_source={"drive"}, since=T, now=now)
    gmail = record([crowd(1, 0, 60, service="gmail")], incidents[:1], found,
                   with_source={"gmail"}, since=T, now=now)  # fmt: skip
    assert (drive.matched_incidents, drive.unseen_incidents) == (0, 1)
    assert (gmail.matched_incidents, gmail.unseen_incidents) == (1, 0)


def test_a_young_outage_is_not_yet_called_unacknowledged():
    outage = crowd(1, 0, None)
    young = record([outage], [], [], with_source={"slack"}, since=T, now=T + ACK_GRACE - M)
    old = record([outage], [], [], with_source={"slack"}, since=T, now=T + ACK_GRACE + 3 * M)
    assert (young.unacknowledged_outages, old.unacknowledged_outages) == (0, 1)


def test_median_and_p90_of_several_lead_times():
    outages = [crowd(i, 1000 * i, 1000 * i + 60) for i in range(10)]
    incidents = [official(100 + i, 1000 * i, 1000 * i + 2 + i, 1000 * i + 60) for i in range(10)]
    found = matches(outages, incidents, now=T + 20000 * M)
    r = record(outages, incidents, found, with_source={"slack"}, since=T, now=T + 20000 * M)
    assert r.leads == tuple(float(i) for i in range(10))
    assert r.median_lead == 4.5 and abs(r.p90_lead - 8.1) < 1e-9
