"""The address policy's ranges: one explicit, versioned table (DESIGN §8), data only.

Why a table and not ``ipaddress``'s ``is_private``/``is_global``: those properties changed
between CPython patch releases (gh-113171, CVE-2024-4032) and missed ranges (CGNAT, several
IANA blocks). Here every block of the IANA IPv4 and IPv6 Special-Purpose Address Registries
is written down with its RFC and a category that decides the verdict; the policy takes the
most specific row containing an address (longest-prefix match), so a /32 metadata row wins
over its enclosing private or link-local block. Rows that are not IANA blocks (cloud
metadata endpoints, multicast, the deprecated site-local prefix, the IPv4-compatible and
IPv4-translated forms) say where they come from in ``rfc``.

To update: follow a newer registry snapshot, edit the rows, bump ``RANGES_VERSION``, and
extend tests/security/test_address_table.py (it names every row).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

#: the IANA registry snapshot these rows follow (both special-purpose registries, including
#: RFC 9637 3fff::/20, RFC 9602 5f00::/16, RFC 9665 2001:1::3 and RFC 9780 100:0:0:1::/64)
RANGES_VERSION = "iana-2025-04"


class Category(StrEnum):
    """What a range means for a probe: the policy's verdict follows from it alone."""

    #: RFC 1918, loopback, ULA, CGNAT: allowed only with ``allow_private_networks``
    PRIVATE = "private"
    #: always refused (unless an operator allow entry names it)
    LINK_LOCAL = "link_local"
    #: cloud metadata endpoints: always refused; only an allow entry inside the row lifts it
    METADATA = "metadata"
    #: documentation, benchmarking, future use, protocol assignments: always refused
    RESERVED = "reserved"
    #: the unspecified address: refused (not something one connects to)
    UNSPECIFIED = "unspecified"
    MULTICAST = "multicast"
    BROADCAST = "broadcast"
    #: an IPv6 form carrying an IPv4 address: the embedded address is judged
    TRANSLATION = "translation"
    #: special-purpose but globally reachable per IANA (anycast services): allowed
    GLOBAL = "global"


class Embedding(StrEnum):
    """Where a translation row keeps its IPv4 address."""

    LOW_32 = "low_32"  # mapped, translated, compatible, NAT64: the last 32 bits
    SIX_TO_FOUR = "6to4"  # 2002:AABB:CCDD::/48: bits 16..47
    TEREDO = "teredo"  # client address: the bitwise NOT of the last 32 bits


@dataclass(frozen=True)
class AddressRange:
    """One row: the block, its registry name, the defining RFC and the category."""

    network: str
    name: str
    rfc: str
    category: Category
    embedding: Embedding | None = None


_P, _LL, _MD, _R = Category.PRIVATE, Category.LINK_LOCAL, Category.METADATA, Category.RESERVED
_T, _G = Category.TRANSLATION, Category.GLOBAL

IPV4_RANGES: tuple[AddressRange, ...] = (
    AddressRange("0.0.0.0/8", '"This network"', "RFC 791 §3.2", _R),
    AddressRange(
        "0.0.0.0/32", '"This host on this network"', "RFC 1122 §3.2.1.3", Category.UNSPECIFIED
    ),
    AddressRange("10.0.0.0/8", "Private-Use", "RFC 1918", _P),
    AddressRange("100.64.0.0/10", "Shared Address Space (CGNAT)", "RFC 6598", _P),
    AddressRange("100.100.100.200/32", "Alibaba Cloud metadata", "vendor (Alibaba Cloud ECS)", _MD),
    AddressRange("127.0.0.0/8", "Loopback", "RFC 1122 §3.2.1.3", _P),
    AddressRange("169.254.0.0/16", "Link Local", "RFC 3927", _LL),
    AddressRange(
        "169.254.169.254/32",
        "Cloud metadata (AWS, GCP, Azure, OpenStack)",
        "vendor (AWS IMDS)",
        _MD,
    ),
    AddressRange("172.16.0.0/12", "Private-Use", "RFC 1918", _P),
    AddressRange("192.0.0.0/24", "IETF Protocol Assignments", "RFC 6890 §2.1", _R),
    AddressRange("192.0.0.0/29", "IPv4 Service Continuity Prefix", "RFC 7335", _R),
    AddressRange("192.0.0.8/32", "IPv4 dummy address", "RFC 7600", _R),
    AddressRange("192.0.0.9/32", "Port Control Protocol Anycast", "RFC 7723", _G),
    AddressRange("192.0.0.10/32", "Traversal Using Relays around NAT Anycast", "RFC 8155", _G),
    AddressRange("192.0.0.170/32", "NAT64/DNS64 Discovery", "RFC 8880", _R),
    AddressRange("192.0.0.171/32", "NAT64/DNS64 Discovery", "RFC 8880", _R),
    AddressRange(
        "192.0.0.192/32", "Oracle Cloud metadata", "vendor (Oracle Cloud Infrastructure)", _MD
    ),
    AddressRange("192.0.2.0/24", "Documentation (TEST-NET-1)", "RFC 5737", _R),
    AddressRange("192.31.196.0/24", "AS112-v4", "RFC 7535", _G),
    AddressRange("192.52.193.0/24", "AMT", "RFC 7450", _G),
    AddressRange("192.88.99.0/24", "Deprecated (6to4 Relay Anycast)", "RFC 7526", _R),
    AddressRange("192.168.0.0/16", "Private-Use", "RFC 1918", _P),
    AddressRange("192.175.48.0/24", "Direct Delegation AS112 Service", "RFC 7534", _G),
    AddressRange("198.18.0.0/15", "Benchmarking", "RFC 2544", _R),
    AddressRange("198.51.100.0/24", "Documentation (TEST-NET-2)", "RFC 5737", _R),
    AddressRange("203.0.113.0/24", "Documentation (TEST-NET-3)", "RFC 5737", _R),
    AddressRange("224.0.0.0/4", "Multicast", "RFC 5771", Category.MULTICAST),
    AddressRange("240.0.0.0/4", "Reserved", "RFC 1112 §4", _R),
    AddressRange(
        "255.255.255.255/32", "Limited Broadcast", "RFC 8190, RFC 919 §7", Category.BROADCAST
    ),
)

