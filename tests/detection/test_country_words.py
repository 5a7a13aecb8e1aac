"""Countries inside sentences take "the" where English wants it, lists read "A, B and C", and
an empty minute is "no reports", not "no reports a minute" (explain tester F3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alerts import presentation as alert_words
from detection import presentation
from detection.models import OutageEvent
from detection.selectors import Series, SeriesPoint
from tests.detection.status_data import outage_make

pytestmark = pytest.mark.django_db

AT = datetime(2026, 11, 25, 11, 50, tzinfo=UTC)


@pytest.mark.parametrize(
    ("codes", "where"),
    [
        (["US"], "in the United States"),
        (["DE", "FR"], "in Germany and France"),
        (["DE", "FR", "GB", "ES", "IT"], "in Germany, France, the United Kingdom and 2 more"),
    ],
)
def test_a_headline_names_its_countries_as_a_sentence_does(service, codes, where):
    outage = outage_make(service, started_at=AT)
    title = alert_words.title(kind="opened", outage=outage, codes=codes, now=AT)
    assert title == f"Acme Cloud: problems detected {where} since 11:50 UTC"


def test_a_timeline_entry_is_from_the_united_states(service):
    outage = outage_make(service, started_at=AT, events=False)
    event = OutageEvent.objects.create(
        outage=outage,
        at=AT,
        kind=OutageEvent.Kind.COUNTRY,
        country="US",
        observed=51,
        expected=0.4,
    )
    (entry,) = presentation.timeline(outage, [event])
    assert (
        entry.text
        == "About 51 reports a minute from the United States, where less than 1 is normal."
    )


def test_the_detectors_country_shares_read_as_a_sentence(service):
    outage = outage_make(
        service, started_at=AT, explanation="Most reports from US 61%, FR 32%.", events=False
    )
    lines = [str(line) for line in presentation.decision_details(outage, [])]
    assert "Detector summary: Most reports from the United States 61%, France 32%." in lines


def test_totals_group_their_thousands(service):
    outage = outage_make(service, started_at=AT, total_reports=2870, networks=1234, events=False)
    assert presentation.outage_totals(outage) == (
        "2,870 reports so far, from 1,234 different networks."
    )


def test_a_chart_caption_says_no_reports_without_a_unit(service):
    points = [
        SeriesPoint(
            at=AT + timedelta(minutes=k),
            minutes=1,
            complete=True,
            observed=n,
            expected=0.4,
            lower=0.0,
            upper=2.0,
        )
        for k, n in enumerate([12, 0])
    ]
    series = Series(
        service=service,
        country="",
        step_minutes=1,
        start=AT,
        end=AT + timedelta(minutes=2),
        baseline_method="seasonal",
        points=points,
    )
    caption = str(presentation.series_caption(series))
    assert "Highest: 12 reports a minute at" in caption
    assert "Newest: no reports at" in caption and "no reports a minute" not in caption
