from django.contrib import admin
from django.db import models

from detection.models import (
    OfficialIncident,
    OfficialIncidentUpdate,
    Outage,
    OutageEvent,
    SeriesBaseline,
    ServiceStatus,
    StatusSource,
)
from outagewatch.admin_shown import ShownOnly


class OutageEventInline(ShownOnly, admin.TabularInline):
    """What the detector saw at each step: why the outage opened, grew, ended."""

    model = OutageEvent
    extra = 0


@admin.register(Outage)
class OutageAdmin(ShownOnly, admin.ModelAdmin):
    # The detector's: its state machine (SeriesState) still holds an outage "resolved" here,
    # its counts and times are what the alerts quoted, and deleting one cascades into its
    # events and every delivery sent about it. Nothing in the product resolves or hides an
    # outage by hand, so this page shows it with its explanation and events.

    list_display = [
        "service",
        "status",
        "started_at",
        "detected_at",
        "resolved_at",
        "score",
        "rule",
    ]
    list_filter = ["status"]
    search_fields = ["service__name"]
    date_hierarchy = "started_at"
    show_full_result_count = False
    list_select_related = ["service"]
    # The detector's bookkeeping (detection.services.outage_tally): every network of a big
    # outage, too big to show and not for editing.
    exclude = ["tally"]
    inlines = [OutageEventInline]

    def get_queryset(self, request):
        # The tally (every network of a big outage) is neither listed nor edited.
        return super().get_queryset(request).defer("tally")


@admin.register(ServiceStatus)
class ServiceStatusAdmin(ShownOnly, admin.ModelAdmin):
    # Written by every tick: an edit here was overwritten a minute later, after the pages
    # and the API had shown it.

    list_display = ["service", "level", "since", "observed", "expected", "score", "updated_at"]
    list_filter = ["level"]
    search_fields = ["service__name"]
    list_select_related = ["service"]


@admin.register(SeriesBaseline)
class SeriesBaselineAdmin(ShownOnly, admin.ModelAdmin):
    # Fitted on a schedule: one deleted or edited by hand changed how its series is judged
    # until the next fit, with nothing to say it was not the fit.

    list_display = ["service", "country", "method", "fitted_at"]
    list_filter = ["method"]
    search_fields = ["service__name"]
    list_select_related = ["service"]
    exclude = ["params"]


class OfficialIncidentUpdateInline(ShownOnly, admin.TabularInline):
    model = OfficialIncidentUpdate
    extra = 0


@admin.register(StatusSource)
class StatusSourceAdmin(admin.ModelAdmin):
    list_display = ["url", "kind", "enabled", "indicator", "last_success_at", "failures"]
    # Django 6's default, which 5.2 warns without.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_filter = ["kind", "enabled", "indicator"]
    search_fields = ["url", "host"]
    # The data file (official_sources_load) says what is polled; here it can only be paused.
    # Neither added (the form has no address to poll) nor deleted: its incidents, the track
    # record's evidence, go with it, and the next load brings it back empty.
    readonly_fields = [
        *("url", "kind", "host", "page_url", "indicator", "description", "components"),
        *("etag", "last_modified", "last_polled_at", "last_success_at", "last_error"),
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(OfficialIncident)
class OfficialIncidentAdmin(ShownOnly, admin.ModelAdmin):
    # What the provider published, and the track record's evidence: shown, never edited,
    # added or deleted (an add form of read-only fields saved an empty incident).
    list_display = ["title", "source", "status", "impact", "started_at", "resolved_at"]
    list_filter = ["status", "impact"]
    search_fields = ["title", "external_id"]
    date_hierarchy = "started_at"
    list_select_related = ["source"]
    formfield_overrides = StatusSourceAdmin.formfield_overrides
    inlines = [OfficialIncidentUpdateInline]
