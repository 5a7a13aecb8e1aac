"""Website: "report abuse" on a comment."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from outagewatch.api.throttling import ClientRateLimit
from outagewatch.clients import client_address
from reports import selectors, services
from reports.forms import placed_tag
from reports.models import Report, Service


class CommentFlagLimit(ClientRateLimit):
    # A handful per client: enough for a reader, too few to hide comments in bulk (a
    # comment needs flags from several networks before it leaves the pages). A
    # "comment-flags" throttle rate in the settings replaces the default.
    default_rate = "10/hour"
    scope: str  # set by __init__

    def __init__(self) -> None:
        super().__init__("comment-flags")

    def get_rate(self) -> str | None:
        return self.THROTTLE_RATES.get(self.scope, self.default_rate)


@require_POST
def comment_flag(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    try:
        service = selectors.service_get(slug=slug)
    except Service.DoesNotExist:
        raise Http404("No such service.") from None
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = service.get_absolute_url()
    tag = placed_tag("comments")
    if not CommentFlagLimit().check(request):
        messages.error(request, "You are reporting comments too fast. Please try later.", tag)
        return redirect(f"{back}#comments")
    try:
        flagged = services.comment_flag(
            service=service, report_id=pk, address=client_address(request)
        )
    except Report.DoesNotExist:
        raise Http404("No such comment.") from None
    messages.success(request, flagged.message, tag)
    return redirect(f"{back}#comments")
