"""The unit of evidence: the network a report came from, never a header the client chooses.

One person with one machine can send any User-Agent and any cookie, but not from many
networks. A report's *network* is its IPv4 /24 or IPv6 /56 (what one household, office or
small hosting customer holds); its *block* is the IPv4 /16 or IPv6 /32 around it (one
provider's allocation), which caps what one operator renting many small networks can add.

Its *site* is where the dedup window is claimed: the network itself for IPv4, the IPv6 /48
around it. A /48 is what one organisation is assigned, and what a free tunnel broker routes
to a single machine on request: its 256 /56s would otherwise be 256 networks, as many
counted reports as the block allows (four) from one machine, already enough for "possible
problems" on a quiet service. So a site adds one counted report per service per dedup
window, as one IPv4 /24 does (whose 256 addresses are as many homes of an ISP's pool).

An IPv6 address that carries an IPv4 one (6to4's 2002::/16, Teredo's 2001:0::/32, NAT64's
64:ff9b::/96, IPv4-mapped) is that IPv4 address here (outagewatch.clients.counted_address):
every IPv4 host holds its 6to4 /48 and Teredo addresses, which were otherwise one more
network, site and block for it. Only keyed hashes are stored: the address itself never
leaves the request.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from outagewatch.clients import address_prefix, counted_address
from outagewatch.keyed_hash import keyed_hash

NETWORK_PREFIX = {4: 24, 6: 56}
SITE_PREFIX = {4: 24, 6: 48}
BLOCK_PREFIX = {4: 16, 6: 32}
_SALT = "outagewatch.reports.network"


@dataclass(frozen=True)
class NetworkKeys:
    network: str  # keyed hash of the /24 or /56
    site: str  # keyed hash of the /24 or /48: the dedup window's key
    block: str  # keyed hash of the /16 or /32


def network_keys(address: str) -> NetworkKeys:
    parsed = counted_address(address)
    return NetworkKeys(
        network=keyed_hash(_SALT, address_prefix(parsed, NETWORK_PREFIX)),
        site=keyed_hash(_SALT, address_prefix(parsed, SITE_PREFIX)),
        block=keyed_hash(_SALT, address_prefix(parsed, BLOCK_PREFIX)),
    )


def block_window_end(block_key: str, now: dt.datetime, minutes: int) -> dt.datetime:
    """The end of the block's window holding ``now``: each block's windows are a fixed grid
    of ``minutes``, shifted by a phase of its own (from its key).

    Windows started at a block's first counted report began together for every block at an
    outage's onset: a surge from a few hundred provider blocks used up all their allowances
    in its first minutes, its counted reports fell to none for an hour while thousands a
    minute still came, and the outage was declared over (scale tester, fortieth session).
    Phased, a tenth of the blocks opens a new window every tenth of the hour, so a sustained
    surge keeps counting (about allowance x blocks / minutes a minute), and each block still
    adds at most its allowance per window.
    """
    period = minutes * 60
    # The key is a keyed HMAC in hex: its leading digits are already uniform, no need to hash
    # again on every report.
    phase = int(block_key[:8] or "0", 16) % period
    at = int(now.timestamp())
    start = at - (at - phase) % period
    return dt.datetime.fromtimestamp(start + period, tz=dt.UTC)
