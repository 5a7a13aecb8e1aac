"""detection.services.bulk.update: fields of existing rows overwritten in one statement,
as a save of each would leave them (every kind of field the outage refresh writes)."""

from __future__ import annotations

import datetime as dt

import pytest

from detection.models import Outage
from detection.services.bulk import update

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


def test_update_overwrites_the_given_fields_and_nothing_else(make_service):
    a, b, c = (make_service(slug) for slug in ("acme", "globex", "initech"))
    outages = [Outage.objects.create(service=s, started_at=T0, detected_at=T0) for s in (a, b, c)]
    first, second, untouched = outages
    peak = T0 + dt.timedelta(minutes=3)
    n = update(
        Outage,
        {
            "id": [second.id, first.id, 10**9],  # any order; a missing row is skipped
            "score": [0.5, 0.9, 1.0],
            "peak_at": [None, peak, None],
            "countries": [["FR"], ["DE", "US"], []],
            "tally": [{}, {"v": 1, "problems": {"login": 3}}, {}],
            "networks": [7, 12, 0],
            "explanation": ["b", "a", "none"],
        },
        key="id",
    )
    assert n == 3
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.score, first.peak_at, first.countries, first.networks) == (
        0.9, peak, ["DE", "US"], 12
    )  # fmt: skip
    assert first.tally == {"v": 1, "problems": {"login": 3}} and first.explanation == "a"
    assert (second.score, second.peak_at, second.countries, second.tally) == (0.5, None, ["FR"], {})
    assert first.status == "active" and first.started_at == T0  # not given: kept
    assert Outage.objects.get(id=untouched.id).score == 0
    assert Outage.objects.count() == 3


def test_update_of_no_rows_and_of_uneven_columns():
    assert update(Outage, {"id": [], "score": []}, key="id") == 0
    with pytest.raises(ValueError, match="different lengths"):
        update(Outage, {"id": [1, 2], "score": [0.1]}, key="id")
