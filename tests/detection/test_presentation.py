"""detection.presentation: plain words, one end time, "reports are falling", times with zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from detection import falling, presentation, selectors
from detection.models import OutageEvent
from tests.detection.status_data import outage_make, status_make

NOW = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
JARGON = ("nb_", "poisson", "excess_", "p = ", "score", "Confidence", "rule")


# --- Numbers and times (no database) ---------------------------------------------------------


def test_rate_phrase_is_plain_words_per_minute():
    assert (
        presentation.rate_phrase(42, 2.6) == "About 42 reports a minute, where about 3 are normal"
    )
    assert (
        presentation.rate_phrase(1, 0.2) == "About 1 report a minute, where less than 1 is normal"
    )
    assert presentation.rate_phrase(7.4, None, capital=False) == "about 7 reports a minute"
    assert (
        presentation.rate_phrase(0.4, 2) == "Less than 1 report a minute, where about 2 are normal"
    )
    assert (
        presentation.rate_phrase(0, 2)
        == "No reports in the last minute, where about 2 a minute are normal"
    )


def test_time_text_drops_the_date_today():
    assert presentation.time_text(NOW.replace(hour=14, minute=5), now=NOW) == "14:05 UTC"
    assert presentation.time_text(NOW - timedelta(days=1), now=NOW) == "26 Nov 18:00 UTC"


@pytest.mark.parametrize(
    ("zone", "at", "text"),
    [
        ("Europe/Berlin", datetime(2026, 11, 27, 13, 26, tzinfo=UTC), "14:26 (UTC+1)"),
        ("Europe/Berlin", datetime(2026, 7, 1, 13, 26, tzinfo=UTC), "1 Jul 15:26 (UTC+2)"),
        ("America/New_York", datetime(2026, 11, 27, 13, 26, tzinfo=UTC), "08:26 (UTC-5)"),
        ("Asia/Kolkata", datetime(2026, 11, 27, 13, 26, tzinfo=UTC), "18:56 (UTC+5:30)"),
        ("UTC", datetime(2026, 11, 27, 13, 26, tzinfo=UTC), "13:26 UTC"),
        ("", datetime(2026, 11, 27, 13, 26, tzinfo=UTC), "13:26 UTC"),
    ],
)
def test_time_in_zone_shows_the_offset(zone, at, text):
    assert presentation.time_in_zone(at, zone, now=NOW) == text


def test_time_in_zone_adds_the_date_when_the_zone_is_on_another_day():
    late = datetime(2026, 11, 27, 23, 30, tzinfo=UTC)
    assert presentation.time_in_zone(late, "Europe/Berlin", now=NOW) == "28 Nov 00:30 (UTC+1)"


def test_time_html_carries_the_utc_instant_and_a_utc_fallback():
    html = str(presentation.time_html(datetime(2026, 11, 27, 13, 26, tzinfo=UTC), now=NOW))
    assert html == ('<time datetime="2026-11-27T13:26:00Z" data-local="auto">13:26 UTC</time>')


def test_duration_text():
    start = NOW
    assert presentation.duration_text(start, start + timedelta(minutes=7)) == "7 min"
    assert presentation.duration_text(start, start + timedelta(minutes=65)) == "1 h 5 min"
    assert presentation.duration_text(start, start + timedelta(hours=2)) == "2 h"


# --- "Reports are falling" (pure) ------------------------------------------------------------


def _falling(recent, expected=2.0, peak=42.0, peak_expected=2.0, upper=None):
    return falling.reports_falling(
        recent_observed=recent,
        recent_expected=[expected] * len(recent),
        peak_observed=peak,
        peak_expected=peak_expected,
        upper=upper,
    )


def test_reports_still_high_are_not_falling():
    assert not _falling([40, 38, 41])
    assert not _falling([20, 18, 16])  # down, but still 40% of the peak excess


def test_reports_near_normal_are_falling():
    assert _falling([5, 4, 6])
    assert _falling([2, 1, 3])


def test_reports_within_the_normal_band_are_falling_even_after_a_small_peak():
    assert not _falling([5, 5], peak=6)
    assert _falling([5, 5], peak=6, upper=[6.0, 6.0])


def test_no_minutes_or_no_peak_is_not_falling():
    assert not _falling([])
    assert not _falling([0, 0], peak=2, peak_expected=2)


def test_counted_reports_capped_by_allowances_are_not_falling_while_networks_report():
    def falls(networks: list[int], peak_networks: int | None) -> bool:
        return falling.reports_falling(
            recent_observed=[20, 19, 21],
            recent_expected=[2.0] * 3,
            peak_observed=1150,
            peak_expected=2.0,
            recent_networks=networks,
            peak_networks=peak_networks,
        )

    assert not falls([2000, 1980, 2010], 2050)
    assert falls([30, 25, 21], 2050)  # people stopped: the networks fell too
    assert falls([2000, 1980, 2010], None)  # not read: the counted reports decide
    assert falls([0, 0, 0], 0)  # no networks recorded (older buckets): likewise


@pytest.mark.parametrize(("networks", "falls"), [([3, 3, 3], True), ([9, 8, 9], False)])
def test_networks_one_host_can_hold_do_not_hold_back_falling(networks, falls):
    """A small outage (6 networks at its peak, under one report a minute normal) whose crowd
    stopped: one host's three sites, one uncounted report a minute each, kept it from "may be
    over" (abuse tester, fiftieth session); more networks than one host holds still do."""
    assert (
        falling.reports_falling(
            recent_observed=[0, 0, 0],
            recent_expected=[0.28] * 3,
            peak_observed=6,
            peak_expected=0.28,
            recent_networks=networks,
            peak_networks=6,
        )
        is falls
    )


