"""Address policy for outbound connections (DESIGN §8): pure classification of one IP address.

The policy is applied to the address actually connected (see ``http.PolicyBackend``, the tls
check and database checks), after DNS and on every redirect hop, so DNS rebinding and odd IP
spellings cannot slip past. What each range means comes from the explicit table in
:mod:`auditor.probe.address_ranges`, never from ``ipaddress``'s ``is_*`` properties, whose
ranges change between CPython releases.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from auditor.probe.address_ranges import RANGES, AddressRange, Category, Embedding

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _index(rows: tuple[AddressRange, ...]) -> dict[tuple[int, int], dict[int, AddressRange]]:
    """(version, prefix length) -> {network address as int: row}, for longest-prefix match."""
    index: dict[tuple[int, int], dict[int, AddressRange]] = {}
    for row in rows:
        net = ipaddress.ip_network(row.network)
        index.setdefault((net.version, net.prefixlen), {})[int(net.network_address)] = row
    return index


_INDEX = _index(RANGES)
_PREFIXES = {
    version: sorted((plen for v, plen in _INDEX if v == version), reverse=True)
    for version in (4, 6)
}


def classify(addr: IPAddress) -> AddressRange | None:
    """The most specific table row containing ``addr``; None for an ordinary public address."""
    bits = addr.max_prefixlen
    value = int(addr)
    for plen in _PREFIXES[addr.version]:
        mask = ((1 << plen) - 1) << (bits - plen)
        row = _INDEX[(addr.version, plen)].get(value & mask)
        if row is not None:
            return row
    return None


def _embedded(addr: IPAddress, row: AddressRange | None) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 translation form carries, else None."""
    if row is None or row.embedding is None:
        return None
    value = int(addr)
    if row.embedding is Embedding.SIX_TO_FOUR:
        return ipaddress.IPv4Address((value >> 80) & 0xFFFFFFFF)
    if row.embedding is Embedding.TEREDO:
        return ipaddress.IPv4Address(~value & 0xFFFFFFFF)
    return ipaddress.IPv4Address(value & 0xFFFFFFFF)


def unwrap(addr: IPAddress) -> IPAddress:
    """The IPv4 address hidden in an IPv4-mapped, -translated, -compatible, NAT64, 6to4 or
    Teredo IPv6 address, else ``addr``."""
    return _embedded(addr, classify(addr)) or addr


#: how bad each refusal is: the worst of the outer and the embedded address wins
_RANK = {
    Category.METADATA: 5,
    Category.LINK_LOCAL: 4,
    Category.UNSPECIFIED: 3,
    Category.MULTICAST: 3,
    Category.BROADCAST: 3,
    Category.RESERVED: 2,
    Category.PRIVATE: 1,
}


def _reason(subject: str, row: AddressRange) -> str:
    """Why an address in ``row`` is refused; the wording names the rule."""
    where = f"{row.name}, {row.network}, {row.rfc}"
    if row.category is Category.METADATA:
        return f"{subject} is a cloud metadata address ({where})"
    if row.category is Category.LINK_LOCAL:
        return f"{subject} is link-local ({where})"
    if row.category is Category.PRIVATE:
        return f"{subject} is a private address and allow_private_networks is false ({where})"
    if row.category is Category.RESERVED:
        return f"{subject} is a reserved address ({where})"
    return f"{subject} is not a unicast address ({where})"


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses probes and database checks may connect to.

    Both the address and any IPv4 address embedded in it are judged; the worst verdict wins.
    Order: the operator's deny list; then the table's category for each address; an operator
    allow entry lifts a refusal of an address it contains, except that a cloud metadata
    address is lifted only by an allow entry inside the metadata row itself (naming it
    explicitly), never by a broader range such as 169.254.0.0/16 or 100.64.0.0/10.
    """

    allow_private_networks: bool = True
    allow_cidrs: tuple[IPNetwork, ...] = field(default_factory=tuple)
    deny_cidrs: tuple[IPNetwork, ...] = field(default_factory=tuple)

    def verdict(self, address: str | IPAddress) -> str | None:
        """None when allowed, else a short reason naming the rule that refused it."""
        addr = ipaddress.ip_address(address) if isinstance(address, str) else address
        outer = classify(addr)
        inner = _embedded(addr, outer)
        judged: list[tuple[IPAddress, AddressRange | None]] = [(addr, outer)]
        if inner is not None:
            judged.append((inner, classify(inner)))
        for cand, _ in judged:
            for net in self.deny_cidrs:
                if _within(cand, net):
                    return f"{addr} is in the denied range {net}"
        refusals = []
        for cand, row in judged:
            if row is None or not self._refuses(row) or self._explicitly_allowed(cand, row):
                continue
            subject = str(addr) if cand is addr else f"{addr} (embedding {cand})"
            refusals.append((_RANK[row.category], _reason(subject, row)))
        return max(refusals)[1] if refusals else None

    def _refuses(self, row: AddressRange) -> bool:
        if row.category in (Category.TRANSLATION, Category.GLOBAL):
            return False
        return not (row.category is Category.PRIVATE and self.allow_private_networks)

    def _explicitly_allowed(self, addr: IPAddress, row: AddressRange) -> bool:
        for net in self.allow_cidrs:
            if not _within(addr, net):
                continue
            if row.category is not Category.METADATA:
                return True
            if net.subnet_of(ipaddress.ip_network(row.network)):  # type: ignore[arg-type]
                return True
        return False


def _within(addr: IPAddress, net: IPNetwork) -> bool:
    return addr.version == net.version and addr in net
