"""Who is asking: the client's network address, as far as we can trust it."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """Return the client's address, trusting only NUM_PROXIES proxy hops.

    X-Forwarded-For is client-controlled except for the entries our own proxies
    appended, so we take the address NUM_PROXIES hops from the right.
    """
    remote_addr = request.META.get("REMOTE_ADDR", "") or ""
    num_proxies = settings.NUM_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if num_proxies <= 0 or not forwarded:
        return remote_addr
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if not hops:
        return remote_addr
    return hops[-min(num_proxies, len(hops))]


def client_user_agent(request: HttpRequest) -> str:
    return (request.META.get("HTTP_USER_AGENT") or "")[:512]