# --- Status sentence (rows) ------------------------------------------------------------------


@pytest.mark.django_db
def test_status_sentence_names_onset_rate_and_countries(service):
    started = datetime(2026, 11, 27, 14, 5, tzinfo=UTC)
    outage = outage_make(service, started_at=started)
    status_make(service, 2, outage=outage, countries=("DE", "US"), since=started + timedelta(1))
    state = selectors.service_state_get(service=service)
    assert state.problems_since == started  # the outage onset, not when the level changed
    text = presentation.status_sentence(state, now=started + timedelta(minutes=30))
    assert text == (
        # No baseline stored yet: a new series, judged against the prior, quotes no normal.
        "User reports indicate problems at Acme Cloud since 14:05 UTC. Now about 40 reports a "
        "minute. Most reports come from Germany and the United States."
    )
    # On a later day the onset carries its date.
    text = presentation.status_sentence(state, now=started + timedelta(hours=20))
    assert text.startswith("User reports indicate problems at Acme Cloud since 27 Nov 14:05 UTC.")
    assert presentation.status_label(state) == "Problems detected"


@pytest.mark.django_db
def test_status_sentence_says_reports_are_falling(service):
    started = datetime(2026, 11, 27, 14, 5, tzinfo=UTC)
    outage = outage_make(service, started_at=started, peak_observed=42, peak_expected=2)
    status_make(service, 2, outage=outage, observed=4, expected=2.6)
    state = selectors.service_state_get(service=service)
    assert state.falling
    text = presentation.status_sentence(state, now=started + timedelta(minutes=50))
    assert text.startswith("Reports are falling at Acme Cloud: now about 4 reports a minute")
    assert text.endswith("started at 14:05 UTC may be over.")
    assert presentation.status_label(state) == "Reports falling"


@pytest.mark.django_db
def test_status_sentence_html_wraps_times_and_escapes_names(make_service):
    service = make_service("evil", "<b>Evil</b> & Co")
    started = datetime(2026, 11, 27, 14, 5, tzinfo=UTC)
    outage = outage_make(service, started_at=started)
    status_make(service, 2, outage=outage)
    html = presentation.status_sentence(selectors.service_state_get(service=service), html=True)
    assert "&lt;b&gt;Evil&lt;/b&gt; &amp; Co" in html
    assert '<time datetime="2026-11-27T14:05:00Z" data-local="auto">' in html


@pytest.mark.django_db
def test_no_problems_sentence(service):
    state = selectors.service_state_get(service=service)
    assert presentation.status_sentence(state) == "No current problems at Acme Cloud."
    assert presentation.status_label(state) == "No problems"


# --- Outages: one end time, plain timeline, the technical detail kept apart ----------------


@pytest.fixture
def resolved(service):
    started = datetime(2026, 11, 27, 14, 5, tzinfo=UTC)
    outage = outage_make(
        service,
        started_at=started,
        resolved_at=started + timedelta(minutes=67),
        rule="nb_5m",
        networks=57,
        explanation="Peak 42 reports a minute vs 2.6 expected (opened on rule nb_5m, highest "
        "score 1.00).",
    )
    # The detector confirms the end some quiet minutes after the last busy one.
    OutageEvent.objects.filter(outage=outage, kind=OutageEvent.Kind.RESOLVED).update(
        at=outage.resolved_at + timedelta(minutes=15)
    )
    OutageEvent.objects.filter(outage=outage, kind=OutageEvent.Kind.OPENED).update(
        message="30 reports in the last 5 minutes vs 2.0 expected (p = 4.0e-21, rule nb_5m)."
    )
    return outage


