"""The unit of evidence: the network a report came from, never a header the client chooses.

One person with one machine can send any User-Agent and any cookie, but not from many
networks. A report's *network* is its IPv4 /24 or IPv6 /56 (what one household, office or
small hosting customer holds); its *block* is the IPv4 /16 or IPv6 /32 around it (one
provider's allocation), which caps what one operator renting many small networks can add.
Only keyed hashes of both are stored: the address itself never leaves the request.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from django.utils.crypto import salted_hmac

from outagewatch.clients import parse_address

NETWORK_PREFIX = {4: 24, 6: 56}
BLOCK_PREFIX = {4: 16, 6: 32}
_SALT = "outagewatch.reports.network"


@dataclass(frozen=True)
class NetworkKeys:
    network: str  # keyed hash of the /24 or /56
    block: str  # keyed hash of the /16 or /32


def _prefix(address: str, prefixes: dict[int, int]) -> str:
    parsed = parse_address(address)
    if parsed is None:
        # No usable address (a broken proxy setup): all such reports share one network, so
        # they can never add up to more than one network's evidence.
        return "unknown"
    net = ipaddress.ip_network(f"{parsed}/{prefixes[parsed.version]}", strict=False)
    return str(net)


def network_keys(address: str) -> NetworkKeys:
    return NetworkKeys(
        network=_keyed(_prefix(address, NETWORK_PREFIX)),
        block=_keyed(_prefix(address, BLOCK_PREFIX)),
    )


def _keyed(value: str) -> str:
    return salted_hmac(_SALT, value, algorithm="sha256").hexdigest()
