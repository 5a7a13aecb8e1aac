from django.contrib import admin

from alerts.models import AlertDelivery, ConfirmationDelivery, Subscription


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "service",
        "channel",
        "confirmed_at",
        "unsubscribed_at",
        "disabled_at",
        "failures",
    ]
    list_filter = ["channel", "confirmed_at", "disabled_at"]
    search_fields = ["email", "service__name"]
    raw_id_fields = ["service"]


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(admin.ModelAdmin):
    list_display = ["outage", "subscription", "kind", "episode", "status", "attempts", "sent_at"]
    list_filter = ["kind", "status"]
    raw_id_fields = ["outage", "subscription"]


@admin.register(ConfirmationDelivery)
class ConfirmationDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "subscription",
        "purpose",
        "status",
        "attempts",
        "created_at",
        "next_attempt_at",
    ]
    list_filter = ["purpose", "status"]
    raw_id_fields = ["subscription"]
