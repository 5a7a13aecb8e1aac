"""Website: the subscribe form, the confirmation link, the one-click unsubscribe link."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from alerts import services, tokens
from alerts.api.views import MESSAGE
from alerts.forms import SubscribeForm
from outagewatch.api.throttling import ClientRateLimit
from reports import selectors
from reports.models import Service


def _masked(email: str) -> str:
    # Confirmation pages can be forwarded or screenshotted; enough to recognise, no more.
    local, _, domain = email.partition("@")
    return f"{local[:1]}{'•' * min(max(len(local) - 1, 1), 6)}@{domain}"


@require_POST
def subscribe(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        service = selectors.service_get(slug=slug)
    except Service.DoesNotExist:
        raise Http404("No such service.") from None
    form = SubscribeForm(request.POST)
    context = {"service": service, "subscribe_form": form}
    if not ClientRateLimit("subscriptions").check(request):
        context["throttled"] = True
        return render(request, "alerts/subscription_form.html", context, status=429)
    if not form.is_valid():
        return render(request, "alerts/subscription_form.html", context, status=400)
    services.subscription_request(
        email=form.cleaned_data["email"],
        service=service,
        countries=form.cleaned_data["countries"],
    )
    # The same answer whether or not the address is known: no way to probe subscribers.
    messages.success(request, MESSAGE)
    return redirect(f"{service.get_absolute_url()}#subscribe")


def _invalid(request: HttpRequest) -> HttpResponse:
    return render(request, "alerts/subscription_invalid.html", status=400)


# Token links are their own credential; mail providers POST the one-click unsubscribe
# without cookies, so CSRF tokens cannot apply. A GET never changes anything: link
# scanners in mail systems fetch every link.
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        pending = tokens.confirm_token_read(token)
    except tokens.InvalidToken:
        return _invalid(request)
    subscription = pending.subscription
    context = {
        "service": subscription.service,
        "email": _masked(subscription.email),
        "countries": pending.countries,
    }
    if request.method == "POST":
        # Single use: a second POST (replay, or after unsubscribing) changes nothing.
        if services.subscription_confirm(confirmation=pending.confirmation) is None:
            return _invalid(request)
        return render(request, "alerts/subscription_confirmed.html", context)
    return render(request, "alerts/subscription_confirm.html", context)


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscription = tokens.unsubscribe_token_read(token)
    except tokens.InvalidToken:
        return _invalid(request)
    context = {"service": subscription.service, "email": _masked(subscription.email)}
    if request.method == "POST":
        # RFC 8058 one-click (body "List-Unsubscribe=One-Click") and our own button alike.
        services.subscription_unsubscribe(subscription=subscription)
        return render(request, "alerts/subscription_unsubscribed.html", context)
    return render(request, "alerts/subscription_unsubscribe.html", context)
