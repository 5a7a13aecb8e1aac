"""The API's `decision` is the outage page's "How we decided", word for word: problem names,
not slugs, and a new service's account, not a normal nobody observed (tester, fortieth
session: the API said "Top problems: responses (39)" where the page said "AI responses")."""

from __future__ import annotations

from datetime import timedelta

import pytest

from detection.models import Outage
from outagewatch.rounding import figure_text
from tests.detection.status_data import baseline_store, cold_baseline, flat_baseline, outage_make

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("midday")]

SUMMARY = "40 counted reports from 3 networks since 12:00 UTC. Top problems: login (39), app (1)."


def _decision(api_client, outage: Outage) -> list[str]:
    return api_client.get(f"/api/v1/outages/{outage.pk}/").json()["decision"]


def test_the_api_names_the_problems_as_the_page_does(api_client, client, service):
    baseline_store(service, flat_baseline())
    outage = outage_make(service, explanation=SUMMARY)
    decision = _decision(api_client, outage)
    # No UTC span beside lines in the reader's zone on the page (pages tester F7).
    assert decision[-2].startswith("Detector summary: 40 counted reports from 3 networks. Top ")
    assert decision[-2].endswith("Top problems: Login (39), App (1).")
    page = client.get(f"/outages/{outage.pk}/").content.decode()
    assert "Top problems: Login (39), App (1)." in page


def test_the_api_tells_a_cold_start_as_the_page_does(api_client, service):
    baseline_store(service, cold_baseline())
    outage = outage_make(service, explanation=SUMMARY)
    decision = " ".join(_decision(api_client, outage))
    assert "what a new service typically sees" in decision
    assert "with no history here yet" in decision


@pytest.mark.parametrize(
    ("number", "text"),
    [(3.21, "3.2"), (12.0, "12.0"), (0.0458, "0.046"), (0.712, "0.71"), (0.0000123, "0.000012")],
)
def test_a_figure_in_a_sentence_is_never_0_0_for_a_small_normal(number, text):
    assert figure_text(number) == text


def test_the_api_dates_every_timed_line(api_client, service, midday):
    # "12:42 UTC: Problems detected." read a week later said no day, and an outage across
    # midnight read out of order (cross-surface tester, forty-seventh session).
    baseline_store(service, flat_baseline())
    outage = outage_make(service, started_at=midday.replace(second=0) - timedelta(days=6))
    timed = [line for line in _decision(api_client, outage) if " UTC: " in line]
    assert timed
    assert all(line.startswith("19 Nov ") for line in timed), timed
