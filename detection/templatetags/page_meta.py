"""{% canonical_url %}: the page's address on the public site, for link previews."""

from __future__ import annotations

from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag(takes_context=True)
def canonical_url(context: template.Context) -> str:
    # SITE_URL, not the request's Host header: a preview must name the public address even
    # when the request came through a proxy or an internal name.
    request = context.get("request")
    return settings.SITE_URL + (request.path if request is not None else "/")
