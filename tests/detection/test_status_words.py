"""The status sentence and country table say what the stored verdict knows: a drop before the
"reports falling" verdict, why a verdict is only "possible", a relapse's own time and
countries, and no "7× normal" for one report (findings F23, F25, F26); the home board says
its words of why (words tester F10)."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import timedelta

import pytest
from django.template.loader import render_to_string

from detection import live, presentation, selectors
from detection.cache import data_version_bump
from detection.models import OutageEvent, SeriesState
from tests.detection.status_data import (
    baseline_store,
    buckets_make,
    flat_baseline,
    outage_make,
    status_make,
)

pytestmark = pytest.mark.django_db


def minute(at):
    return at.replace(second=0, microsecond=0)


def sentence(service, now) -> str:
    return presentation.status_sentence(selectors.service_state_get(service=service), now=now)


# --- F23: reports dropped while still "Problems detected" -----------------------------------


def test_a_drop_before_the_falling_verdict_quotes_the_peak_not_a_below_normal_rate(service, midday):
    # Reports stopped 2 minutes into the outage: too soon for the falling verdict.
    baseline_store(service, flat_baseline(1.5))  # a service with history: its normal is known
    outage = outage_make(
        service, started_at=minute(midday) - timedelta(minutes=3), peak_observed=37.0
    )
    outage.peak_expected = 1.5
    outage.save(update_fields=["peak_expected"])
    status_make(service, 2, outage=outage, observed=1.0, expected=1.81)
    state = selectors.service_state_get(service=service)
    assert not state.falling
    text = presentation.status_sentence(state, now=midday)
    assert "Now about 1 report a minute" not in text
    assert "Reports have dropped in the last minutes; we are confirming whether it is over." in text
    assert "At the peak: about 37 reports a minute, where about 2 are normal." in text
    assert presentation.status_label(state) == "Problems detected"


def test_an_outage_still_high_gives_its_rate(service, midday):
    baseline_store(service, flat_baseline(1.5))
    outage = outage_make(service, started_at=minute(midday) - timedelta(minutes=3))
    status_make(service, 2, outage=outage, observed=34.0, expected=1.5)
    assert "Now about 34 reports a minute, where about 2 are normal." in sentence(service, midday)


def test_falling_back_to_normal_reads_as_normal_levels(service, midday):
    baseline_store(service, flat_baseline(1.8))  # a cold start's is not "normal"
    outage = outage_make(service, started_at=minute(midday) - timedelta(minutes=40))
    status_make(service, 2, outage=outage, observed=2.0, expected=1.8)
    text = sentence(service, midday)
    assert text.startswith("Reports at Acme Cloud are back to normal levels: about 2 reports a")
    assert "where about 2 are normal" not in text


def test_falling_to_no_reports_reads_naturally(service, midday):
    baseline_store(service, flat_baseline(1.8))  # a cold start's is not "normal"
    outage = outage_make(service, started_at=minute(midday) - timedelta(minutes=40))
    status_make(service, 2, outage=outage, observed=0.0, expected=1.8)
    text = sentence(service, midday)
    assert "no reports a minute" not in text.lower()
    assert "back to normal levels: none in the last minute." in text


# --- F26: why only "possible" ----------------------------------------------------------------


def possible(service, midday, *, level: int, rule: str, held: bool = False) -> str:
    status_make(service, 1, observed=46.0, expected=2.0, countries=("FR",))
    SeriesState.objects.create(
        service=service,
        country="FR",
        minute=minute(midday),
        state=1,
        level=level,
        rule=rule,
        held=held,
    )
    return sentence(service, midday)


def test_possible_after_an_outage_says_fresh_evidence_is_needed(service, midday):
    # Scored "problems" but held at "possible" by the state machine: an outage just ended.
    text = possible(service, midday, level=2, rule="nb_60m")
    assert "only possible because an outage here has just ended" in text


def test_possible_on_one_minute_says_it_waits_for_a_second(service, midday):
    text = possible(service, midday, level=1, rule="poisson_1m")
    assert "the jump is in a single minute so far" in text
    assert "another minute or comes from more networks" in text


def test_possible_held_by_the_threshold_an_outage_raised_says_so(service, midday):
    # A relapse held at "possible" by the series' own threshold, which the outage that ended
    # 10 minutes ago raised: not "a single minute so far" (documentation tester, forty-eighth
    # session).
    outage = outage_make(service, resolved_at=minute(midday) - timedelta(minutes=25))
    OutageEvent.objects.create(
        outage=outage, at=minute(midday) - timedelta(minutes=10), kind=OutageEvent.Kind.RESOLVED
    )
    text = possible(service, midday, level=1, rule="poisson_1m", held=True)
    assert "an outage here has just ended, which raised the bar for calling another" in text
    assert "hold for a few minutes or climb higher" in text
    assert "single minute" not in text


def test_possible_held_by_the_threshold_long_after_an_outage_cites_its_bursts(service, midday):
    # Past the reopen window (30 minutes) the outage is history like any other burst.
    outage = outage_make(service, resolved_at=minute(midday) - timedelta(minutes=55))
    OutageEvent.objects.create(
        outage=outage, at=minute(midday) - timedelta(minutes=40), kind=OutageEvent.Kind.RESOLVED
    )
    text = possible(service, midday, level=1, rule="poisson_1m", held=True)
    assert "reports here have jumped this far before" in text
    assert "just ended" not in text and "single minute" not in text


def test_possible_for_another_reason_promises_no_confirming_minute(service, midday):
    # "We need at least one more minute like this to confirm it" read on for four minutes
    # like it: an outage opens on the first minute that clears the bar (words tester F4).
    text = possible(service, midday, level=1, rule="nb_5m")
    assert "not yet far enough above it to call an outage" in text
    assert "one more minute" not in text


def test_possible_held_after_its_minute_says_the_reports_did_not_go_on(service, midday):
    # One minute of 5 reports, none since: "one more minute like this" read as "another empty
    # minute would confirm it" (explain tester F4).
    status_make(service, 1, observed=0.0, expected=0.4, countries=("GB",))
    text = sentence(service, midday)
    assert "Now no reports in the last minute" in text
    assert "the reports that raised it have not gone on" in text
    assert "one more minute like this" not in text


def test_countries_that_take_the_read_naturally(service, midday):
    status_make(service, 1, countries=("GB", "NL", "DE"))
    assert "Most reports come from the United Kingdom, the Netherlands and Germany." in (
        sentence(service, midday)
    )
    outage = outage_make(service, countries=("GB",))
    assert "Most reports from the United Kingdom." in presentation.outage_summary(outage)


# --- F25: a relapse, and the country table's floors ---------------------------------------


@pytest.fixture
def relapse(service, midday):
    """Outage from 09:46 in Germany and France, resolved, back at 11:58 from France only."""
    start = minute(midday) - timedelta(hours=2, minutes=14)
    outage = outage_make(service, started_at=start, countries=("FR", "DE"))
    back = minute(midday) - timedelta(minutes=2)
    OutageEvent.objects.create(
        outage=outage, at=back - timedelta(minutes=3), kind=OutageEvent.Kind.RESOLVED
    )
    OutageEvent.objects.create(outage=outage, at=back, kind=OutageEvent.Kind.REOPENED)
    OutageEvent.objects.create(
        outage=outage, at=back, kind=OutageEvent.Kind.COUNTRY, country="FR", observed=45
    )
    status_make(service, 2, outage=outage, countries=("FR", "DE"), observed=46.0)
    return outage


def test_a_relapse_says_again_since_its_reopening_and_names_its_countries(service, relapse, midday):
    text = sentence(service, midday)
    assert text.startswith("User reports indicate problems at Acme Cloud again since 11:58 UTC.")
    assert "Most reports come from France." in text
    assert "Germany" not in text


def test_a_country_of_an_earlier_episode_is_normal_in_a_relapse(service, relapse, midday):
    now = minute(midday)
    buckets_make(service, {now - timedelta(minutes=1): 1}, country="DE")
    buckets_make(service, {now - timedelta(minutes=1): 45}, country="FR")
    SeriesState.objects.create(
        service=service, country="DE", minute=now, level=0, observed=1, expected=0.14
    )
    SeriesState.objects.create(
        service=service, country="FR", minute=now, state=2, level=2, observed=45, expected=0.5
    )
    state = selectors.service_state_get(service=service)
    rows = {row.country: row for row in live.country_rows(service=service, state=state)}
    assert (rows["DE"].level, rows["DE"].excess) == ("ok", None)
    assert rows["FR"].level == "problems"


def test_a_country_with_one_report_shows_no_multiple_of_normal(service, midday):
    now = minute(midday)
    buckets_make(service, {now - timedelta(minutes=1): 1}, country="DE")
    status_make(service, 1, countries=("DE",))
    SeriesState.objects.create(
        service=service, country="DE", minute=now, state=1, level=1, observed=1, expected=0.14
    )
    state = selectors.service_state_get(service=service)
    (row,) = live.country_rows(service=service, state=state)
    assert row.excess is None  # not "7× normal" for one report


def test_the_home_board_says_again_since_for_a_relapse(client, relapse):
    page = client.get("/").content.decode()
    board = page[page.index("data-board-service") :]
    assert "Again since" in board[: board.index("</a>")]


def test_a_relapse_is_again_since_its_onset_on_every_surface(client, service, relapse, midday):
    """Detected at 11:58:00 to the microsecond, the relapse began at 11:56: its emails said
    11:56, the status API and the pages the detection time (API tester F18)."""
    onset = minute(midday) - timedelta(minutes=4)
    OutageEvent.objects.filter(outage=relapse, kind=OutageEvent.Kind.REOPENED).update(
        since=onset, at=minute(midday) - timedelta(minutes=2, microseconds=-84549)
    )
    assert sentence(service, midday).startswith(
        "User reports indicate problems at Acme Cloud again since 11:56 UTC."
    )
    (entry,) = client.get("/api/v1/status/").json()["results"]
    assert entry["since"] == "2026-11-25T11:56:00Z"


def test_a_country_far_above_a_fraction_of_a_report_says_its_rate_not_a_multiple(
    client, service, midday
):
    # "510× normal" beside "about 18 a minute, where less than 1 is normal" elsewhere on the
    # page: a ratio to 0.035 a minute jumps by hundreds from minute to minute and reads as a
    # headline (pages tester F11). A normal of a few a minute keeps its multiple.
    baseline_store(service, flat_baseline(2.0))  # with history: a normal to quote
    now = minute(midday)
    buckets_make(service, {now - timedelta(minutes=1): 18}, country="FR")
    buckets_make(service, {now - timedelta(minutes=1): 40}, country="DE")
    status_make(service, 2, countries=("FR", "DE"))
    for code, observed, expected in (("FR", 18, 0.035), ("DE", 40, 4.0)):
        SeriesState.objects.create(
            service=service,
            country=code,
            minute=now,
            state=2,
            level=2,
            observed=observed,
            expected=expected,
        )
    state = selectors.service_state_get(service=service)
    rows = {row.country: row for row in live.country_rows(service=service, state=state)}
    assert rows["FR"].excess_text == "about 18 a minute, normally under 1"
    assert rows["DE"].excess_text == "10× normal"
    page = client.get("/services/acme/").content.decode()
    assert '<span class="muted">about 18 a minute, normally under 1</span>' in page
    assert "514× normal" not in page


def test_a_relapsed_outage_s_page_says_it_came_back(client, service, relapse, midday):
    # Its page said "Ongoing. Started 09:46." while it had stopped and come back (pages tester
    # F21); a first run says nothing of the kind.
    page = client.get(f"/outages/{relapse.pk}/").content.decode()
    when = page[page.index('data-live="outage-when"') :]
    when = re.sub(r"<[^>]+>", "", when[: when.index("</p>")])
    assert "It stopped and came back: problems again since 11:58 UTC." in when
    start = minute(midday) - timedelta(days=2)
    other = outage_make(service, started_at=start, resolved_at=start + timedelta(hours=1))
    assert "came back" not in client.get(f"/outages/{other.pk}/").content.decode()


def test_a_country_of_an_open_outage_still_elevated_has_its_problems(service, midday):
    # "Possible problems" at 5x normal beside "Problems detected" naming that country: the
    # row took the country series' own level (words tester F5). One back at normal stays
    # "possible" (listed, but not elevated now).
    now = minute(midday)
    buckets_make(service, {now - timedelta(minutes=1): 20}, country="US")
    buckets_make(service, {now - timedelta(minutes=1): 2}, country="DE")
    status_make(service, 2, countries=("US", "DE"), outage=outage_make(service))
    for code, level, observed in (("US", 1, 20), ("DE", 0, 2)):
        SeriesState.objects.create(
            service=service,
            country=code,
            minute=now,
            state=level,
            level=level,
            observed=observed,
            expected=4.0 if code == "US" else 2.0,
        )
    state = selectors.service_state_get(service=service)
    rows = {row.country: row for row in live.country_rows(service=service, state=state)}
    assert rows["US"].level == "problems"
    assert rows["DE"].level == "possible"


def test_possible_problems_name_the_most_reporting_country_first(service, midday):
    # "Most reports come from Germany and the United States" for a rise two thirds American:
    # without an outage the countries came in alphabetical order (words tester F3).
    from types import SimpleNamespace

    import numpy as np

    from detection.models import ServiceStatus
    from detection.services.outages import TickView, statuses_save

    keys = [(service.id, ""), (service.id, "DE"), (service.id, "US")]
    result = SimpleNamespace(
        transition=SimpleNamespace(state=SimpleNamespace(state=np.array([1, 1, 1]))),
        scores=SimpleNamespace(score=np.array([0.4, 0.3, 0.4]), rule=np.array(["nb_5m"] * 3)),
        normal=np.array([4.0, 1.0, 3.0]),
    )
    at = minute(midday)
    view = TickView(keys=keys, result=result, observed=np.array([9.0, 3.0, 6.0]), minute=at, now=at)
    statuses_save(view=view)
    assert ServiceStatus.objects.get(service=service).countries == ["US", "DE"]


def test_a_relapse_that_holds_the_outages_peak_quotes_its_normal(service, relapse, midday):
    # The card quoted the relapse's peak "where about 3 are normal" (its newest minutes'
    # normal) and, in its outage box, the same minute "where about 4 are normal" (words
    # tester F2): a relapse higher than the first run holds the outage's peak.
    baseline_store(service, flat_baseline(3.0))
    at = minute(midday) - timedelta(minutes=1)
    buckets_make(service, {at: 93})
    relapse.peak_observed, relapse.peak_expected, relapse.peak_at = 93.0, 3.56, at
    relapse.save()
    state = selectors.service_state_get(service=service)
    assert (state.peak_observed, state.peak_expected) == (93.0, 3.56)


# --- Words tester F10: the home board says why ----------------------------------------------


def board_why(page: str, slug: str) -> str:
    """The words of why on a service's row of the home board, as a reader sees them."""
    row = page[page.index(f'data-board-service="{slug}"') :]
    row = row[: row.index("</a>")]
    match = re.search(r"data-board-why>([^<]*)</span>", row)
    assert match is not None, row
    return html.unescape(match.group(1))


