from __future__ import annotations

import pytest

from detection.official import services
from tests.detection.official.conftest import NOW
from tests.detection.official.statusserver import Page, payload

pytestmark = pytest.mark.django_db


def test_the_admin_lists_sources_and_incidents_with_their_updates(
    admin_client, status_server, official_source, make_service
):
    url = status_server.serve("/summary.json", Page(payload("statuspage_open.json")))
    source = official_source(make_service("github"), url)
    services.status_source_poll(source_id=source.pk, now=NOW)
    incident = source.incidents.get()

    sources = admin_client.get("/admin/detection/statussource/")
    incidents = admin_client.get("/admin/detection/officialincident/")
    detail = admin_client.get(f"/admin/detection/officialincident/{incident.pk}/change/")

    assert sources.status_code == incidents.status_code == detail.status_code == 200
    assert url in sources.text
    assert "Disruption with some GitHub services" in incidents.text
    assert "We are investigating reports of degraded performance" in detail.text
