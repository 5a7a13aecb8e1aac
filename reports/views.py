"""Website views: the catalog and the report form."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from outagewatch.api.throttling import ClientRateLimit
from outagewatch.clients import client_address, client_user_agent
from reports import selectors, services
from reports.forms import ReportForm
from reports.geo import COUNTRY_COOKIE, country_guess
from reports.models import Report, Service


def home(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    categories = selectors.categories_with_services(search=query)
    return render(request, "reports/home.html", {"categories": categories, "query": query})


@require_http_methods(["GET", "HEAD", "POST"])
def service_detail(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        service = selectors.service_get(slug=slug)
    except Service.DoesNotExist:
        raise Http404("No such service.") from None

    status = 200
    if request.method == "POST":
        form = ReportForm(request.POST, service=service)
        if not ClientRateLimit("reports").check(request):
            messages.error(request, "You are sending reports too fast. Please wait a minute.")
            status = 429
        elif form.is_valid():
            created = services.report_create(
                **form.cleaned_data,
                service=service,
                source=Report.Source.WEB,
                address=client_address(request),
                user_agent=client_user_agent(request),
            )
            level = messages.SUCCESS if created.counted else messages.INFO
            messages.add_message(request, level, created.message)
            response = redirect(f"{service.get_absolute_url()}#report")
            response.set_cookie(
                COUNTRY_COOKIE, form.cleaned_data["country"], max_age=365 * 86400, samesite="Lax"
            )
            return response
        else:
            status = 400
    else:
        form = ReportForm(service=service, initial={"country": country_guess(request)})
    context = {"service": service, "form": form, "problems": service.problem_types.all()}
    return render(request, "reports/service_detail.html", context, status=status)
