"""The "most reported problems" card says its span: the current outage, or the last 24 hours."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.detection.status_data import (
    buckets_make,
    minute_now,
    outage_make,
    problem_sites_admit,
    status_make,
)

pytestmark = pytest.mark.django_db


def _problems_card(html: str) -> str:
    start = html.index('id="problems"')
    return html[start : html.index("</section>", start)]


def test_without_an_outage_the_last_24_hours_are_shown_and_said(client, make_service):
    service = make_service("acme", "Acme Cloud")
    now = minute_now()
    buckets_make(service, {now - timedelta(hours=3): 10}, problems={"website": 1.0})
    problem_sites_admit(service, "website", now - timedelta(hours=3))
    card = _problems_card(client.get("/services/acme/").content.decode())
    assert "Most reported problems, last 24 hours" in card
    assert "Website" in card
    assert "Only problems reported from 5 networks or more; the shares are of those." in card


def _problems_cards(client) -> list[str]:
    """The card as the page renders it, and as its live.json refresh does."""
    page = _problems_card(client.get("/services/acme/").content.decode())
    return [page, client.get("/services/acme/live.json").json()["regions"]["problems"]]


def test_a_problem_from_fewer_sites_than_the_bar_is_not_shown_and_the_card_says_why(
    client, make_service
):
    service = make_service("acme", "Acme Cloud")
    now = minute_now()
    # Counted reports, but no sites recorded for them: one host's, say.
    buckets_make(service, {now - timedelta(hours=3): 10}, problems={"website": 1.0})
    for card in _problems_cards(client):
        assert "Website" not in card
        assert "No problem reported from 5 networks or more in the last 24 hours." in card
        assert "No problems reported" not in card


def test_without_reports_in_the_last_24_hours_the_card_says_none_were_reported(
    client, make_service
):
    """Not "no problem reported from 5 networks or more", which read as if some were."""
    service = make_service("acme", "Acme Cloud")
    now = minute_now()
    # Yesterday's reports are not the last 24 hours'.
    buckets_make(service, {now - timedelta(hours=30): 10}, problems={"website": 1.0})
    problem_sites_admit(service, "website", now - timedelta(hours=30))
    for card in _problems_cards(client):
        assert "No problems reported in the last 24 hours." in card
        assert "networks or more" not in card
        assert "Website" not in card


def test_during_an_outage_its_problems_are_shown_and_said(client, make_service):
    service = make_service("acme", "Acme Cloud")
    now = minute_now()
    # Yesterday's chatter was about the website; the outage is about logging in.
    buckets_make(service, {now - timedelta(hours=20): 50}, problems={"website": 1.0})
    outage = outage_make(service, started_at=now - timedelta(minutes=20))
    status_make(service, 2, outage=outage, since=outage.started_at)
    card = _problems_card(client.get("/services/acme/").content.decode())
    assert "Most reported problems in the current outage" in card
    assert "Login" in card and "80%" in card
    assert "Website" not in card
