"""IPv6 addresses that stand for an IPv4 one.

The ways from IPv4 to IPv6 write the IPv4 address into an IPv6 one. Whoever holds that IPv4
address holds the IPv6 forms too, so an IPv6 address of one of these forms is judged as the
IPv4 address it carries: where an outbound request would go (outagewatch.outbound), and who
a client is (outagewatch.clients).
"""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# NAT64's well-known prefix (RFC 6052): 64:ff9b::a.b.c.d is a.b.c.d behind a translator;
# and the deprecated IPv4-compatible form ::a.b.c.d (RFC 4291), which some stacks still route.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for: mapped (::ffff:10.0.0.1), 6to4
    (2002:0a00:0001::), NAT64 (64:ff9b::10.0.0.1) or IPv4-compatible (::10.0.0.1); None for
    any other."""
    if ip.version != 6:
        return None
    if ip.ipv4_mapped or ip.sixtofour:
        return ip.ipv4_mapped or ip.sixtofour
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1):  # not :: or ::1
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def sender_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 host an IPv6 source address comes from: embedded_ipv4's forms, and a Teredo
    client's (RFC 4380: 2001:0::/32, its public IPv4 address in the last 32 bits, inverted).

    Teredo is a sender's form only: a packet to a Teredo address goes through whichever relay
    routes 2001:0::/32 to a NAT's UDP port, not to the address it carries (outbound requests
    refuse the prefix, which Python counts not global).
    """
    if ip.version == 6 and ip.teredo:
        return ip.teredo[1]
    return embedded_ipv4(ip)
