"""Who is asking: the client's network address, as far as we can trust it.

X-Forwarded-For is written by whoever sent the request, so an entry is believed only when
the hop that appended it is one of our own proxies, named by address in TRUSTED_PROXIES.
Walking the header from the right, every hop that is a trusted proxy passes us on to the
entry before it; the first address that is not ours is the client. A request that reaches
the app directly (REMOTE_ADDR not a trusted proxy) is judged by REMOTE_ADDR alone, whatever
headers it carries.
"""

from __future__ import annotations

import ipaddress
from functools import cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from outagewatch.embedded_ipv4 import IPAddress, sender_ipv4

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@cache
def _trusted(proxies: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def parse_address(value: str) -> IPAddress | None:
    """An address from a header or REMOTE_ADDR; IPv4-mapped IPv6 is the IPv4 address."""
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.7:443"
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def counted_address(value: str) -> IPAddress | None:
    """The host a client address stands for, to a rate limit and to the evidence
    (reports.networks): an IPv6 address that carries an IPv4 one (6to4, Teredo, NAT64) is that
    IPv4 address.

    Every public IPv4 address owns a 6to4 /48 (2002:<its 32 bits>::/48) and Teredo addresses:
    counted apart, one IPv4 host was another network, site and block, and another client, by
    speaking IPv6 through them (abuse tester, fiftieth session). parse_address keeps the
    address as sent: it also reads the proxy hops, and a proxy is trusted by the address it
    connects from (2002:0a00:2:: is not the proxy at 10.0.0.2).
    """
    address = parse_address(value)
    return None if address is None else sender_ipv4(address) or address


def address_prefix(address: IPAddress | None, prefix: dict[int, int]) -> str:
    """The network of ``prefix[version]`` bits that holds ``address``, as text ("10.1.2.0/24")."""
    if address is None:
        # No usable address (a broken proxy setup): all such clients share one network, so
        # they can never add up to more than one network's evidence.
        return "unknown"
    bits = prefix[address.version]
    # What str(ip_network(f"{address}/{bits}", strict=False)) gives, without parsing again.
    network = type(address)(
        int(address) >> (address.max_prefixlen - bits) << (address.max_prefixlen - bits)
    )
    return f"{network}/{bits}"


# One client to a rate limit: an IPv4 address, or an IPv6 /64, the smallest subnet an end
# site gets (RFC 6177), in which one machine can take any address it likes (SLAAC, privacy
# extensions): counted by the address, one IPv6 host was never limited.
CLIENT_IPV6_PREFIX = {6: 64}


# The IPv6 site around a client: what one organisation is assigned, and what a free tunnel
# broker routes to a single machine. Its 65,536 /64s are as many clients to a per-client
# limit, so a site has an allowance of its own as well (outagewatch.api.throttling).
CLIENT_IPV6_SITE_PREFIX = {6: 48}


def client_site(request: HttpRequest) -> str | None:
    """The client's IPv6 /48; None for an IPv4 client (its address is its allowance)."""
    parsed = _client_parsed(request)
    if parsed is None or parsed.version == 4:
        return None
    return address_prefix(parsed, CLIENT_IPV6_SITE_PREFIX)


def client_unit(request: HttpRequest) -> str:
    """What a rate limit counts as one client: the address (counted_address), or its IPv6 /64."""
    parsed = _client_parsed(request)
    if parsed is None:
        return ""  # no usable address: client_address is empty too
    if parsed.version == 4:
        return str(parsed)  # the address as before: the keys of clients counted stay theirs
    return address_prefix(parsed, CLIENT_IPV6_PREFIX)


def _client_parsed(request: HttpRequest) -> IPAddress | None:
    """client_address as counted_address takes it, once per request (the throttle asks for
    the unit and the site of every report)."""
    # Any: the HttpRequest (DRF's Request wraps it) carries the result as an attribute of ours.
    raw: Any = getattr(request, "_request", request)
    if not hasattr(raw, "_client_parsed"):
        raw._client_parsed = counted_address(client_address(raw))
    return raw._client_parsed


def is_trusted_proxy(address: IPAddress) -> bool:
    return any(address in net for net in _trusted(tuple(settings.TRUSTED_PROXIES)))


def client_address(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or the X-Forwarded-For entry our proxies vouch for."""
    # DRF's Request wraps the HttpRequest; Any: it carries the result as an attribute of ours.
    raw: Any = getattr(request, "_request", request)
    # Asked by the throttle and the view alike: worked out once per request.
    known = getattr(raw, "_client_address", None)
    if known is None:
        known = raw._client_address = _client_address(raw)
    return known


def _client_address(request: HttpRequest) -> str:
    remote = parse_address(request.META.get("REMOTE_ADDR", "") or "")
    if remote is None:
        return ""
    client = remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded and is_trusted_proxy(remote):
        for hop in reversed([h for h in forwarded.split(",") if h.strip()]):
            address = parse_address(hop)
            if address is None:
                break  # garbage our proxy passed on: keep the last address we could vouch for
            client = address
            if not is_trusted_proxy(address):
                break
    return str(client)


def client_user_agent(request: HttpRequest) -> str:
    return (request.META.get("HTTP_USER_AGENT") or "")[:512]
