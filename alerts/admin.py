from typing import Any
from urllib.parse import urlsplit

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from alerts.models import AlertDelivery, ConfirmationDelivery, Subscription
from alerts.services.subscriptions import subscription_disable
from outagewatch.admin_log import actions_log
from outagewatch.admin_shown import ShownOnly

DISABLED_BY_OPERATOR = "Disabled by an operator."
# A subscription's signing secrets: never read into an admin page, which shows none of them.
SECRETS = ("secret", "secret_previous")


def secrets_of(relation: str) -> list[str]:
    """The secret columns of the subscription behind ``relation`` (a lookup path), to defer."""
    return [f"{relation}__{name}" for name in SECRETS]


@admin.register(Subscription)
class SubscriptionAdmin(ShownOnly, admin.ModelAdmin):
    # What its owner confirmed (double opt-in) and what the outbox records: an address edited
    # here would get alerts nobody confirmed, a state edited here would skip what the
    # services do with it (the owner's notice of a disabled channel, revoked links). The one
    # operator's write is the action below; deletion is the product's own (the owner's
    # "delete" on the management page does the same), for an erasure request.
    list_display = [
        "email",
        "service",
        "channel",
        "confirmed_at",
        "unsubscribed_at",
        "disabled_at",
        "failures",
        "deliveries",
    ]
    list_filter = ["channel", "confirmed_at", "disabled_at"]
    search_fields = ["email", "service__name"]
    list_select_related = ["service"]
    show_full_result_count = False
    # The address of a Slack, Discord or webhook channel is a credential (whoever has it
    # posts there), and the signing secrets are what its receiver trusts: neither is shown.
    fields = [
        *("email", "service", "channel", "receiver", "signing", "countries"),
        *("notify_acknowledged", "timezone", "created_at", "confirmation_sent_at"),
        *("confirmed_at", "unsubscribed_at", "disabled_at", "disabled_reason", "failures"),
    ]
    readonly_fields = ["receiver", "signing"]
    actions = ["channels_disable"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Not ShownOnly's: deletion is the product's own (see above).
        return admin.ModelAdmin.has_delete_permission(self, request, obj)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Subscription]:
        return super().get_queryset(request).defer(*SECRETS)

    @admin.display(description="Receiver")
    def receiver(self, subscription: Subscription) -> str:
        if not subscription.url:
            return "-"
        parts = urlsplit(subscription.url)
        return f"{parts.scheme}://{parts.hostname}/…"

    @admin.display(description="Signing secret")
    def signing(self, subscription: Subscription) -> str:
        if subscription.channel != Subscription.Channel.WEBHOOK:
            return "-"
        shown = "Set (shown to its owner only)"
        if until := subscription.secret_overlap_until(timezone.now()):
            return f"{shown}; the one it replaced also signs until {until:%Y-%m-%d %H:%M} UTC"
        return shown

    @admin.display(description="Deliveries")
    def deliveries(self, subscription: Subscription) -> str:
        url = reverse("admin:alerts_alertdelivery_changelist")
        return format_html('<a href="{}?subscription__id__exact={}">list</a>', url, subscription.pk)

    @admin.action(description="Disable the selected channels (their owners are told)")
    def channels_disable(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        # Through the service a failing channel goes through: logged, the owner emailed, and
        # re-enabled the product's way (the owner's management page), not by editing a date.
        done = [
            subscription.pk
            for subscription in queryset.filter(disabled_at__isnull=True)
            if subscription_disable(subscription=subscription, reason=DISABLED_BY_OPERATOR)
        ]
        rows = Subscription.objects.filter(pk__in=done).select_related("service")
        actions_log(request=request, rows=rows, message="Channel disabled.")
        disabled = len(done)
        self.message_user(request, f"{disabled} channel{'' if disabled == 1 else 's'} disabled.")


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(ShownOnly, admin.ModelAdmin):
    # The outbox's: the row is the once-only guarantee (unique per outage, subscription and
    # event), so one deleted is never sent and one set back to pending is sent twice.
    list_display = ["outage", "subscription", "kind", "episode", "status", "attempts", "sent_at"]
    list_filter = ["kind", "status"]
    list_select_related = ["outage__service", "subscription__service"]
    # One row per outage event and follower: counted once, for the filter in use.
    show_full_result_count = False
    exclude = ["message_id"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AlertDelivery]:
        # Each row's outage came with its tally (every network of a big outage) and its
        # subscription with the signing secrets: neither is shown.
        return super().get_queryset(request).defer("outage__tally", *secrets_of("subscription"))


@admin.register(ConfirmationDelivery)
class ConfirmationDeliveryAdmin(ShownOnly, admin.ModelAdmin):
    # The outbox's, like AlertDeliveryAdmin: a confirmation set back to pending is sent again.
    list_display = [
        "subscription",
        "purpose",
        "status",
        "attempts",
        "created_at",
        "next_attempt_at",
    ]
    list_filter = ["purpose", "status"]
    list_select_related = ["subscription__service"]
    show_full_result_count = False
    exclude = ["message_id"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ConfirmationDelivery]:
        return super().get_queryset(request).defer(*secrets_of("subscription"))