def test_the_home_board_says_why_in_the_status_sentence_s_words(client, service, midday):
    # "Possible problems · Since 11:40 UTC · France" with no words of why, while the status
    # API and the service page said them.
    baseline_store(service, flat_baseline(2.0))  # with history: a normal to quote
    full = possible(service, midday, level=1, rule="poisson_1m")
    why = board_why(client.get("/").content.decode(), "acme")
    assert why == (
        "Now about 46 reports a minute, where about 2 are normal. It is only possible because "
        "the jump is in a single minute so far: we call it an outage once it holds for "
        "another minute or comes from more networks."
    )
    # The same words as the status API's and the service page's sentence, less what the row
    # shows beside them (the verdict, since when, the countries).
    assert full.endswith(f". {why} Most reports come from France.")
    (entry,) = client.get("/api/v1/status/").json()["results"]
    assert entry["summary"] == full
    assert board_why(client.get("/live.json").json()["regions"]["board"], "acme") == why


def test_the_board_s_why_changes_with_its_row_not_later(client, service, midday):
    baseline_store(service, flat_baseline(2.0))
    possible(service, midday, level=1, rule="poisson_1m")
    client.get("/")  # cached for this data version
    status_make(service, 2, observed=60.0, expected=2.0, countries=("FR",))
    data_version_bump()  # as the tick that wrote it does
    page = client.get("/").content.decode()
    row = page[page.index('data-board-service="acme"') :]
    assert "data-status-badge>Problems detected<" in row[: row.index("</a>")]
    assert board_why(page, "acme") == "Now about 60 reports a minute, where about 2 are normal."


def test_the_board_s_why_is_escaped(service, midday):
    # Of the board's words, only "reports falling" names the service.
    service.name = "<img src=x onerror=alert(1)> & Co"
    status_make(service, 2, observed=2.0, expected=2.0, countries=("FR",))
    state = replace(selectors.service_state_get(service=service), falling=True)
    board = render_to_string("detection/_home_board.html", {"board": [(state, None)]})
    assert "<img" not in board
    assert board_why(board, "acme") == (
        "Reports at <img src=x onerror=alert(1)> & Co have calmed down: about 2 reports a "
        "minute. The problems may be over."
    )
