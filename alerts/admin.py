from django.contrib import admin

from alerts.models import AlertDelivery, ConfirmationDelivery, Subscription


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
