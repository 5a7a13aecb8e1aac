"""Floats of the read API come out rounded: estimates had 16 digits beside figures of two."""

from __future__ import annotations

from datetime import timedelta

import pytest

from reports.api.fields import RoundedFloatField
from tests.detection.status_data import minute_now, outage_make, status_make

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("midday")]


@pytest.mark.parametrize(
    ("value", "decimals", "shown"),
    [
        (36.83606846226556, 2, 36.84),
        (1480.0, 2, 1480.0),
        (0.19812345, 2, 0.198),
        (0.0041234, 2, 0.00412),  # a small expectation is not 0
        (0.7048006853410174, 3, 0.705),
        (0.0, 2, 0.0),
    ],
)
def test_a_float_is_rounded_for_readers(value, decimals, shown):
    assert RoundedFloatField(decimals=decimals).to_representation(value) == shown


def test_the_service_status_and_outage_read_rounded(api_client, service):
    outage = outage_make(
        service,
        started_at=minute_now() - timedelta(minutes=10),
        peak_expected=1.8392789021723304,
        score=0.7048006853410174,
    )
    status_make(service, 2, outage=outage, expected=36.83606846226556)
    body = api_client.get("/api/v1/services/acme/").json()
    assert body["expected_now"] == 36.84
    assert body["status"]["expected"] == 36.84
    detail = api_client.get(f"/api/v1/outages/{outage.pk}/").json()
    assert (detail["peak_expected"], detail["score"]) == (1.84, 0.705)
