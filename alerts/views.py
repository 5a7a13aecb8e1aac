"""Website: the subscribe form, the confirmation link, the one-click unsubscribe link, and
the management page of a webhook, Slack or Discord channel."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from alerts import presentation, selectors, services, tokens
from alerts.api.views import message_for
from alerts.forms import SubscribeForm
from alerts.models import ConfirmationDelivery, Subscription
from outagewatch.api.throttling import ClientRateLimit
from reports import selectors as catalog
from reports.forms import placed_tag
from reports.models import Service


def _masked(email: str) -> str:
    # Confirmation pages can be forwarded or screenshotted; enough to recognise, no more.
    local, _, domain = email.partition("@")
    return f"{local[:1]}{'•' * min(max(len(local) - 1, 1), 6)}@{domain}"


@require_http_methods(["GET", "HEAD", "POST"])
def subscribe(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        service = catalog.service_get(slug=slug)
    except Service.DoesNotExist:
        raise Http404("No such service.") from None
    if request.method != "POST":
        # The address of the form's error page, opened again (shared, a restored tab): the
        # form where it lives, not a blank 405 (pages tester F13).
        return redirect(f"{service.get_absolute_url()}#subscribe")
    form = SubscribeForm(request.POST)
    context = {"service": service, "subscribe_form": form}
    # Checked before the allowance: a typing mistake sends nothing, and must not use up a
    # sign-up (five typos in an hour left the corrected form refused).
    if not form.is_valid():
        return render(request, "alerts/subscription_form.html", context, status=400)
    if not ClientRateLimit("subscriptions").check(request):
        context["throttled"] = True
        return render(request, "alerts/subscription_form.html", context, status=429)
    try:
        services.subscription_request(
            email=form.cleaned_data["email"],
            service=service,
            countries=form.cleaned_data["countries"],
            timezone_name=form.cleaned_data["timezone"],
            notify_acknowledged=form.cleaned_data["notify_acknowledged"],
            channel=form.cleaned_data["channel"],
            url=form.cleaned_data["url"],
        )
    except services.ConfirmationsWaitingFull as refused:
        # Not "a link is on its way": this one was not taken (and nothing changed).
        form.add_error(
            "email",
            presentation.confirmations_waiting_refusal(
                limit=refused.limit, retry_at=refused.retry_at, now=timezone.now()
            ),
        )
        return render(request, "alerts/subscription_form.html", context, status=429)
    # The same answer whether or not the address is known: no way to probe subscribers.
    # Shown in the form's card (templates/alerts/_subscribe_form.html), where the visitor is.
    messages.success(request, message_for(form.cleaned_data["channel"]), placed_tag("subscribe"))
    return redirect(f"{service.get_absolute_url()}#subscribe")


def invalid_link(request: HttpRequest) -> HttpResponse:
    return render(request, "alerts/subscription_invalid.html", status=400)


def _already_subscribed(request: HttpRequest, subscription: Subscription) -> HttpResponse:
    # A used link of a subscription that is on: people click "confirm" in the email twice
    # (or the link after confirming through a newer one). Telling them to subscribe again
    # would cost them another email and a place of their daily allowance.
    context = {
        "service": subscription.service,
        "email": _masked(subscription.email),
        "countries": subscription.countries,
    }
    return render(request, "alerts/subscription_already.html", context)


def _used_link(request: HttpRequest, subscription: Subscription) -> HttpResponse:
    """A confirm link used already: where the subscription stands, when that is "on"."""
    if selectors.subscription_is_active(subscription):
        return _already_subscribed(request, subscription)
    return invalid_link(request)


def _retired(request: HttpRequest, service: Service) -> HttpResponse:
    # Retired from the catalog: nothing is detected for it any more, so a confirmation would
    # promise alerts that never come. The link changes nothing (410: what it was for is gone).
    return render(request, "alerts/subscription_retired.html", {"service": service}, status=410)


# Token links are their own credential; mail providers POST the one-click unsubscribe
# without cookies, so CSRF tokens cannot apply. A GET never changes anything: link
# scanners in mail systems fetch every link.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        pending = tokens.confirm_token_read(token)
    except tokens.LinkUsed as used:
        return _used_link(request, used.subscription)
    except tokens.InvalidToken:
        return invalid_link(request)
    subscription = pending.subscription
    if not subscription.service.is_active:
        return _retired(request, subscription.service)
    context = {
        "service": subscription.service,
        "email": _masked(subscription.email),
        "countries": pending.countries,
        **pending_changes(subscription, pending.confirmation),
    }
    if request.method == "POST":
        # Single use: a second POST (replay, or after unsubscribing) changes nothing.
        confirmed = services.subscription_confirm(confirmation=pending.confirmation)
        if confirmed is None:  # used meanwhile, by another tab or another link
            subscription.refresh_from_db()
            return _used_link(request, subscription)
        # An outage going on now is told on the page too (its email is on its way).
        context["ongoing"] = selectors.outage_ongoing_for(subscription=confirmed)
        return render(request, "alerts/subscription_confirmed.html", context)
    return render(request, "alerts/subscription_confirm.html", context)


def pending_changes(subscription: Subscription, confirmation: ConfirmationDelivery) -> dict:
    """For a subscription that is on: what following this link changes (the page asks
    "make this change?", not "email me about outages?" as if it were new)."""
    if not selectors.subscription_is_active(subscription):
        return {}
    changes = presentation.subscription_changes(
        subscription,
        countries=list(confirmation.countries or []),
        timezone_name=confirmation.timezone,
        notify=confirmation.notify_acknowledged,
    )
    return {"already": True, "changes": changes}


@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscription = tokens.unsubscribe_token_read(token)
    except tokens.SubscriptionGone:
        # Forgotten since (the purge, a deleted channel): nothing is sent for this link, which
        # is what its holder, or a mail provider's one-click POST, wants to hear.
        return render(request, "alerts/subscription_gone.html")
    except tokens.InvalidToken:
        return invalid_link(request)
    context = {
        "service": subscription.service,
        "email": _masked(subscription.email),
        # A Slack, Discord or webhook channel's link stops the posts, not emails: its page said
        # "Stop emailing ann@..." and turned the webhook off (cross-surface tester, 47th
        # session). Its address gets no alerts, only the confirmation that carried the link.
        "posted": subscription.channel != Subscription.Channel.EMAIL,
        "channel_noun": presentation.channel_noun(subscription.channel),
    }
    if request.method == "POST":
        # RFC 8058 one-click (body "List-Unsubscribe=One-Click") and our own button alike.
        context["already"] = subscription.unsubscribed_at is not None
        services.subscription_unsubscribe(subscription=subscription)
        return render(request, "alerts/subscription_unsubscribed.html", context)
    if subscription.unsubscribed_at is not None:
        # Asking "Unsubscribe?" again would leave them wondering whether the first one worked
        # (a GET still changes nothing: this only reads).
        context["already"] = True
        return render(request, "alerts/subscription_unsubscribed.html", context)
    return render(request, "alerts/subscription_unsubscribe.html", context)
