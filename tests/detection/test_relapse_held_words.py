"""Why a relapse is only "possible problems", through the tick end to end (documentation
tester, forty-eighth session): minutes of 47, 36 and 43 reports where 1.5 are normal, right
after an outage resolved, read "the jump is in a single minute so far" in their second minute
on the API. No rule about single minutes held them: the series' own calibrated threshold did,
which the outage that had just ended raised (it is among the bursts the threshold is set on);
the outage reopened on the third minute, once the three-minute sum passed it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from detection import presentation, selectors
from detection.models import Outage, SeriesState, ServiceStatus
from detection.services import buckets_aggregate, detect_tick
from tests.detection.conftest import T0, history_fill

pytestmark = pytest.mark.django_db
M = dt.timedelta(minutes=1)
HELD = "an outage here has just ended, which raised the bar for calling another"


def _minute(send_reports, service, k: int, extra: int, capture) -> None:
    minute = T0 + k * M
    send_reports(service, minute, 1 + k % 2, country="DE")  # 1.5 a minute, as its history
    if extra:
        send_reports(service, minute, extra, country="DE", problem="app")
    now = minute + M + dt.timedelta(seconds=2)
    with capture(execute=True):  # the tick bumps the read cache's version after commit
        buckets_aggregate(now=now)
        detect_tick(now=now)


def test_a_relapse_held_by_the_threshold_its_outage_raised_says_so_everywhere(
    service, send_reports, api_client, django_capture_on_commit_callbacks, monkeypatch
):
    history_fill(service, {"DE": 1.5})
    capture = django_capture_on_commit_callbacks
    for k in range(40):
        _minute(send_reports, service, k, 40 if 10 <= k < 20 else 0, capture)
        if Outage.objects.filter(status="resolved").exists():
            break
    else:
        pytest.fail("the outage did not resolve")
    for extra in (45, 34):
        k += 1
        _minute(send_reports, service, k, extra, capture)
        monkeypatch.setattr(timezone, "now", lambda k=k: T0 + (k + 1) * M + dt.timedelta(seconds=5))
        states = SeriesState.objects.filter(service=service)
        assert {(s.state, s.level, s.rule) for s in states} == {(1, 1, "poisson_1m")}
        state = selectors.service_state_get(service=service)
        assert state.possible_reason == "outage_bar"
        text = presentation.status_sentence(state)
        assert HELD in text and "single minute" not in text
        body = api_client.get("/api/v1/services/acme/").json()["status"]
        assert body["level"] == "possible"
        assert HELD in body["summary"] and "single minute" not in body["summary"]
        assert HELD in api_client.get("/api/v1/status/").json()["results"][0]["summary"]
        assert HELD in api_client.get("/services/acme/").content.decode()
    # Held, not lost: the third minute passes the bar and the outage is back.
    _minute(send_reports, service, k + 1, 41, capture)
    outage = Outage.objects.get()
    assert outage.is_active and outage.events.filter(kind="reopened").count() == 1
    assert ServiceStatus.objects.get(service=service).level == 2
