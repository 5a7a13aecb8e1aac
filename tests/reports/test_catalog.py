from __future__ import annotations

from collections import Counter

import pytest

from reports.catalog import catalog_read, catalog_sync
from reports.models import Category, ProblemType, Service


def test_catalog_file_has_many_real_services_across_categories():
    data = catalog_read()
    categories = {c["slug"] for c in data["categories"]}
    problems = {p["slug"] for p in data["problem_types"]}
    per_category = Counter(s["category"] for s in data["services"])
    assert len(data["services"]) >= 150
    assert set(per_category) == categories
    assert min(per_category.values()) >= 8
    for service in data["services"]:
        assert set(service["problems"]) <= problems, service["slug"]
        assert service["website"].startswith("https://")


@pytest.mark.django_db
def test_migrations_load_the_catalog():
    assert Service.objects.count() >= 150
    chatgpt = Service.objects.get(slug="chatgpt")
    assert chatgpt.category.slug == "ai-assistants"
    assert chatgpt.problem_types.filter(slug="login").exists()


@pytest.mark.django_db
def test_catalog_sync_is_idempotent_and_keeps_admin_added_services(make_service):
    make_service("in-house-tool")
    data = catalog_read()
    catalog_sync(data=data)
    counts = (Category.objects.count(), ProblemType.objects.count(), Service.objects.count())
    result = catalog_sync(data=data)
    assert result.services_created == 0
    assert (
        Category.objects.count(),
        ProblemType.objects.count(),
        Service.objects.count(),
    ) == counts
    assert Service.objects.filter(slug="in-house-tool").exists()


# A file with one service "x": its name, website (with what follows it) and providers.
_SERVICE = (
    '{"categories": [{"slug": "new-cat", "name": "New"}], "problem_types": [], "providers": [],'
    ' "services": [{"slug": "x", "name": %s, "category": "new-cat", "website": %s,'
    ' "problems": [], "providers": %s}]}'
)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "Cannot read"),  # no such file
        ("{not json", "Cannot read"),
        ("[]", "not a catalog"),
        ("{}", "the file lacks the key 'categories'"),
        # The category is written before the broken service: the load is all or nothing.
        # Each message names the entry (a catalog has hundreds).
        (
            '{"categories": [{"slug": "new-cat", "name": "New"}], "problem_types": [],'
            ' "services": [{"slug": "x", "category": "new-cat"}]}',
            "service 'x' lacks the key 'name'.",
        ),
        (
            '{"categories": [{"slug": "new-cat", "name": "New"}], "problem_types": [],'
            ' "services": [{"name": "X", "category": "new-cat"}]}',
            "service number 1 lacks the key 'slug'.",
        ),
        (
            '{"categories": [{"slug": "new-cat", "name": "New"}], "problem_types": [],'
            ' "services": [{"slug": "x", "name": "X", "category": "nope",'
            ' "website": "https://x.example", "problems": []}]}',
            "service 'x' names the category “nope”, which the file's categories do not define.",
        ),
        (
            '{"categories": [{"slug": "new-cat", "name": "New"}], "problem_types": [],'
            ' "services": [{"slug": "x", "name": "X", "category": "new-cat",'
            ' "website": "https://x.example", "problems": ["nope"]}]}',
            "service 'x' names the problem type “nope”, which the file's problem_types do not "
            "define.",
        ),
        (
            '{"categories": [{"slug": "new-cat"}], "problem_types": [], "services": []}',
            "category 'new-cat' lacks the key 'name'.",
        ),
        # A slug the API could never match (it looks slugs up in lower case).
        (
            '{"categories": [{"slug": "new-cat", "name": "New"}], "problem_types": [],'
            ' "services": [{"slug": "MyService", "name": "M", "category": "new-cat",'
            ' "website": "https://m.example", "problems": []}]}',
            "'MyService' is not a slug: use lower-case letters",
        ),
        # Values the admin's form refuses were stored as they came (ops tester F6): a
        # javascript: link on the public page and in the API, a number as a name, a provider
        # of no known kind; a name too long for its column was a database traceback.
        (
            _SERVICE % ('"X"', '"javascript:alert(1)"', "[]"),
            "service 'x': website “javascript:alert.1.”: Enter a valid URL.",
        ),
        (
            _SERVICE % ('"X", "status_page": "ftp://x.example"', '"https://x.example"', "[]"),
            "service 'x': status_page “ftp://x.example”: Enter a valid URL.",
        ),
        (_SERVICE % ("123", '"https://x.example"', "[]"), "service 'x': name “123”: must be text."),
        (
            _SERVICE % ('"' + "X" * 130 + '"', '"https://x.example"', "[]"),
            "service 'x': name “X+…”: Ensure this value has at most 120 characters",
        ),
        (
            _SERVICE % ('"X"', '"https://x.example"', '["nope"]'),
            "service 'x' names the provider “nope”, which the file's providers do not define.",
        ),
        (
            '{"categories": [{"slug": "new-cat", "name": "New"}], "problem_types": [],'
            ' "services": [], "providers": [{"slug": "p", "name": "P", "kind": "bogus"}]}',
            "provider 'p': kind “bogus”: Value 'bogus' is not a valid choice.",
        ),
        ("[]", "the file is not a catalog: a JSON object with categories"),
    ],
)
def test_catalog_load_refuses_a_bad_file_with_a_message_and_changes_nothing(
    tmp_path, db, content, message
):
    from django.core.management import CommandError, call_command

    from reports.models import Category

    path = tmp_path / "catalog.json"
    if content is not None:
        path.write_text(content)
    before = Category.objects.count()
    with pytest.raises(CommandError, match=message):
        call_command("catalog_load", "--file", str(path))
    assert Category.objects.count() == before
    assert not Category.objects.filter(slug="new-cat").exists()