@pytest.mark.django_db
def test_timeline_ends_at_the_outage_end_in_plain_words(resolved):
    entries = presentation.timeline(resolved, resolved.events.all())
    assert [e.label for e in entries] == ["Problems detected", "France affected", "Back to normal"]
    assert entries[0].text == "About 30 reports a minute, where about 2 are normal."
    assert entries[1].text == "About 9 reports a minute from France, where less than 1 is normal."
    assert entries[-1].at == presentation.outage_end(resolved) == resolved.resolved_at
    assert entries[-1].text == "The outage lasted 1 h 7 min."
    for entry in entries:
        assert entry.label not in entry.text
        assert not any(word in entry.text for word in JARGON)


@pytest.mark.django_db
def test_outage_words_have_no_jargon_and_one_end(resolved):
    problems = selectors.outage_problems(resolved)
    now = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
    summary = presentation.outage_summary(resolved, problems, now=now)
    title = presentation.outage_title(resolved, now=now)
    assert title == "Acme Cloud: problems from 14:05 to 15:12 UTC (over)"
    assert summary.startswith("Problems from 14:05 to 15:12 UTC, for 1 h 7 min.")
    assert "At the peak: about 48 reports a minute, where about 2 are normal." in summary
    assert "150 reports in all, from 57 different networks." in summary
    assert "Most reports from Germany and France." in summary
    for text in (summary, title):
        assert not any(word in text for word in JARGON)


@pytest.mark.django_db
@pytest.mark.parametrize("late", [0, 6])
def test_decision_details_date_the_opening_by_its_minute_and_tell_our_own_delay(resolved, late):
    """Chaos tester (forty-third session): after a pause of the detector, the catch-up dated
    the opening minute's counts at the time it judged them ("01:48: 844 reports in the last
    minute" for the minute of 01:42) and said nothing of the delay being ours."""
    minute = resolved.started_at + timedelta(minutes=1)
    said = minute + timedelta(minutes=1 + late, seconds=2)
    OutageEvent.objects.filter(outage=resolved, kind=OutageEvent.Kind.OPENED).update(
        since=minute, at=said
    )
    details = presentation.decision_details(resolved, resolved.events.all())
    opened = next(line for line in details if line.text.startswith("30 reports"))
    assert opened.at == minute + timedelta(minutes=1)
    if late:
        after = details[details.index(opened) + 1]
        assert after.at == said
        assert after.text == (
            "We said so 6 min after that minute: our detector was catching up after a pause, "
            "not waiting for more reports."
        )
    else:
        assert not any("catching up" in line.text for line in details)


@pytest.mark.django_db
def test_decision_details_say_the_window_and_how_unlikely(resolved):
    details = presentation.decision_details(resolved, resolved.events.all())
    lines = " ".join(str(line) for line in details)
    opened = next(line for line in details if line.at is not None)
    assert opened.at == resolved.detected_at
    assert opened.text == (
        "30 reports in the last 5 minutes vs 2.0 expected. "
        "By chance alone: less than one in a trillion."
    )
    assert (
        "It opened on the reports of the last 5 minutes together, compared with this "
        "service's usual ups and downs." in lines
    )
    assert "Highest anomaly score: 1.00 (measured against this service's own history" in lines
    # The rule and the p-value for experts, in one technical line at the end only.
    assert details[-1].text == (
        "Technical details: rule nb_5m (negative binomial, 5-minute window); "
        "at the opening: p = 4.0e-21, rule nb_5m; opened on rule nb_5m, highest score 1.00."
    )
    plain = " ".join(str(line) for line in details[:-1])
    assert "rule" not in plain and "negative binomial" not in plain and "p = " not in plain
    # The lines' own texts name no UTC time: the page shows their times in the reader's zone
    # (pages tester F7: "11:23 (UTC-8): ..." beside "since 19:22 UTC" and "19:23 UTC p = ...").
    assert not any("UTC" in line.text for line in details)


