"""A service renamed in the catalog file (``renamed_from``) keeps its row, its history and its
old addresses; a file that cannot mean one thing is refused whole (reports.catalog_renames)."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from alerts.models import Subscription
from detection.models import SeriesBaseline, SeriesState
from reports.catalog import catalog_sync
from reports.models import Category, FormerSlug, Provider, Report, Service
from tests.detection.status_data import baseline_store, cold_baseline, outage_make

pytestmark = pytest.mark.django_db


def entry(slug: str, **extra) -> dict:
    return {
        "slug": slug,
        "name": slug.title(),
        "category": "test-renames",
        "website": f"https://{slug}.example",
        "problems": ["login", "app"],
        **extra,
    }


def catalog(*services: dict, categories: tuple[str, ...] = ()) -> dict:
    return {
        "categories": [{"slug": slug, "name": slug} for slug in ("test-renames", *categories)],
        "problem_types": [{"slug": "login", "name": "Login"}, {"slug": "app", "name": "App"}],
        "services": list(services),
    }


def load(tmp_path, data: dict) -> str:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(data))
    out = StringIO()
    call_command("catalog_load", "--file", str(path), stdout=out)
    return out.getvalue()


def report_make(service: Service) -> Report:
    return Report.objects.create(
        service=service,
        problem=service.problem_types.get(slug="login"),
        country="DE",
        source=Report.Source.API,
        created_at=timezone.now(),
    )


@pytest.fixture
def birdsite(tmp_path) -> Service:
    """A catalog service with reports, a follower and a warm detector."""
    load(tmp_path, catalog(entry("birdsite")))
    service = Service.objects.get(slug="birdsite")
    report_make(service)
    Subscription.objects.create(
        email="ann@example.com", service=service, confirmed_at=timezone.now()
    )
    SeriesState.objects.create(service=service, country="", minute=timezone.now(), state=1)
    baseline_store(service, cold_baseline())
    outage_make(service)
    return service


@pytest.fixture
def renamed(tmp_path, birdsite) -> Service:
    load(tmp_path, catalog(entry("chirp", renamed_from=["birdsite"])))
    return Service.objects.get(slug="chirp")


def test_a_renamed_service_keeps_its_row_history_followers_and_detector_state(tmp_path, birdsite):
    out = load(tmp_path, catalog(entry("chirp", name="Chirp", renamed_from=["birdsite"])))

    chirp = Service.objects.get(slug="chirp")
    assert chirp.pk == birdsite.pk and chirp.name == "Chirp"
    assert not Service.objects.filter(slug="birdsite").exists()
    assert Report.objects.get().service_id == chirp.pk
    assert Subscription.objects.get().service_id == chirp.pk
    assert SeriesState.objects.get().service_id == chirp.pk
    assert SeriesBaseline.objects.get().service_id == chirp.pk
    assert chirp.outages.count() == 1
    assert list(FormerSlug.objects.values_list("slug", "service")) == [("birdsite", chirp.pk)]
    assert "Renamed birdsite -> chirp" in out


def test_the_old_page_address_redirects_permanently(client, renamed):
    response = client.get("/services/birdsite/?utm_source=mail")
    assert response.status_code == 301
    assert response["Location"] == "/services/chirp/?utm_source=mail"
    assert client.get(response["Location"]).status_code == 200


def test_the_old_api_address_redirects_permanently_and_says_why(api_client, renamed):
    response = api_client.get("/api/v1/services/birdsite/")
    assert response.status_code == 301
    assert response["Location"] == "/api/v1/services/chirp/"
    assert response.json()["code"] == "renamed"
    assert "/api/v1/services/chirp/" in response.json()["detail"]
    followed = api_client.get("/api/v1/services/birdsite/", follow=True)
    assert followed.status_code == 200 and followed.json()["slug"] == "chirp"
    comments = api_client.get("/api/v1/services/birdsite/comments/")
    assert (comments.status_code, comments["Location"]) == (301, "/api/v1/services/chirp/comments/")


def test_a_report_posted_with_the_old_slug_is_stored_for_the_renamed_service(api_client, renamed):
    body = {"service": "birdsite", "problem": "login", "country": "FR"}
    response = api_client.post("/api/v1/reports/", data=body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["service"] == "chirp"  # the client learns the current slug
    assert Report.objects.get(pk=response.json()["id"]).service_id == renamed.pk
    # Filters that name a service take the old slug too.
    outages = api_client.get("/api/v1/outages/", {"service": "birdsite"})
    assert outages.status_code == 200, outages.content
    assert [row["service"] for row in outages.json()["results"]] == ["chirp"]


def test_a_report_form_sent_from_a_page_loaded_before_the_rename_is_stored(client, renamed):
    response = client.post("/services/birdsite/", {"problem": "login", "country": "FR"})
    assert response.status_code == 302
    assert response["Location"] == "/services/chirp/#report"
    assert Report.objects.filter(country="FR", service=renamed).count() == 1


def test_loading_a_renamed_catalog_twice_changes_nothing_more(tmp_path, renamed):
    data = catalog(entry("chirp", renamed_from=["birdsite"]))
    counts = (Service.objects.count(), FormerSlug.objects.count())
    result = catalog_sync(data=data)
    assert (result.services_created, result.services_renamed) == (0, ())
    assert (Service.objects.count(), FormerSlug.objects.count()) == counts
    assert Service.objects.get(slug="chirp").pk == renamed.pk
    assert "Renamed" not in load(tmp_path, data)


def test_an_empty_service_made_by_an_earlier_load_gives_way_to_the_one_with_history(
    tmp_path, birdsite
):
    # The slug was edited without renamed_from: that load made a second, empty service.
    load(tmp_path, catalog(entry("chirp")))
    load(tmp_path, catalog(entry("chirp", renamed_from=["birdsite"])))
    assert Service.objects.get(slug="chirp").pk == birdsite.pk
    assert not Service.objects.filter(slug="birdsite").exists()


def test_a_retired_service_renamed_stays_retired_under_its_new_slug(
    tmp_path, client, api_client, birdsite
):
    Service.objects.filter(pk=birdsite.pk).update(is_active=False)
    load(tmp_path, catalog(entry("chirp", renamed_from=["birdsite"])))
    chirp = Service.objects.get(slug="chirp")
    assert (chirp.pk, chirp.is_active) == (birdsite.pk, False)
    # Neither address answers: no redirect to a page that is gone, no reports accepted.
    assert client.get("/services/birdsite/").status_code == 404
    body = {"service": "birdsite", "problem": "login", "country": "FR"}
    assert api_client.post("/api/v1/reports/", data=body, format="json").status_code == 400


def test_a_service_can_be_renamed_back(tmp_path, client, renamed):
    load(tmp_path, catalog(entry("birdsite", renamed_from=["chirp"])))
    assert Service.objects.get(slug="birdsite").pk == renamed.pk
    assert list(FormerSlug.objects.values_list("slug", flat=True)) == ["chirp"]
    assert client.get("/services/chirp/")["Location"] == "/services/birdsite/"


def test_a_former_slug_is_reused_for_a_new_service_only_beside_the_renamed_one(
    tmp_path, client, renamed
):
    with pytest.raises(CommandError, match=r"'birdsite' is the former slug of 'chirp'.*back"):
        load(tmp_path, catalog(entry("birdsite")))
    assert not Service.objects.filter(slug="birdsite").exists()

    load(tmp_path, catalog(entry("chirp"), entry("birdsite")))
    assert Service.objects.get(slug="birdsite").pk != renamed.pk
    assert not FormerSlug.objects.exists()
    assert client.get("/services/birdsite/").status_code == 200


@pytest.mark.parametrize(
    ("services", "message"),
    [
        ([entry("chirp"), entry("chirp")], "two entries have the slug 'chirp'"),
        (
            [entry("chirp", renamed_from=["birdsite"]), entry("tweety", renamed_from=["birdsite"])],
            "'birdsite' is in renamed_from of both 'chirp' and 'tweety'",
        ),
        (
            [entry("chirp", renamed_from=["tweety"]), entry("tweety", renamed_from=["chirp"])],
            r"entry 'chirp': a rename cycle \(chirp -> tweety -> chirp\)",
        ),
        ([entry("chirp", renamed_from=["chirp"])], "entry 'chirp' lists its own slug"),
        (
            [entry("chirp", renamed_from=["birdsite"]), entry("birdsite")],
            "entry 'chirp' says it was renamed from 'birdsite', but 'birdsite' is an entry",
        ),
        ([entry("chirp", renamed_from="birdsite")], "entry 'chirp': renamed_from must be a list"),
        ([entry("chirp", renamed_from=["Bird Site"])], "entry 'chirp', renamed_from: 'Bird Site'"),
    ],
)
def test_a_contradictory_catalog_is_refused_naming_the_entry(tmp_path, services, message):
    with pytest.raises(CommandError, match=message):
        load(tmp_path, catalog(*services, categories=("new-cat",)))
    assert not Category.objects.filter(slug="new-cat").exists()
    assert not Service.objects.filter(slug__in=["chirp", "tweety"]).exists()


def test_a_rename_onto_a_service_with_its_own_history_is_refused_and_changes_nothing(
    tmp_path, birdsite
):
    load(tmp_path, catalog(entry("chirp")))
    report_make(Service.objects.get(slug="chirp"))  # the new one got reports of its own meanwhile
    data = catalog(
        entry("brand-new"),  # written before the conflict is found: rolled back with it
        entry("chirp", name="Renamed", renamed_from=["birdsite"]),
        categories=("new-cat",),
    )
    with pytest.raises(CommandError, match=r"entry 'chirp' .* '.*birdsite.*' \(1 reports, 1 out"):
        load(tmp_path, data)
    assert set(
        Service.objects.filter(slug__in=["birdsite", "chirp", "brand-new"]).values_list(
            "slug", flat=True
        )
    ) == {"birdsite", "chirp"}
    assert Service.objects.get(slug="birdsite").pk == birdsite.pk
    assert Service.objects.get(slug="chirp").name == "Chirp"
    assert not Category.objects.filter(slug="new-cat").exists()
    assert not FormerSlug.objects.exists()


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("/services/birdsite/live.json", "/services/chirp/live.json"),
        ("/services/birdsite/outages/feed/", "/services/chirp/outages/feed/"),
        ("/api/v1/services/birdsite/series/?window=1h", "/api/v1/services/chirp/series/?window=1h"),
    ],
)
def test_every_address_of_a_renamed_service_follows_it(client, renamed, old, new):
    """Feed readers, status widgets and dashboards keep the address they were given."""
    response = client.get(old)
    assert (response.status_code, response["Location"]) == (301, new)
    assert client.get(new).status_code == 200


def test_a_sign_up_sent_from_a_page_loaded_before_the_rename_follows_the_service(client, renamed):
    response = client.post("/services/birdsite/subscribe/", {"email": "bob@example.com"})
    assert (response.status_code, response["Location"]) == (302, "/services/chirp/#subscribe")
    assert Subscription.objects.get(email="bob@example.com").service_id == renamed.pk


def test_a_providers_service_under_a_former_slug_keeps_its_link(tmp_path, birdsite):
    """The provider entry still names the old slug: its page (the renamed service) stays."""
    provider = {"slug": "birdnet", "name": "Birdnet", "kind": "cdn", "service": "birdsite"}
    load(tmp_path, {**catalog(entry("chirp", renamed_from=["birdsite"])), "providers": [provider]})
    assert Provider.objects.get(slug="birdnet").service_id == birdsite.pk


def test_the_admin_keeps_a_changed_slug_as_a_former_one(admin_client, make_service):
    """A service added in the admin (not in the catalog file) renamed there: its old links
    redirect, and renaming it back frees the slug again."""
    service = make_service("homebrew")
    change = f"/admin/reports/service/{service.pk}/change/"

    def rename(slug: str):
        form = admin_client.get(change).context["adminform"].form
        data = {
            **{name: form.initial.get(name) for name in ("name", "category", "website")},
            "slug": slug,
            "problem_types": [p.pk for p in service.problem_types.all()],
            "is_active": "on",
            "former_slugs-TOTAL_FORMS": "0",
            "former_slugs-INITIAL_FORMS": "0",
        }
        return admin_client.post(change, data)

    assert rename("homebrew-2").status_code == 302
    assert list(FormerSlug.objects.values_list("slug", "service")) == [("homebrew", service.pk)]
    assert admin_client.get("/services/homebrew/")["Location"] == "/services/homebrew-2/"
    assert rename("homebrew").status_code == 302
    assert list(FormerSlug.objects.values_list("slug", flat=True)) == ["homebrew-2"]


def test_the_admin_refuses_to_rename_a_catalog_service(admin_client, tmp_path):
    """The catalog file owns its services' slugs: a rename in the admin would be undone by the
    next load under a second, empty service."""
    from reports.catalog import catalog_slugs

    slug = sorted(catalog_slugs())[0]
    service = Service.objects.get(slug=slug)
    change = f"/admin/reports/service/{service.pk}/change/"
    form = admin_client.get(change).context["adminform"].form
    data = {
        **{name: form.initial.get(name) for name in ("name", "category", "website")},
        "slug": f"{slug}-renamed",
        "problem_types": [p.pk for p in service.problem_types.all()],
        "is_active": "on",
        "former_slugs-TOTAL_FORMS": "0",
        "former_slugs-INITIAL_FORMS": "0",
    }
    response = admin_client.post(change, data)
    assert response.status_code == 200
    assert "rename it there" in response.context["adminform"].form.errors["slug"][0]
    assert Service.objects.get(pk=service.pk).slug == slug and not FormerSlug.objects.exists()


def test_a_former_slug_may_not_be_another_services_current_slug(make_service):
    from django.core.exceptions import ValidationError

    make_service("gitlab")
    with pytest.raises(ValidationError, match="current slug"):
        FormerSlug(slug="gitlab", service=make_service("github-x")).full_clean()


def test_a_renamed_services_feed_keeps_its_id(client, tmp_path, birdsite):
    """RFC 4287: a feed's id never changes; readers that go by it would see a new feed."""

    def feed_id(slug: str) -> str:
        body = client.get(f"/services/{slug}/outages/feed/").content.decode()
        return body.split("<id>", 1)[1].split("</id>", 1)[0]

    before = feed_id("birdsite")
    load(tmp_path, catalog(entry("chirp", renamed_from=["birdsite"])))
    load(tmp_path, catalog(entry("tweety", renamed_from=["chirp"])))
    assert feed_id("tweety") == before
    assert before.endswith("/services/birdsite/")