def test_the_admin_refuses_a_slug_the_api_could_not_match(client, service, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    page = client.get(f"/admin/reports/service/{service.pk}/change/")
    form = page.context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if value is not None and not isinstance(value, list)
    }
    data.update(
        slug="MyService",
        problem_types=[p.pk for p in service.problem_types.all()],
        category=service.category_id,
    )
    response = client.post(f"/admin/reports/service/{service.pk}/change/", data)
    assert response.status_code == 200
    assert "is not a slug: use lower-case letters" in response.content.decode()
    service.refresh_from_db()
    assert service.slug == "acme"


def test_the_admin_retires_a_service_with_history_instead_of_deleting_it(
    client, service, make_service, django_user_model
):
    from django.utils import timezone

    from reports.models import Report

    Report.objects.create(
        service=service,
        problem=service.problem_types.first(),
        country="DE",
        created_at=timezone.now(),
    )
    mistake = make_service("mistake")
    client.force_login(django_user_model.objects.create_superuser("root", "r@example.com", "pw"))

    assert client.get(f"/admin/reports/service/{service.pk}/delete/").status_code == 403
    changelist = client.get("/admin/reports/service/").content.decode()
    assert 'value="delete_selected"' not in changelist
    assert (
        client.post(f"/admin/reports/service/{mistake.pk}/delete/", {"post": "yes"}).status_code
        == 302
    )
    assert not type(mistake).objects.filter(pk=mistake.pk).exists()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Bad\x01Name", "Must not contain control characters"),
        ("Bad\x00Name", "Must not contain control characters"),  # was a database traceback
        ("Two\nLines", "line breaks"),
        ("Bad\ufffeName", "Must not contain control characters"),
        ("Safe\u202egnp.exe", "text-direction overrides"),
        ("   ", "Must show at least one letter"),
        ("\u200b", "Must show at least one letter"),
    ],
)
def test_catalog_load_refuses_a_name_no_feed_email_or_page_can_show(tmp_path, db, name, message):
    # One such name made the site-wide feed a 500 and left its confirmation emails unsendable
    # (text tester, forty-sixth session).
    import json

    from django.core.management import CommandError, call_command

    from reports.models import Service

    path = tmp_path / "catalog.json"
    path.write_text(_SERVICE % (json.dumps(name), '"https://x.example"', "[]"))
    before = Service.objects.get(slug="x").name  # the catalog's own X
    with pytest.raises(CommandError, match=message):
        call_command("catalog_load", "--file", str(path))
    # Not a query by the name: PostgreSQL refuses a NUL in any query.
    assert Service.objects.get(slug="x").name == before


def test_the_admin_refuses_a_name_with_a_line_break(client, db, django_user_model):
    from reports.models import Category, Service

    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    category = Category.objects.first()
    response = client.post(
        "/admin/reports/service/add/",
        {
            "slug": "two-lines",
            "name": "Two\nLines",
            "category": category.pk,
            "website": "https://x.example",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "line breaks" in response.content.decode()
    assert not Service.objects.filter(slug="two-lines").exists()
