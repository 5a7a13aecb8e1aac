"""The unit of evidence: the network a report came from, never a header the client chooses.

One person with one machine can send any User-Agent and any cookie, but not from many
networks. A report's *network* is its IPv4 /24 or IPv6 /56 (what one household, office or
small hosting customer holds); its *block* is the IPv4 /16 or IPv6 /32 around it (one
provider's allocation), which caps what one operator renting many small networks can add.
Only keyed hashes of both are stored: the address itself never leaves the request.
"""

from __future__ import annotations

from dataclasses import dataclass

from outagewatch.clients import address_prefix, parse_address
from outagewatch.keyed_hash import keyed_hash

NETWORK_PREFIX = {4: 24, 6: 56}
BLOCK_PREFIX = {4: 16, 6: 32}
_SALT = "outagewatch.reports.network"


@dataclass(frozen=True)
class NetworkKeys:
    network: str  # keyed hash of the /24 or /56
    block: str  # keyed hash of the /16 or /32


def network_keys(address: str) -> NetworkKeys:
    parsed = parse_address(address)
    return NetworkKeys(
        network=keyed_hash(_SALT, address_prefix(parsed, NETWORK_PREFIX)),
        block=keyed_hash(_SALT, address_prefix(parsed, BLOCK_PREFIX)),
    )