@pytest.mark.django_db
def test_reopened_outage_lull_keeps_its_own_time(service):
    started = datetime(2026, 11, 27, 14, 5, tzinfo=UTC)
    outage = outage_make(service, started_at=started)
    lull = started + timedelta(minutes=30)
    for kind, at in (
        (OutageEvent.Kind.RESOLVED, lull),
        (OutageEvent.Kind.REOPENED, lull + timedelta(minutes=5)),
    ):
        OutageEvent.objects.create(outage=outage, at=at, kind=kind, message="x")
    entries = presentation.timeline(outage, outage.events.all())
    assert [e.label for e in entries][-2:] == ["Seemed over", "Problems again"]
    assert entries[-2].at == lull
    assert presentation.outage_end(outage) is None


@pytest.mark.django_db
def test_a_lull_stays_at_the_end_it_declared_when_the_outage_reopens(service):
    # Lifecycle tester 6: the resolution read "12:56 Back to normal" and, once the outage
    # reopened, "13:11 Seemed over" (when it was confirmed): the entry moved 15 minutes.
    started = datetime(2026, 11, 27, 14, 5, tzinfo=UTC)
    end = started + timedelta(minutes=12)
    confirmed = end + timedelta(minutes=15)
    outage = outage_make(service, started_at=started, resolved_at=end, events=False)
    OutageEvent.objects.create(
        outage=outage, at=confirmed, kind=OutageEvent.Kind.RESOLVED, since=end, message="x"
    )
    [before] = [
        e for e in presentation.timeline(outage, outage.events.all()) if e.kind == "resolved"
    ]
    outage.status, outage.resolved_at = "active", None
    OutageEvent.objects.create(
        outage=outage, at=confirmed + timedelta(minutes=2), kind="reopened", message="x"
    )
    [after] = [
        e for e in presentation.timeline(outage, outage.events.all()) if e.kind == "resolved"
    ]
    assert (before.at, before.label) == (end, "Back to normal")
    assert (after.at, after.label) == (end, "Seemed over")


@pytest.mark.django_db
def test_timeline_of_events_without_numbers_does_not_repeat_its_label(service):
    """Simulated history writes events with no numbers and a message equal to the label:
    the timeline must not read "Problems detected: Problems detected."."""
    started = datetime(2026, 11, 27, 14, 5, tzinfo=UTC)
    outage = outage_make(
        service, started_at=started, resolved_at=started + timedelta(hours=1), events=False
    )
    for kind, at, message in (
        (OutageEvent.Kind.OPENED, started + timedelta(minutes=2), "Problems detected."),
        (OutageEvent.Kind.RESOLVED, started + timedelta(hours=1), "Back to normal."),
    ):
        OutageEvent.objects.create(outage=outage, at=at, kind=kind, message=message)
    entries = presentation.timeline(outage, outage.events.all())
    assert [(e.label, e.text) for e in entries] == [
        ("Problems detected", ""),
        ("Back to normal", "The outage lasted 1 h."),
    ]


@pytest.mark.django_db
def test_outage_summary_for_pages_puts_its_times_in_time_elements(resolved, make_service):
    html = presentation.outage_summary(resolved, html=True, date=False)
    assert html.startswith(
        'Problems from <time datetime="2026-11-27T14:05:00Z" data-local="no">14:05 UTC</time>'
        ' to <time datetime="2026-11-27T15:12:00Z" data-local="no">15:12 UTC</time>, for 1 h 7 min.'
    )
    evil = outage_make(make_service("evil", "<b>x</b>"), countries=("DE",))
    evil.countries = ["<i>"]
    assert "<i>" not in presentation.outage_summary(evil, html=True)


@pytest.mark.django_db
def test_status_api_says_reports_are_falling(api_client, service):
    outage = outage_make(service, peak_observed=42, peak_expected=2)
    status_make(service, 2, outage=outage, observed=3, expected=2.2)
    status = api_client.get("/api/v1/services/acme/").json()["status"]
    assert status["reports_falling"] is True
    assert status["label"] == "Reports falling"
    assert status["summary"].startswith("Reports are falling at Acme Cloud: now about 3 reports")
    assert status["summary"].endswith("may be over.")
    board = api_client.get("/api/v1/status/").json()["results"][0]
    assert board["summary"] == status["summary"]


# --- The year, when it is not this year (F9) -------------------------------------------------


def test_time_text_names_the_year_of_a_date_from_another_year():
    last_year = datetime(2025, 10, 29, 18, 47, tzinfo=UTC)
    assert presentation.time_text(last_year, now=NOW) == "29 Oct 2025, 18:47 UTC"
    assert presentation.time_text(last_year, now=NOW, date=True) == "29 Oct 2025, 18:47 UTC"
    # This year's dates stay short.
    assert presentation.time_text(datetime(2026, 10, 29, 18, 47, tzinfo=UTC), now=NOW) == (
        "29 Oct 18:47 UTC"
    )


