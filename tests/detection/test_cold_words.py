"""A service with no history yet has no "normal" on any surface (explain tester F2): the
outage page said "almost none normally (no history here yet)" while its timeline, the API's
explanation, the feed, the status sentence and the emails said "where less than 1 is
normal", a guess for a new service that nobody observed."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts import channels, tokens
from alerts import presentation as alert_words
from alerts import services as alert_services
from alerts.models import AlertDelivery, Subscription
from detection import presentation, selectors
from detection.models import Outage, OutageEvent, SeriesBaseline, SeriesState
from tests.detection.status_data import (
    baseline_store,
    buckets_make,
    cold_baseline,
    country_state_make,
    flat_baseline,
    outage_make,
    status_make,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("midday")]

# A number called normal ("where less than 1 is normal", "where about 3 are normal").
NORMAL = re.compile(r"where (?:about \d+|less than 1)(?: a minute)? (?:is|are) normal")


def _cold_outage(service, midday):
    start = midday.replace(second=0, microsecond=0) - timedelta(minutes=6)
    outage = outage_make(
        service, started_at=start, countries=("DE",), peak_observed=15.0, peak_expected=0.4
    )
    OutageEvent.objects.create(
        outage=outage,
        at=start + timedelta(minutes=1),
        kind=OutageEvent.Kind.COUNTRY,
        country="DE",
        observed=8,
        expected=0.3,
    )
    status_make(service, 2, outage=outage, countries=("DE",), observed=15, expected=0.4)
    return outage


def _texts(api_client, client, service, outage) -> dict[str, str]:
    detail = api_client.get(f"/api/v1/outages/{outage.pk}/").json()
    feed = client.get(f"/services/{service.slug}/outages/feed/").content.decode()
    state = selectors.service_state_get(service=service)
    return {
        "api explanation": detail["explanation"],
        "api timeline": " ".join(entry["text"] for entry in detail["timeline"]),
        "feed": feed,
        "status": presentation.status_sentence(state),
        "page": client.get(f"/outages/{outage.pk}/").content.decode(),
        "service page": client.get(f"/services/{service.slug}/").content.decode(),
        "alert": alert_words.summary(kind="opened", outage=outage, now=outage.started_at),
        "webhook": json.dumps(channels.webhook.payload(_notice(outage))),
    }


def _notice(outage):
    follower = Subscription.objects.create(
        email="ann@example.com", service=outage.service, confirmed_at=timezone.now()
    )
    delivery = AlertDelivery.objects.create(
        subscription=follower, outage=outage, kind=AlertDelivery.Kind.OPENED
    )
    return alert_words.notice_build(delivery=delivery, now=outage.started_at)


def test_a_cold_start_claims_no_normal_anywhere(api_client, client, service, midday):
    baseline_store(service, cold_baseline())
    outage = _cold_outage(service, midday)
    for surface, text in _texts(api_client, client, service, outage).items():
        assert not NORMAL.search(text), (surface, NORMAL.search(text).group(0), text[:400])
    assert "has almost no reports normally" in alert_words.peak_sentence(outage, cold=True)
    # The history tables say so beside the peak too.
    for path in (f"/services/{service.slug}/", f"/outages/?service={service.slug}"):
        page = client.get(path).content.decode()
        assert "normally almost none" in page and "normally under 1" not in page, path


def test_a_service_with_history_keeps_its_normal(api_client, client, service, midday):
    baseline_store(service, flat_baseline(0.4))
    outage = _cold_outage(service, midday)
    texts = _texts(api_client, client, service, outage)
    for surface in ("api explanation", "api timeline", "feed", "status", "alert", "webhook"):
        assert NORMAL.search(texts[surface]), surface


def _service_page_parts(client, service) -> tuple[str, str, str]:
    page = client.get(f"/services/{service.slug}/").content.decode()
    tile = page[page.index("Normal now, per minute") :]
    tile = tile[: tile.index("</dd>")]
    chart = page[page.index('id="chart"') :]
    chart = chart[: chart.index("The last 24 hours")]
    countries = page[page.index('id="countries"') :]
    countries = countries[: countries.index("</table>")]
    return tile, chart, countries


def test_a_cold_service_page_names_no_normal_in_its_tile_chart_and_countries(
    client, service, midday
):
    # The tile said "Normal now, per minute: less than 1" and the country table "20× normal"
    # beside "no history here yet" (regression tester F2, forty-fourth session).
    baseline_store(service, cold_baseline())
    outage = _cold_outage(service, midday)
    country_state_make(service, "DE", 2)
    SeriesState.objects.filter(service=service, country="DE").update(observed=20, expected=1.0)
    buckets_make(service, {outage.started_at + timedelta(minutes=1): 20}, country="DE")
    tile, chart, countries = _service_page_parts(client, service)
    assert "not known yet" in tile
    assert "against what is normal" not in chart and "Not enough history yet" in chart
    assert "Normal range" not in chart and "Expected of a new service" in chart
    assert "about 20 a minute" in countries and "normal" not in countries.split("Now")[-1]


def test_a_service_with_history_shows_its_normal_in_its_tile_chart_and_countries(
    client, service, midday
):
    baseline_store(service, flat_baseline(1.0))
    outage = _cold_outage(service, midday)
    country_state_make(service, "DE", 2)
    SeriesState.objects.filter(service=service, country="DE").update(observed=20, expected=1.0)
    buckets_make(service, {outage.started_at + timedelta(minutes=1): 20}, country="DE")
    tile, chart, countries = _service_page_parts(client, service)
    assert "not known yet" not in tile
    assert "against what is normal" in chart and "Not enough history yet" not in chart
    assert "Normal range" in chart
    assert "20× normal" in countries


def test_an_outage_judged_on_a_cold_start_keeps_its_words_once_the_service_has_history(
    api_client, client, service, midday
):
    # Read from the service's baseline now, a past outage gained "where less than 1 is
    # normal" once the baseline was fitted, against the alerts sent about it (cross-surface
    # tester, forty-seventh session). The status and the service page are about now.
    baseline_store(service, flat_baseline(0.4))
    outage = _cold_outage(service, midday)
    outage.judged_cold = True
    outage.save()
    texts = _texts(api_client, client, service, outage)
    for surface in ("api explanation", "api timeline", "feed", "alert", "webhook"):
        assert not NORMAL.search(texts[surface]), (surface, NORMAL.search(texts[surface]))
    # The page's status line is about now, its account of the outage about then.
    assert "<dd>almost none (no history yet)</dd>" in texts["page"]
    # So is the service page's status card, and the page confirming a subscription while it
    # goes on (regression tester, forty-seventh session: both quoted the guess as a normal).
    card = texts["service page"]
    card = card[card.index("data-status-outage") :]
    assert not NORMAL.search(card[: card.index("</p>")]), card[:400]
    asked = alert_services.subscription_request(
        email="bo@example.com", service=service, countries=[]
    )
    confirmation = asked.subscription.confirmations.latest("created_at")
    token = tokens.confirm_token_make(confirmation=confirmation)
    confirmed = client.post(f"/subscriptions/confirm/{token}/").content.decode()
    assert "has problems right now" in confirmed and not NORMAL.search(confirmed)
    # And an outage judged on history keeps its normal after a reset to the prior.
    SeriesBaseline.objects.filter(service=service).delete()
    baseline_store(service, cold_baseline())
    outage = Outage.objects.get(pk=outage.pk)
    outage.judged_cold = False
    outage.save()
    assert selectors.outage_cold(Outage.objects.get(pk=outage.pk)) is False
    [listed] = selectors.outages_cold_marked([Outage.objects.get(pk=outage.pk)])
    assert listed.cold_start is False


def test_a_cold_start_falling_back_is_not_back_to_normal_levels(api_client, service, midday):
    # The page says its normal is not known yet; the API's status flags its `expected` as
    # the detector's guess (cross-surface tester, forty-seventh session).
    baseline_store(service, cold_baseline())
    outage = outage_make(service, started_at=midday.replace(second=0) - timedelta(minutes=40))
    status_make(service, 2, outage=outage, observed=0.0, expected=0.5)
    text = presentation.status_sentence(selectors.service_state_get(service=service), now=midday)
    assert text.startswith("Reports at Acme Cloud have calmed down: none in the last minute.")
    status = api_client.get(f"/api/v1/services/{service.slug}/").json()["status"]
    assert status["cold_start"] is True