IPV6_RANGES: tuple[AddressRange, ...] = (
    AddressRange("::/128", "Unspecified Address", "RFC 4291", Category.UNSPECIFIED),
    AddressRange("::1/128", "Loopback Address", "RFC 4291", _P),
    AddressRange(
        "::/96", "IPv4-compatible (deprecated)", "RFC 4291 §2.5.5.1", _T, Embedding.LOW_32
    ),
    AddressRange("::ffff:0:0/96", "IPv4-mapped Address", "RFC 4291", _T, Embedding.LOW_32),
    AddressRange("::ffff:0:0:0/96", "IPv4-translated Address", "RFC 2765", _T, Embedding.LOW_32),
    AddressRange("64:ff9b::/96", "IPv4-IPv6 Translat.", "RFC 6052", _T, Embedding.LOW_32),
    AddressRange(
        "64:ff9b:1::/48", "IPv4-IPv6 Translat. (local-use)", "RFC 8215", _T, Embedding.LOW_32
    ),
    AddressRange("100::/64", "Discard-Only Address Block", "RFC 6666", _R),
    AddressRange("100:0:0:1::/64", "Dummy IPv6 Prefix", "RFC 9780", _R),
    AddressRange("2001::/23", "IETF Protocol Assignments", "RFC 2928", _R),
    AddressRange("2001::/32", "TEREDO", "RFC 4380, RFC 8190", _T, Embedding.TEREDO),
    AddressRange("2001:1::1/128", "Port Control Protocol Anycast", "RFC 7723", _G),
    AddressRange("2001:1::2/128", "Traversal Using Relays around NAT Anycast", "RFC 8155", _G),
    AddressRange("2001:1::3/128", "DNS-SD Service Registration Protocol Anycast", "RFC 9665", _G),
    AddressRange("2001:2::/48", "Benchmarking", "RFC 5180", _R),
    AddressRange("2001:3::/32", "AMT", "RFC 7450", _G),
    AddressRange("2001:4:112::/48", "AS112-v6", "RFC 7535", _G),
    AddressRange("2001:10::/28", "Deprecated (previously ORCHID)", "RFC 4843", _R),
    AddressRange("2001:20::/28", "ORCHIDv2", "RFC 7343", _G),
    AddressRange(
        "2001:30::/28", "Drone Remote ID Protocol Entity Tags (DETs) Prefix", "RFC 9374", _G
    ),
    AddressRange("2001:db8::/32", "Documentation", "RFC 3849", _R),
    AddressRange("2002::/16", "6to4", "RFC 3056", _T, Embedding.SIX_TO_FOUR),
    AddressRange("2620:4f:8000::/48", "Direct Delegation AS112 Service", "RFC 7534", _G),
    AddressRange("3fff::/20", "Documentation", "RFC 9637", _R),
    AddressRange("5f00::/16", "Segment Routing (SRv6) SIDs", "RFC 9602", _R),
    AddressRange("fc00::/7", "Unique-Local", "RFC 4193, RFC 8190", _P),
    AddressRange("fd00:ec2::254/128", "AWS IMDS (IPv6)", "vendor (AWS IMDS)", _MD),
    AddressRange("fe80::/10", "Link-Local Unicast", "RFC 4291", _LL),
    AddressRange("fec0::/10", "Site-Local (deprecated)", "RFC 3879", _P),
    AddressRange("ff00::/8", "Multicast", "RFC 4291", Category.MULTICAST),
)

RANGES: tuple[AddressRange, ...] = IPV4_RANGES + IPV6_RANGES
