"""The catalog edited in the admin as an operator does it (a name, a website, its problem
types, a retirement): the site and the report API follow at once, and the detector's next
minute runs on the edited catalog."""

from __future__ import annotations

import datetime as dt

import pytest

from detection.models import Outage
from detection.services import buckets_aggregate, detect_tick
from reports import services
from reports.models import Report
from tests.conftest import crowd_address

pytestmark = pytest.mark.django_db


def _edit(admin_client, service, **changes):
    change = f"/admin/reports/service/{service.pk}/change/"
    form = admin_client.get(change).context["adminform"].form
    data = {
        **{name: form.initial.get(name) for name in ("name", "slug", "category", "website")},
        "status_page": "",
        "problem_types": [p.pk for p in service.problem_types.all()],
        "is_active": "on",
        "former_slugs-TOTAL_FORMS": "0",
        "former_slugs-INITIAL_FORMS": "0",
        **changes,
    }
    if data["is_active"] is None:
        del data["is_active"]
    answer = admin_client.post(change, data)
    assert answer.status_code == 302, answer.context["adminform"].form.errors
    return answer


def _send(api_client, service, problem: str, k: int = 1):
    body = {"service": service.slug, "problem": problem, "country": "DE"}
    return api_client.post("/api/v1/reports/", body, format="json", REMOTE_ADDR=crowd_address(k))


def test_a_renamed_service_and_its_website_show_at_once(
    admin_client, client, api_client, service, midday, django_capture_on_commit_callbacks
):
    """Its read API answer is cached until the detector's next tick (detection.cache): the
    old name stayed there for up to a minute after the page showed the new one, and for
    good while ticks were stopped."""
    before = api_client.get(f"/api/v1/services/{service.slug}/").json()
    assert before["name"] == "Acme Cloud"
    with django_capture_on_commit_callbacks(execute=True):
        _edit(admin_client, service, name="Acme Cloud Platform", website="acme-platform.example")

    assert "Acme Cloud Platform" in client.get(f"/services/{service.slug}/").content.decode()
    after = api_client.get(f"/api/v1/services/{service.slug}/").json()
    assert after["name"] == "Acme Cloud Platform"
    assert after["website"] == "https://acme-platform.example"
    listed = api_client.get("/api/v1/services/", {"search": "acme"}).json()["results"]
    assert [s["name"] for s in listed] == ["Acme Cloud Platform"]


def test_problem_types_edited_in_the_admin_reach_the_report_api_at_once(
    admin_client, api_client, service, problem_types, midday
):
    assert _send(api_client, service, "payments").status_code == 400
    kept = [problem_types[p].pk for p in ("login", "payments")]
    _edit(admin_client, service, problem_types=kept)
    assert _send(api_client, service, "payments", 1).status_code == 201
    assert _send(api_client, service, "app", 2).status_code == 400


