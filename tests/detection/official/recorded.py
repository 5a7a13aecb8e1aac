"""The recorded Statuspage summary with an open incident (payloads/statuspage_open.json),
moved in time: tests that render pages read the clock, so the incident must be as old as the
test says whatever the day it runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tests.detection.official.statusserver import payload


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def statuspage_open_at(
    *, started: datetime, published: datetime, title: str = "", incident_id: str = ""
) -> bytes:
    """The open incident, its impact beginning at ``started`` and first published (created,
    first update) at ``published``; ``title`` replaces its name, ``incident_id`` its id."""
    data = json.loads(payload("statuspage_open.json"))
    incident = data["incidents"][0]
    incident["started_at"] = _iso(started)
    incident["created_at"] = incident["updated_at"] = _iso(published)
    for update in incident["incident_updates"]:
        update["created_at"] = update["updated_at"] = update["display_at"] = _iso(published)
    if title:
        incident["name"] = title
    if incident_id:
        incident["id"] = incident_id
    data["page"]["updated_at"] = _iso(published)
    return json.dumps(data).encode()


def statuspage_quiet() -> bytes:
    """The same page with nothing open: every component operational, no incident."""
    data = json.loads(payload("statuspage_open.json"))
    data["incidents"] = []
    for component in data["components"]:
        component["status"] = "operational"
    data["status"] = {"indicator": "none", "description": "All Systems Operational"}
    return json.dumps(data).encode()
