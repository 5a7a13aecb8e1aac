"""Load the service catalog so a fresh install has services to report on."""

from django.db import migrations

from reports.migrations._catalog import catalog_read


def catalog_load(apps, schema_editor):
    # reports.catalog.catalog_sync as it was when this was written, spelt out rather than
    # imported, so that this migration does the same thing whatever later code says: the
    # fields of this day's models only; the next `catalog_load` sets the others (and providers,
    # renames and former slugs).
    data = catalog_read()
    Category = apps.get_model("reports", "Category")
    ProblemType = apps.get_model("reports", "ProblemType")
    Service = apps.get_model("reports", "Service")

    categories = {}
    for position, row in enumerate(data["categories"]):
        categories[row["slug"]], _ = Category.objects.update_or_create(
            slug=row["slug"], defaults={"name": row["name"], "position": position}
        )
    problems = {}
    for row in data["problem_types"]:
        problems[row["slug"]], _ = ProblemType.objects.update_or_create(
            slug=row["slug"],
            defaults={"name": row["name"], "description": row.get("description", "")},
        )
    for row in data["services"]:
        service, _ = Service.objects.update_or_create(
            slug=row["slug"],
            defaults={
                "name": row["name"],
                "category": categories[row["category"]],
                "website": row["website"],
                "status_page": row.get("status_page") or "",
            },
        )
        service.problem_types.set([problems[slug] for slug in row["problems"]])


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial")]

    operations = [migrations.RunPython(catalog_load, migrations.RunPython.noop)]
