"""Address policy for outbound probes (DESIGN §8): pure classification of one IP address.

The policy is applied to the address actually connected (see ``httpprobe.PolicyBackend``),
after DNS and on every redirect hop, so DNS rebinding and odd IP spellings cannot slip past.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA = (ipaddress.ip_network("169.254.169.254/32"), ipaddress.ip_network("fd00:ec2::254/128"))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
#: RFC 8215 local-use NAT64 prefix; deployments use a /96 inside it (IPv4 in the low 32 bits)
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
#: deprecated IPv4-compatible IPv6 addresses (::a.b.c.d), excluding :: and ::1
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_BROADCAST = ipaddress.IPv4Address("255.255.255.255")


def unwrap(addr: IPAddress) -> IPAddress:
    """The IPv4 address hidden in IPv4-mapped, IPv4-compatible, 6to4, NAT64 or Teredo IPv6
    forms, else ``addr``."""
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return addr.ipv4_mapped
        if addr.sixtofour is not None:
            return addr.sixtofour
        if addr.teredo is not None:
            return addr.teredo[1]
        if addr in _NAT64 or addr in _NAT64_LOCAL:
            return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
        if addr in _IPV4_COMPATIBLE and int(addr) > 1:
            return ipaddress.IPv4Address(int(addr))
    return addr


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses probes may connect to.

    Order: explicit deny list, explicit allow list, then metadata / link-local (always
    refused), private and loopback ranges (``allow_private_networks``), public addresses.
    """

    allow_private_networks: bool = True
    allow_cidrs: tuple[IPNetwork, ...] = field(default_factory=tuple)
    deny_cidrs: tuple[IPNetwork, ...] = field(default_factory=tuple)

    def verdict(self, address: str | IPAddress) -> str | None:
        """None when allowed, else a short reason naming the rule that refused it."""
        addr = ipaddress.ip_address(address) if isinstance(address, str) else address
        candidates = {addr, unwrap(addr)}
        for cand in candidates:
            for net in self.deny_cidrs:
                if cand.version == net.version and cand in net:
                    return f"{addr} is in the denied range {net}"
        for cand in candidates:
            for net in self.allow_cidrs:
                if cand.version == net.version and cand in net:
                    return None
        inner = unwrap(addr)
        for net in METADATA:
            if any(c.version == net.version and c in net for c in candidates):
                return f"{addr} is a cloud metadata address"
        if inner.is_link_local or addr.is_link_local:
            return f"{addr} is link-local"
        if inner.is_unspecified or inner.is_multicast or inner == _BROADCAST:
            return f"{addr} is not a unicast address"
        private = (
            inner.is_private
            or inner.is_loopback
            or inner in _CGNAT
            or (isinstance(inner, ipaddress.IPv6Address) and inner.is_site_local)
        )
        if private:
            if self.allow_private_networks:
                return None
            return f"{addr} is a private address and allow_private_networks is false"
        if inner.is_global:
            return None
        return f"{addr} is a reserved address"
