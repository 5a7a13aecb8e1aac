from django.contrib import admin

from detection.models import (
    AlertDelivery,
    ConfirmationDelivery,
    Outage,
    OutageEvent,
    SeriesBaseline,
    ServiceStatus,
    Subscription,
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


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["email", "service", "confirmed_at", "unsubscribed_at", "disabled_at"]
    list_filter = ["confirmed_at", "disabled_at"]
    search_fields = ["email", "service__name"]
    raw_id_fields = ["service"]


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(admin.ModelAdmin):
    list_display = ["outage", "subscription", "kind", "status", "attempts", "sent_at"]
    list_filter = ["kind", "status"]
    raw_id_fields = ["outage", "subscription"]


@admin.register(ConfirmationDelivery)
class ConfirmationDeliveryAdmin(admin.ModelAdmin):
    list_display = ["subscription", "status", "attempts", "created_at", "next_attempt_at"]
    list_filter = ["status"]
    raw_id_fields = ["subscription"]
