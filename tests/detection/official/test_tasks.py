from __future__ import annotations

import pytest
from django.conf import settings

from detection.official.models import StatusSource
from detection.official.tasks import official_source_poll_task, official_sweep_task
from tests.detection.official.statusserver import Page, payload


def test_the_sweep_is_on_the_beat_and_both_tasks_reach_the_worker():
    from outagewatch.celery import app

    app.loader.import_default_modules()  # what a worker does at start
    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if "official" in e["task"]]

    assert [e["task"] for e in entries] == [official_sweep_task.name]
    assert {official_sweep_task.name, official_source_poll_task.name} <= set(app.tasks)


@pytest.mark.django_db
def test_the_tasks_claim_then_poll(
    status_server, official_source, make_service, django_capture_on_commit_callbacks
):
    url = status_server.serve("/summary.json", Page(payload("statuspage_open.json")))
    source = official_source(make_service("github"), url)
    StatusSource.objects.filter(pk=source.pk).update(next_poll_at="2000-01-01T00:00Z")

    with django_capture_on_commit_callbacks() as queued:
        assert official_sweep_task() == 1
    assert len(queued) == 1
    assert official_source_poll_task(source_id=source.pk) == "updated"
    assert official_source_poll_task(source_id=source.pk) == "updated"  # safe twice
    assert source.incidents.count() == 1
