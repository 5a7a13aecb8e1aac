from django import forms
from django.contrib import admin
from django.db import models
from django.urls import reverse
from django.utils.html import format_html

from outagewatch.admin_log import actions_log
from reports import selectors, services
from reports.catalog import catalog_slugs
from reports.models import Category, FormerSlug, ProblemType, Provider, Report, Service
from reports.validation import slug_clean


class SlugForm(forms.ModelForm):
    """The catalog's slugs in lower case, as the API and the site's addresses match them."""

    def clean_slug(self) -> str:
        return slug_clean(self.cleaned_data["slug"])


class SlugFixedOnceSaved:
    """Mixed into a ModelAdmin: the slug is typed (or prepopulated) for a new row, then read-only.

    The catalog file names categories and problem types by slug, and `catalog_load` upserts
    them by it: renamed here, the file's next load put the old slug back beside the new one,
    with the services on it. The name and the rest stay editable.
    """

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        return ["slug"] if obj is not None else []

    def get_prepopulated_fields(self, request, obj=None):
        return {} if obj is not None else super().get_prepopulated_fields(request, obj)


@admin.register(Category)
class CategoryAdmin(SlugFixedOnceSaved, admin.ModelAdmin):
    # Its slug is also in addresses: the home page's anchors and the API's ?category= filter.
    form = SlugForm
    list_display = ["name", "slug", "position"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(ProblemType)
class ProblemTypeAdmin(SlugFixedOnceSaved, admin.ModelAdmin):
    # Its slug also keys history: the buckets' per-problem counts, the outages' top problems,
    # the alerts that quoted them; a rename here split them.
    form = SlugForm
    list_display = ["name", "slug", "description"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


class FormerSlugInline(admin.TabularInline):
    """Slugs the service had before a rename (``renamed_from`` in the catalog file): they
    redirect to its pages. Deleting one frees the slug for a new service."""

    model = FormerSlug
    form = SlugForm
    extra = 0


class ServiceForm(SlugForm):
    """A service's slug is its address: a change here keeps the old one as a former slug
    (its links redirect), and a catalog service's slug changes only in the catalog file,
    which the next load would otherwise put back under a second, empty service."""

    def clean_slug(self) -> str:
        slug = super().clean_slug()
        old = self.instance.slug if self.instance.pk else None
        if old is None or slug == old:
            return slug
        if old in catalog_slugs():
            raise forms.ValidationError(
                "This service comes from the catalog file (reports/data/catalog.json): rename "
                'it there, with "renamed_from" (docs/catalog.md); a rename here would be '
                "undone by the next load."
            )
        if FormerSlug.objects.filter(slug=slug).exclude(service=self.instance).exists():
            raise forms.ValidationError(
                f"“{slug}” is a former slug of another service (its old links lead there): "
                "delete it there first."
            )
        return slug


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    form = ServiceForm
    inlines = [FormerSlugInline]
    # A website typed without a scheme is https (Django 6's default; 5.2 warns without it).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["name", "slug", "category", "is_active", "website", "history"]
    list_filter = ["category", "is_active"]
    search_fields = ["name", "slug", "former_slugs__slug"]
    filter_horizontal = ["problem_types", "providers"]
    prepopulated_fields = {"slug": ["name"]}

    def save_model(self, request, obj: Service, form: forms.ModelForm, change: bool) -> None:
        old = form.initial.get("slug")
        super().save_model(request, obj, form, change)
        if change and old and old != obj.slug:
            services.service_slug_changed(service=obj, old=old)

    @admin.display(description="History")
    def history(self, service: Service) -> str:
        # Its reports and outages, one click away (a link, not a count: no query per row).
        return format_html(
            '<a href="{}?service__id__exact={}">reports</a> · '
            '<a href="{}?service__id__exact={}">outages</a>',
            reverse("admin:reports_report_changelist"),
            service.pk,
            reverse("admin:detection_outage_changelist"),
            service.pk,
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting a service with history cascades to every report, bucket, outage and
        # subscription in one transaction, behind a confirmation page that lists each report
        # (minutes and megabytes for a busy one). Untick "is active" to retire it instead;
        # a service that never had a report (a mistake) can still go. Its reports alone do
        # not say so: the retention purge deletes them after REPORT_RETENTION_DAYS, and
        # its outages and followers outlive them.
        if obj is None or any(
            rows.exists() for rows in (obj.reports, obj.outages, obj.subscriptions)
        ):
            return False
        return super().has_delete_permission(request, obj)


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    form = SlugForm
    list_display = ["name", "slug", "kind", "service"]
    list_filter = ["kind"]
    search_fields = ["name", "slug"]
    raw_id_fields = ["service"]
    # Nullable, so Django's automatic select_related skipped it: a query per provider row.
    list_select_related = ["service"]
    prepopulated_fields = {"slug": ["name"]}

    def has_delete_permission(self, request, obj=None) -> bool:
        # Its upstream outages (the record of what went down together, and the once-only
        # rows of the alerts sent about them) would go with it, as a service's history
        # would: one that never had any (a mistake) can still go.
        if obj is None or obj.upstream_outages.exists():
            return False
        return super().has_delete_permission(request, obj)


class ModerationFilter(admin.SimpleListFilter):
    """The moderator's queues. "Comment hidden" alone missed the comments readers' flags took
    off the pages (hidden is set only by a moderator), and had no queue of flagged comments
    still shown."""

    title = "moderation"
    parameter_name = "moderation"

    def lookups(self, request, model_admin) -> list[tuple[str, str]]:
        return [
            ("flagged", "Flagged, still shown"),
            ("off", "Off the pages (hidden or flagged away)"),
        ]

    def queryset(self, request, queryset):
        comments = queryset.exclude(comment="")
        if self.value() == "flagged":
            return comments.filter(selectors.COMMENT_SHOWN, comment_flags__gt=0)
        if self.value() == "off":
            return comments.filter(counted=True).exclude(selectors.COMMENT_SHOWN)
        return queryset


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "service",
        "problem",
        "country",
        "subdivision",
        "source",
        "counted",
        "comment",
        "comment_flags",
        "comment_hidden",
        "comment_shown",
    ]
    # A date filter, not date_hierarchy: its month and day links are a DISTINCT over every
    # report (a sequential scan and sort, 1 s at 3.3M reports); the filter's ranges use the
    # index. Nor a count of the whole table beside the filtered one.
    list_filter = ["created_at", ModerationFilter, "source", "counted", "problem"]
    show_full_result_count = False
    search_fields = ["service__name", "=country", "comment"]
    actions = ["hide_comments", "show_comments"]
    raw_id_fields = ["service"]
    readonly_fields = [f.name for f in Report._meta.fields]

    def has_add_permission(self, request) -> bool:
        # Reports come from people, not from staff.
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # A report is evidence the buckets, an outage's counts and the alerts sent already
        # rest on: deleted, they disagree with the rows for good (and its flags go with it).
        # An abusive comment is hidden instead; the report keeps counting.
        return False

    def get_search_results(self, request, queryset, search_term: str):
        # A number is a report's id (from a log line, a support mail): looked up by the
        # primary key, where the text fields' LIKE would scan every report and match none.
        term = search_term.strip()
        if term.isascii() and term.isdigit():
            # Past the column's range nothing matches (PostgreSQL refused the parameter: a 500).
            return queryset.filter(pk=int(term)) if len(term) < 19 else queryset.none(), False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description="On the pages", boolean=True)
    def comment_shown(self, report: Report) -> bool | None:
        return selectors.comment_shown(report) if report.comment else None

    @admin.action(description="Hide the selected comments from pages and the API")
    def hide_comments(self, request, queryset) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        hidden = services.comment_hide(report_ids=ids)
        self._logged(request, ids, "Comment hidden.")
        self.message_user(request, f"{hidden} comments hidden.")

    @admin.action(description="Show the selected comments again (clears their abuse flags)")
    def show_comments(self, request, queryset) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        shown = services.comment_show(report_ids=ids)
        self._logged(request, ids, "Comment shown again, its flags cleared.")
        self.message_user(request, f"{shown} comments shown again.")

    def _logged(self, request, ids: list[int], message: str) -> None:
        commented = Report.objects.filter(pk__in=ids).exclude(comment="")
        rows = commented.select_related("service", "problem")  # what __str__ reads
        actions_log(request=request, rows=rows, message=message)