def test_a_retired_service_takes_no_reports_and_the_tick_runs_on(
    admin_client,
    client,
    api_client,
    service,
    problem_types,
    midday,
    django_capture_on_commit_callbacks,
):
    """Its active outage, reports and a problem type dropped from it while reports name it:
    the next minutes aggregate and judge without it, and its history stays."""
    for k in range(5):
        services.report_create(
            service=service,
            problem=problem_types["app"],
            country="DE",
            source=Report.Source.API,
            address=crowd_address(k),
            now=midday - dt.timedelta(minutes=3),
        )
    outage = Outage.objects.create(
        service=service, started_at=midday - dt.timedelta(minutes=3), detected_at=midday
    )
    _edit(admin_client, service, problem_types=[problem_types["login"].pk])
    buckets_aggregate(now=midday)
    detect_tick(now=midday)

    assert api_client.get(f"/api/v1/services/{service.slug}/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        _edit(admin_client, service, is_active=None)
    assert _send(api_client, service, "login").status_code == 400
    assert client.get(f"/services/{service.slug}/").status_code == 404
    # Not still answered from the read cache until the next tick.
    assert api_client.get(f"/api/v1/services/{service.slug}/").status_code == 404
    assert service.slug not in api_client.get("/api/v1/status/").content.decode()
    later = midday + dt.timedelta(minutes=2)
    buckets_aggregate(now=later)
    detect_tick(now=later)
    assert Report.objects.filter(service=service).count() == 5
    assert Outage.objects.filter(pk=outage.pk).exists()


def test_a_problem_type_s_slug_stays_once_it_exists(admin_client, service, problem_types, midday):
    """Its slug keys the history: the buckets' per-problem counts, the outages' top problems
    and the alerts that quoted them; and the catalog file's next load put a renamed one back
    beside the new name, the services on the old one and the reports split between them."""
    login = problem_types["login"]
    change = f"/admin/reports/problemtype/{login.pk}/change/"
    assert "slug" not in admin_client.get(change).context["adminform"].form.fields
    admin_client.post(change, {"slug": "sign-in", "name": "Sign-in", "description": ""})
    login.refresh_from_db()
    assert (login.slug, login.name) == ("login", "Sign-in")
    added = admin_client.get("/admin/reports/problemtype/add/").context["adminform"].form
    assert "slug" in added.fields


def test_a_provider_with_upstream_outages_is_not_deleted(admin_client, make_service, midday):
    """Deleting it cascaded into its upstream outages and the alerts' once-only rows."""
    from detection.models import UpstreamOutage
    from reports.models import Provider

    cloud = Provider.objects.create(slug="test-cloud", name="Test Cloud", kind="cloud")
    mistake = Provider.objects.create(slug="test-typo", name="Test Typo", kind="cloud")
    UpstreamOutage.objects.create(provider=cloud, started_at=midday, detected_at=midday, chance=0)
    url = "/admin/reports/provider/"
    assert admin_client.get(f"{url}{cloud.pk}/delete/").status_code == 403
    body = {"action": "delete_selected", "_selected_action": [cloud.pk], "post": "yes"}
    admin_client.post(url, body)
    assert Provider.objects.filter(pk=cloud.pk).exists()
    assert admin_client.post(f"{url}{mistake.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not Provider.objects.filter(pk=mistake.pk).exists()


def test_the_provider_list_costs_the_same_queries_for_many_providers(
    admin_client, make_service, midday, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reports.models import Provider

    def provider(k: int) -> None:
        own = make_service(f"own-{k}")
        Provider.objects.create(slug=f"own-net-{k}", name=f"Own {k}", kind="owner", service=own)

    provider(0)
    with CaptureQueriesContext(connection) as queries:
        admin_client.get("/admin/reports/provider/")
    for k in range(1, 15):
        provider(k)
    with django_assert_max_num_queries(len(queries)):
        admin_client.get("/admin/reports/provider/")


def test_a_service_whose_reports_were_purged_keeps_its_outages_and_followers(
    admin_client, make_service, midday
):
    """The retention purge deletes reports after REPORT_RETENTION_DAYS: a service with none
    left was deletable, and its outages and subscriptions went with it."""
    from alerts.models import Subscription

    old, followed = make_service("old-one"), make_service("followed")
    Outage.objects.create(service=old, started_at=midday, detected_at=midday)
    Subscription.objects.create(email="a@example.com", service=followed, confirmed_at=midday)
    for service in (old, followed):
        url = f"/admin/reports/service/{service.pk}/delete/"
        assert admin_client.get(url).status_code == 403
        assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert Outage.objects.filter(service=old).exists()


def test_a_category_s_slug_stays_once_it_exists(admin_client, service, midday):
    """The catalog file names it by slug (catalog_load upserts by it), and so do the home
    page's anchors and the API's ?category= filter."""
    category = service.category
    change = f"/admin/reports/category/{category.pk}/change/"
    assert "slug" not in admin_client.get(change).context["adminform"].form.fields
    admin_client.post(change, {"slug": "renamed", "name": "Renamed", "position": 0})
    category.refresh_from_db()
    assert (category.slug, category.name) == ("test-category", "Renamed")
    added = admin_client.get("/admin/reports/category/add/").context["adminform"].form
    assert "slug" in added.fields
