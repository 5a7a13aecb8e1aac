"""Website views: the catalog and the report form."""

from __future__ import annotations

import math

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import select_template
from django.views.decorators.http import require_http_methods

from detection import live
from detection import views as live_views
from detection.presentation import country_name
from outagewatch.api.throttling import ClientRateLimit, throttle_unchecked
from outagewatch.clients import client_address
from reports import selectors, services
from reports.forms import ReportForm, placed_tag
from reports.geo import COUNTRY_COOKIE, country_guess
from reports.models import Report, Service

# The report form's confirmations are shown in its card (templates/reports/_report_form.html).
AT_REPORT = placed_tag("report")


def home(request: HttpRequest) -> HttpResponse:
    # NUL cannot be searched for (PostgreSQL refuses it); RequestGuardMiddleware refuses
    # such addresses already, this keeps the view safe on its own.
    query = request.GET.get("q", "").replace("\x00", "").strip()[:100]
    categories = selectors.categories_with_services(search=query)
    # Shared by every visitor, rebuilt after each detection tick; /live.json renders the
    # same read for an open page.
    board = live.home_live()
    notice = live.pipeline_notice()
    for category in categories:
        for service in category.matching:
            service.sparkline = board.lines.get(service.pk)
            service.level = board.levels.get(service.pk, "ok")
            service.state = board.states.get(service.pk)
    context = {
        "categories": categories,
        "query": query,
        "board": board.board,
        "upstreams": board.upstreams,
        "live_etag": live_views.home_body(notice=notice)["etag"],
        "pipeline_notice": notice,
    }
    return render(request, "reports/home.html", context)


def _region_dropped(form: ReportForm) -> str:
    country = country_name(form.cleaned_data["country"])
    return (
        f"We did not recognise “{form.region_dropped}” as a region of {country}, so your "
        "report was saved without a region."
    )


SUBSCRIBE_TEMPLATE = "alerts/_subscribe_form.html"


def _subscribe_template() -> str | None:
    """The subscription form, once the alerts app provides it."""
    try:
        return select_template([SUBSCRIBE_TEMPLATE]).template.name
    except TemplateDoesNotExist:
        return None


@require_http_methods(["GET", "HEAD", "POST"])
def service_detail(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        service = selectors.service_get(slug=slug)
    except Service.DoesNotExist:
        raise Http404("No such service.") from None

    status = 200
    retry_after = None
    if request.method == "POST":
        form = ReportForm(request.POST, service=service)
        # Validated before the allowance is counted: a mistake sends nothing, and must not use
        # up the reporter's minute.
        valid = form.is_valid()
        limit = ClientRateLimit("reports")
        if valid and not limit.check(request):
            messages.error(
                request, "You are sending reports too fast. Please wait a minute.", AT_REPORT
            )
            status = 429
            retry_after = str(max(1, math.ceil(limit.wait() or 60)))
        elif valid:
            try:
                created = services.report_create(
                    **form.cleaned_data,
                    service=service,
                    source=Report.Source.WEB,
                    address=client_address(request),
                    countable=not throttle_unchecked(request),
                )
            except services.CatalogChanged:  # the service was retired as we wrote
                raise Http404("No such service.") from None
            level = messages.SUCCESS if created.counted else messages.INFO
            messages.add_message(request, level, created.message, AT_REPORT)
            if form.region_dropped:
                messages.info(request, _region_dropped(form), AT_REPORT)
            sent = redirect(f"{service.get_absolute_url()}#report")
            sent.set_cookie(
                COUNTRY_COOKIE,
                form.cleaned_data["country"],
                max_age=365 * 86400,
                samesite="Lax",
                # Only the server reads it; over HTTPS it must never travel in clear text.
                httponly=True,
                secure=request.is_secure() or settings.SESSION_COOKIE_SECURE,
            )
            return sent
        else:
            messages.error(request, "Your report was not sent: please check below.", AT_REPORT)
            status = 400
    else:
        form = ReportForm(service=service, initial={"country": country_guess(request)})
    notice = live.pipeline_notice()
    read = live.service_live(service=service)
    context = {
        "service": service,
        "form": form,
        "problems": service.problem_types.all(),
        "subscribe_template": _subscribe_template(),
        **live_views.service_context(read),
        "live_etag": live_views.service_body(service, notice=notice, read=read)["etag"],
        "pipeline_notice": notice,
    }
    response = render(request, "reports/service_detail.html", context, status=status)
    if retry_after is not None:
        response["Retry-After"] = retry_after
    return response
