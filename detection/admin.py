from django.contrib import admin

from detection.models import Outage, OutageEvent, SeriesBaseline, ServiceStatus


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
    raw_id_fields = ["service"]
    inlines = [OutageEventInline]


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
