"""Parsing the published formats, and refusing what does not fit them (no database)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from detection.official.parsers import PayloadError, parse
from tests.detection.official.conftest import NOW
from tests.detection.official.statusserver import payload


def at(hour: int, minute: int, second: float = 0) -> datetime:
    whole = int(second)
    return datetime(2026, 11, 30, hour, minute, whole, round((second - whole) * 1e6), tzinfo=UTC)


def test_a_statuspage_summary_gives_the_indicator_components_and_open_incident():
    snapshot = parse("statuspage", payload("statuspage_open.json"), now=NOW)

    assert (snapshot.indicator, snapshot.description) == ("major", "Partial System Outage")
    assert snapshot.components["Copilot"] == "partial_outage"
    assert snapshot.lists_all_open
    [incident] = snapshot.incidents
    assert incident.external_id == "yq4kbvh2wm1t"
    assert incident.title == "Disruption with some GitHub services"
    assert (incident.status, incident.impact) == ("investigating", "major")
    assert incident.components == ("Copilot",)
    assert incident.started_at == at(9, 5)  # the provider's own started_at
    assert incident.published_at == at(9, 14, 3.112)  # created_at, before its first update
    assert incident.resolved_at is None
    assert [u.at for u in incident.updates] == [at(9, 14, 3.305), at(9, 31, 12.449)]


def test_an_incident_io_page_gives_the_worst_impact_and_its_components():
    snapshot = parse("incidentio", payload("incidentio.json"), now=NOW)

    assert snapshot.indicator == "major"  # partial_outage
    assert snapshot.components == {"ChatGPT": "partial_outage"}
    [incident] = snapshot.incidents
    assert incident.status == "identified" and incident.impact == "major"
    assert incident.published_at == at(8, 41, 27.118)
    assert incident.updated_at == at(9, 2, 10.004)
    assert incident.url.startswith("https://status.openai.com/incidents/")


def test_an_incident_io_page_with_several_incidents_gives_the_worst_impact():
    # One incident each was all the tests had: the mildest impact passed for the worst
    # (mutation tester, forty-seventh session).
    doc = json.loads(payload("incidentio.json"))
    first = doc["summary"]["ongoing_incidents"][0]
    second = {**first, "id": "second", "current_worst_impact": "degraded_performance"}
    doc["summary"]["ongoing_incidents"].append(second)

    snapshot = parse("incidentio", json.dumps(doc).encode(), now=NOW)

    assert [incident.impact for incident in snapshot.incidents] == ["major", "minor"]
    assert snapshot.indicator == "major"


def test_an_incident_io_widget_document_is_read_too():
    doc = json.loads(payload("incidentio.json"))["summary"]
    del doc["ongoing_incidents"][0]["published_at"]
    doc["in_progress_maintenances"] = [{"id": "m1", "name": "Database upgrade"}]

    snapshot = parse("incidentio", json.dumps(doc).encode(), now=NOW)

    [incident] = snapshot.incidents
    assert incident.published_at == incident.started_at == at(9, 2, 10.004)  # all it says
    assert snapshot.indicator == "major"  # an incident outranks the maintenance
    doc["ongoing_incidents"] = []
    assert parse("incidentio", json.dumps(doc).encode(), now=NOW).indicator == "maintenance"


def test_a_status_io_page_gives_its_overall_code_and_incident_states():
    snapshot = parse("statusio", payload("statusio.json"), now=NOW)

    assert (snapshot.indicator, snapshot.description) == ("major", "Partial Service Disruption")
    assert snapshot.components == {"Website": "partial service disruption", "API": "operational"}
    [incident] = snapshot.incidents
    assert incident.status == "identified"  # the latest message's state (200)
    assert incident.impact == "major"
    assert incident.components == ("Website",)
    assert incident.started_at == incident.published_at == at(9, 6, 45)
    assert [u.status for u in incident.updates] == ["investigating", "identified"]


def test_an_atom_feed_reads_the_latest_update_word_of_each_entry():
    snapshot = parse("feed", payload("feed.atom"), now=NOW)

    assert not snapshot.lists_all_open
    login, notifications = snapshot.incidents
    assert (login.status, login.resolved_at) == ("identified", None)
    assert login.started_at == at(9, 12)
    assert notifications.status == "resolved"
    assert notifications.resolved_at == datetime(2026, 11, 28, 15, 10, tzinfo=UTC)
    assert snapshot.indicator == "minor"  # one open incident, impact not said


def test_an_rss_feed_reads_aws_style_resolved_tags_and_rfc822_dates():
    snapshot = parse("feed", payload("feed.rss"), now=NOW)

    resolved, lambda_errors = snapshot.incidents
    assert resolved.status == "resolved"
    assert resolved.started_at == datetime(2026, 11, 28, 2, 5, tzinfo=UTC)  # PST is -8
    assert lambda_errors.status == "investigating" and lambda_errors.resolved_at is None


@pytest.mark.parametrize(
    ("description", "status"),
    [
        ("Not resolved yet; engineers are on it.", "investigating"),  # no word asserted: open
        ("The issue has not been resolved. We are monitoring.", "monitoring"),
        ("We have not yet identified the cause.", "investigating"),
        ("Resolved - the fix is out.", "resolved"),
    ],
)
def test_a_status_word_after_not_is_no_status(description, status):
    rss = (
        b'<rss version="2.0"><channel><item><title>Login errors</title><guid>n1</guid>'
        b"<description>" + description.encode() + b"</description>"
        b"<pubDate>Mon, 30 Nov 2026 08:00:00 GMT</pubDate></item></channel></rss>"
    )
    [incident] = parse("feed", rss, now=NOW).incidents
    assert incident.status == status
    assert (incident.resolved_at is None) == (status != "resolved")


def test_an_entry_s_latest_update_says_its_status_before_its_title_does():
    # A title keeps the words of the incident's first post ("Investigating ..."); the body
    # leads with the latest update. Read title first, it stayed open for ever on our pages
    # (mutation tester, forty-seventh session).
    rss = (
        b'<rss version="2.0"><channel><item><title>Investigating login errors</title>'
        b"<guid>n1</guid><description>Resolved - This incident has been resolved.</description>"
        b"<pubDate>Mon, 30 Nov 2026 08:00:00 GMT</pubDate></item></channel></rss>"
    )
    [incident] = parse("feed", rss, now=NOW).incidents
    assert incident.status == "resolved" and incident.resolved_at is not None


def test_a_feed_entry_without_a_status_word_is_open_only_while_recent():
    rss = (
        b'<rss version="2.0"><channel><item><title>Maintenance note</title><guid>n1</guid>'
        b"<pubDate>Mon, 30 Nov 2026 08:00:00 GMT</pubDate></item></channel></rss>"
    )
    [fresh] = parse("feed", rss, now=NOW).incidents
    [old] = parse("feed", rss, now=datetime(2026, 12, 2, tzinfo=UTC)).incidents

    assert fresh.resolved_at is None
    assert old.status == "resolved" and old.resolved_at == at(8, 0)


def _statuspage(**changes) -> bytes:
    doc = json.loads(payload("statuspage_open.json"))
    incident = doc["incidents"][0]
    for key, value in changes.items():
        incident[key] = value
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    ("kind", "body", "reason"),
    [
        ("statuspage", payload("statuspage_truncated.json"), "invalid JSON"),
        ("statuspage", payload("statuspage_wrong_types.json"), "incident_updates: expected a list"),
        ("statuspage", b"[1, 2, 3]", "the document: expected an object"),
        ("statuspage", b'{"status": "major"}', "status: expected an object"),
        ("statuspage", b'{"status": {"indicator": "apocalypse"}}', "unknown value"),
        ("statuspage", _statuspage(created_at="yesterday"), "bad date 'yesterday'"),
        ("statuspage", _statuspage(created_at=1764493200), "expected a date, got int"),
        ("statuspage", _statuspage(id=None), "incidents[0].id: expected a string"),
        ("statuspage", _statuspage(name={"en": "x"}), "incidents[0].name: expected a string"),
        ("statuspage", _statuspage(components="Copilot"), "components: expected a list"),
        ("statuspage", b"\xff\xfe{}", "invalid JSON"),
        ("statuspage", b"[" * 100_000 + b"]" * 100_000, "invalid JSON"),
        ("incidentio", b'{"ongoing_incidents": {"id": "1"}}', "expected a list"),
        # An error document, or an empty one, would close every open incident as all clear.
        ("incidentio", b"{}", "no ongoing_incidents"),
        ("incidentio", b'{"error": "rate limited"}', "no ongoing_incidents"),
        ("incidentio", b'{"summary": {"x": 1}}', "no ongoing_incidents"),
        # Past the calendar's end once in UTC; an encoding nobody knows.
        ("statuspage", _statuspage(created_at="9999-12-31T23:59:59-05:00"), "OverflowError"),
        ("feed", b"<rss><channel><item><title>x</title><guid>1</guid><pubDate>Fri, 31 Dec "
         b"9999 23:00:00 -0500</pubDate></item></channel></rss>", "OverflowError"),
        ("feed", b'<?xml version="1.0" encoding="x-bogus"?><rss/>', "LookupError"),
        # What the store cannot keep: one row per id, Unicode text.
        ("statuspage", _statuspage(name="\ud800x"), "not Unicode"),
        ("statuspage", _statuspage(name="a\x00b"), "NUL character"),
        # Status words too (review, forty-third session: the poll raised on them).
        ("statuspage", _statuspage(status="investigating\x00"), "NUL character"),
        ("statuspage", _statuspage(status="investigating\ud800"), "not Unicode"),
        ("incidentio", b'{"ongoing_incidents": [{"id": "1", "name": "x", "status": "identified"}]}',
         "no last_update_at, published_at or started_at"),
        ("statusio", b'{"result": {"status_overall": {"status_code": "400"}}}',
         "expected a number"),
        ("statusio", b'{"result": []}', "result: expected an object"),
        ("feed", payload("bomb.xml"), "unsafe XML"),
        ("feed", payload("external_entity.xml"), "unsafe XML"),
        ("feed", b"<rss><channel><item><title>x</title>", "invalid or unsafe XML"),
        ("feed", b"<html><body>Status</body></html>", "not an RSS or Atom feed"),
        ("feed", b"<rss><channel><item><title>x</title><guid>1</guid></item></channel></rss>",
         "pubDate: bad date"),
        ("feed", b"<rss><channel><item><guid>1</guid><pubDate>Mon, 30 Nov 2026 08:00:00 GMT"
         b"</pubDate></item></channel></rss>", "no title"),
    ],
)  # fmt: skip
def test_a_payload_that_does_not_fit_its_format_is_refused_with_where(kind, body, reason):
    with pytest.raises(PayloadError) as refused:
        parse(kind, body, now=NOW)

    assert reason in str(refused.value)


def test_a_backfilled_statuspage_incident_was_published_at_its_first_update():
    # An incident entered after the fact shows its first update at the time it gives
    # (display_at), before the incident's own created_at: that is when it was said
    # (mutation tester, forty-seventh session: taken from created_at, it passed).
    update = {
        "status": "investigating", "body": "Looking into it.",
        "created_at": "2026-11-30T09:30:00Z", "display_at": "2026-11-30T08:50:00Z",
    }  # fmt: skip
    body = _statuspage(created_at="2026-11-30T09:00:00Z", incident_updates=[update])

    [incident, *_] = parse("statuspage", body, now=NOW).incidents

    assert incident.published_at == at(8, 50)


def test_too_many_incidents_are_refused():
    doc = json.loads(payload("statuspage_open.json"))
    doc["incidents"] = doc["incidents"] * 201

    with pytest.raises(PayloadError, match="more than 200"):
        parse("statuspage", json.dumps(doc).encode(), now=NOW)


def test_an_incident_resolved_before_it_started_ends_when_it_starts():
    body = _statuspage(
        status="resolved", resolved_at="2026-11-30T07:00:00Z", created_at="2026-11-30T09:00:00Z"
    )
    [incident] = parse("statuspage", body, now=NOW).incidents

    assert incident.resolved_at == incident.started_at


def test_long_text_is_capped():
    [incident] = parse("statuspage", _statuspage(name="x" * 10_000), now=NOW).incidents

    assert len(incident.title) == 300


@pytest.mark.parametrize("second_id", ["same", 1])
def test_two_incidents_with_one_id_are_refused(second_id):
    doc = json.loads(payload("statuspage_open.json"))
    first = doc["incidents"][0]
    first["id"] = "same" if second_id == "same" else "1"
    doc["incidents"] = [first, {**first, "id": second_id}]  # 1 and "1" are one id

    with pytest.raises(PayloadError, match="two incidents with the id"):
        parse("statuspage", json.dumps(doc).encode(), now=NOW)
