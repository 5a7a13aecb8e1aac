"""The outage admin as the operator on duty uses it: why an outage opened is shown; what the
detector owns is not edited or deleted by a slip."""

from __future__ import annotations

import datetime as dt

import pytest

from detection.models import Outage, OutageEvent, SeriesBaseline, ServiceStatus
from tests.detection.status_data import baseline_store, flat_baseline

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 25, 11, 40, tzinfo=dt.UTC)
OUTAGES = "/admin/detection/outage/"


@pytest.fixture
def outage(service) -> Outage:
    outage = Outage.objects.create(
        service=service,
        started_at=T0,
        detected_at=T0 + dt.timedelta(minutes=2),
        peak_observed=42,
        peak_expected=3.2,
        score=0.99,
        rule="poisson_tail",
        explanation="42 reports a minute where about 3 are usual.",
        tally={"networks": ["n1", "n2"]},
    )
    OutageEvent.objects.create(
        outage=outage, at=T0, kind="opened", observed=42, expected=3.2, message="Opened."
    )
    return outage


def test_the_outage_page_says_why_it_opened(admin_client, outage, midday):
    page = admin_client.get(f"{OUTAGES}{outage.pk}/change/").content.decode()
    assert "42 reports a minute where about 3 are usual." in page
    assert "poisson_tail" in page and "Opened." in page


def test_an_outage_s_detector_fields_are_not_edited_by_the_admin(admin_client, outage, midday):
    """The detector's state machine (SeriesState) still holds it: an outage "resolved" by hand
    stayed open there, and its counts and times are what alerts quoted. Nothing in the
    product resolves or hides one by hand, so the page only shows it."""
    change = f"{OUTAGES}{outage.pk}/change/"
    page = admin_client.get(change)
    assert dict(page.context["adminform"].form.fields) == {}
    admin_client.post(change, {"status": "resolved", "score": "0", "rule": "edited"})
    outage.refresh_from_db()
    assert (outage.status, outage.score, outage.rule) == ("active", 0.99, "poisson_tail")
    (events,) = page.context["inline_admin_formsets"]
    assert not events.has_add_permission and not events.has_change_permission


def test_outages_cannot_be_deleted_from_the_admin(admin_client, outage, midday):
    """Deleting one cascades into its events and every alert delivery sent about it."""
    assert admin_client.get(f"{OUTAGES}{outage.pk}/delete/").status_code == 403
    body = {"action": "delete_selected", "_selected_action": [outage.pk], "post": "yes"}
    admin_client.post(OUTAGES, body)
    assert Outage.objects.filter(pk=outage.pk).exists()
    assert admin_client.get(f"{OUTAGES}add/").status_code == 403


def test_status_and_baselines_are_shown_not_edited(admin_client, service, outage, midday):
    status = ServiceStatus.objects.create(
        service=service, level=2, since=T0, updated_at=T0, outage=outage, rule="poisson_tail"
    )
    baseline_store(service, flat_baseline(3.2))
    baseline = SeriesBaseline.objects.get(service=service)
    for url, row in (
        ("/admin/detection/servicestatus/", status),
        ("/admin/detection/seriesbaseline/", baseline),
    ):
        assert admin_client.get(url).status_code == 200
        page = admin_client.get(f"{url}{row.pk}/change/")
        assert page.status_code == 200 and dict(page.context["adminform"].form.fields) == {}
        assert admin_client.get(f"{url}add/").status_code == 403
    admin_client.post(f"/admin/detection/servicestatus/{status.pk}/change/", {"level": "0"})
    status.refresh_from_db()
    assert status.level == 2


def test_official_sources_and_incidents_are_not_added_or_deleted_by_hand(
    admin_client, service, midday
):
    """A source's incidents are the track record's evidence (deleted with it, and the next
    load of the data file brings the source back empty); an incident's add form was all
    read-only fields."""
    from detection.official.models import OfficialIncident, StatusSource

    source = StatusSource.objects.create(
        url="https://status.acme.example/api/v2/summary.json", next_poll_at=T0
    )
    at = {f"{name}_at": T0 for name in ("started", "acknowledged", "updated", "first_seen")}
    incident = OfficialIncident.objects.create(
        source=source, external_id="x1", title="Degraded logins", last_seen_at=T0, **at
    )
    for url, row in (
        ("/admin/detection/statussource/", source),
        ("/admin/detection/officialincident/", incident),
    ):
        assert admin_client.get(f"{url}add/").status_code == 403
        assert admin_client.get(f"{url}{row.pk}/delete/").status_code == 403
        assert admin_client.get(f"{url}{row.pk}/change/").status_code == 200
    page = admin_client.get(f"/admin/detection/officialincident/{incident.pk}/change/")
    assert "Degraded logins" in page.content.decode()
    # Pausing a source stays possible.
    assert (
        "enabled"
        in admin_client.get(f"/admin/detection/statussource/{source.pk}/change/")
        .context["adminform"]
        .form.fields
    )
