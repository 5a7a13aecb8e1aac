"""A service with no history yet has no "normal" on any surface (explain tester F2): the
outage page said "almost none normally (no history here yet)" while its timeline, the API's
explanation, the feed, the status sentence and the emails said "where less than 1 is
normal", a guess for a new service that nobody observed."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from alerts import presentation as alert_words
from detection import presentation, selectors
from detection.models import OutageEvent
from tests.detection.status_data import (
    baseline_store,
    cold_baseline,
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
    }


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
    for surface in ("api explanation", "api timeline", "feed", "status", "alert"):
        assert NORMAL.search(texts[surface]), surface
