from django.contrib import admin

from detection.models import (
    OfficialIncident,
    OfficialIncidentUpdate,
    Outage,
    OutageEvent,
    SeriesBaseline,
    ServiceStatus,
    StatusSource,
)


class OutageEventInline(admin.TabularInline):
    model = OutageEvent
    extra = 0
    readonly_fields = ["at", "kind", "country", "observed", "expected", "message"]
    can_delete = False


@admin.register(Outage)
class OutageAdmin(admin.ModelAdmin):
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
    raw_id_fields = ["service"]
    # The detector's bookkeeping (detection.services.outage_tally), not for editing.
    exclude = ["tally"]
    inlines = [OutageEventInline]

    def get_queryset(self, request):
        # The tally (every network of a big outage) is neither listed nor edited.
        return super().get_queryset(request).defer("tally")


@admin.register(ServiceStatus)
class ServiceStatusAdmin(admin.ModelAdmin):
    list_display = ["service", "level", "since", "observed", "expected", "score", "updated_at"]
    list_filter = ["level"]
    search_fields = ["service__name"]
    raw_id_fields = ["service", "outage"]


@admin.register(SeriesBaseline)
class SeriesBaselineAdmin(admin.ModelAdmin):
    list_display = ["service", "country", "method", "fitted_at"]
    list_filter = ["method"]
    search_fields = ["service__name"]
    raw_id_fields = ["service"]
    exclude = ["params"]


class OfficialIncidentUpdateInline(admin.TabularInline):
    model = OfficialIncidentUpdate
    extra = 0
    readonly_fields = ["status", "at", "body", "seen_at"]
    can_delete = False


@admin.register(StatusSource)
class StatusSourceAdmin(admin.ModelAdmin):
    list_display = ["url", "kind", "enabled", "indicator", "last_success_at", "failures"]
    list_filter = ["kind", "enabled", "indicator"]
    search_fields = ["url", "host"]
    # The data file (official_sources_load) says what is polled; here it can only be paused.
    readonly_fields = [
        *("url", "kind", "host", "page_url", "indicator", "description", "components"),
        *("etag", "last_modified", "last_polled_at", "last_success_at", "last_error"),
    ]


@admin.register(OfficialIncident)
class OfficialIncidentAdmin(admin.ModelAdmin):
    list_display = ["title", "source", "status", "impact", "started_at", "resolved_at"]
    list_filter = ["status", "impact"]
    search_fields = ["title", "external_id"]
    date_hierarchy = "started_at"
    inlines = [OfficialIncidentUpdateInline]

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        # What the provider published: shown, never edited.
        return [field.name for field in OfficialIncident._meta.fields]