def test_time_in_zone_takes_the_year_in_the_readers_zone():
    new_year = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)
    eve = datetime(2025, 12, 31, 23, 30, tzinfo=UTC)  # already 2026 in Berlin
    assert presentation.time_in_zone(eve, "Europe/Berlin", now=new_year) == "1 Jan 00:30 (UTC+1)"
    assert presentation.time_in_zone(eve, "UTC", now=new_year) == "31 Dec 2025, 23:30 UTC"


def test_time_without_now_reads_the_pinned_clock(monkeypatch):
    from django.utils import timezone

    monkeypatch.setattr(timezone, "now", lambda: NOW)
    html = str(presentation.time_html(datetime(2025, 10, 29, 18, 47, tzinfo=UTC), date=True))
    assert ">29 Oct 2025, 18:47 UTC</time>" in html


@pytest.mark.django_db
def test_outage_title_of_last_year_has_the_year(service):
    started = datetime(2025, 10, 29, 18, 47, tzinfo=UTC)
    outage = outage_make(service, started_at=started, resolved_at=started + timedelta(minutes=119))
    title = presentation.outage_title(outage, now=NOW, date=True)
    assert title == "Acme Cloud: problems from 29 Oct 2025, 18:47 to 20:46 UTC (over)"


def test_about_rounds_halves_up():
    # round() rounds halves to even: 2.5 read "about 2" and 3.5 "about 4".
    assert [presentation.about(v) for v in (0.2, 1.5, 2.5, 3.5)] == [
        "less than 1",
        "about 2",
        "about 3",
        "about 4",
    ]


@pytest.mark.django_db
def test_detector_notes_name_countries_and_problems(service):
    outage = outage_make(
        service,
        rule="poisson_1m",
        explanation="150 counted reports. Most reports from FR 58%, DE 41%. Top problems: "
        "login (120), app (30).",
    )
    OutageEvent.objects.create(
        outage=outage,
        at=outage.detected_at,
        kind=OutageEvent.Kind.COUNTRY,
        country="FR",
        # As the tick writes a country's note: its code first (the line names it already).
        message="FR: 22 reports in the last minute vs 0.1 expected, from at least 21 distinct "
        "networks (p = 2.4e-46, rule poisson_1m).",
    )
    problems = selectors.outage_problems(outage)
    lines = [
        str(line) for line in presentation.decision_details(outage, outage.events.all(), problems)
    ]
    assert any(
        line.endswith(
            "France: 22 reports in the last minute vs 0.1 expected, from at least 21 distinct "
            "networks. By chance alone: less than one in a trillion."
        )
        for line in lines
    )
    summary = next(line for line in lines if line.startswith("Detector summary"))
    assert summary == (
        "Detector summary: 150 counted reports. Most reports from France 58%, Germany 41%. "
        "Top problems: Login (120), App (30)."
    )
    assert " :" not in " ".join(lines)
    assert "FR:" not in " ".join(lines)


@pytest.mark.django_db
def test_cold_start_outage_claims_no_normal_and_no_history(service):
    outage = outage_make(service, rule="poisson_1m", peak_observed=40, peak_expected=3.2)
    OutageEvent.objects.filter(outage=outage, kind=OutageEvent.Kind.OPENED).update(
        message="40 reports in the last minute vs 3.2 expected, from at least 36 different "
        "networks (p = 1.0e-20, rule poisson_1m)."
    )
    summary = presentation.outage_summary(outage, period=False, cold=True)
    assert "At the peak: about 40 reports a minute. Acme Cloud has almost no reports normally" in (
        summary
    )
    assert "normal." not in summary.replace("normally", "") and "about 3" not in summary
    lines = " ".join(
        str(line) for line in presentation.decision_details(outage, outage.events.all(), cold=True)
    )
    assert "Acme Cloud has almost no reports normally" in lines
    assert "own history" not in lines and "3.2 expected" not in lines
    assert "40 reports in the last minute, from at least 36 different networks." in lines


def test_peak_beside_its_normal_reads_naturally():
    assert presentation.normally(0.4) == "normally under 1"
    assert presentation.normally(2.6) == "normally about 3"
    assert presentation.normally(2.6, cold=True) == "normally almost none"
