"""Pure table tests for the outbound address policy (auditor/netpolicy.py, DESIGN §8)."""

from __future__ import annotations

import ipaddress

import pytest

from auditor.probe.addresses import AddressPolicy, unwrap

OPEN = AddressPolicy()
STRICT = AddressPolicy(allow_private_networks=False)


@pytest.mark.parametrize(
    ("address", "open_reason", "strict_reason"),
    [
        # cloud metadata, in every spelling: refused whatever allow_private_networks says
        pytest.param("169.254.169.254", "metadata", "metadata", id="metadata-v4"),
        pytest.param("fd00:ec2::254", "metadata", "metadata", id="metadata-v6"),
        pytest.param("::ffff:169.254.169.254", "metadata", "metadata", id="metadata-v4-mapped"),
        pytest.param("64:ff9b::a9fe:a9fe", "metadata", "metadata", id="metadata-nat64"),
        pytest.param("64:ff9b:1::a9fe:a9fe", "metadata", "metadata", id="metadata-nat64-local"),
        pytest.param("2002:a9fe:a9fe::1", "metadata", "metadata", id="metadata-6to4"),
        pytest.param("::a9fe:a9fe", "metadata", "metadata", id="metadata-v4-compatible"),
        # link-local
        pytest.param("169.254.1.1", "link-local", "link-local", id="link-local-v4"),
        pytest.param("fe80::1", "link-local", "link-local", id="link-local-v6"),
        pytest.param("fe80::1%eth0", "link-local", "link-local", id="link-local-scoped"),
        pytest.param("::ffff:169.254.7.7", "link-local", "link-local", id="link-local-mapped"),
        # private, loopback, CGNAT: allowed only with allow_private_networks
        pytest.param("10.1.2.3", None, "private", id="rfc1918-10"),
        pytest.param("172.16.0.1", None, "private", id="rfc1918-172"),
        pytest.param("192.168.1.1", None, "private", id="rfc1918-192"),
        pytest.param("127.0.0.1", None, "private", id="loopback-v4"),
        pytest.param("::1", None, "private", id="loopback-v6"),
        pytest.param("::ffff:127.0.0.1", None, "private", id="loopback-mapped"),
        pytest.param("64:ff9b::7f00:1", None, "private", id="loopback-nat64"),
        pytest.param("::7f00:1", None, "private", id="loopback-v4-compatible"),
        pytest.param("fd12:3456::1", None, "private", id="ula"),
        pytest.param("fec0::1", None, "private", id="site-local"),
        pytest.param("100.64.0.1", None, "private", id="cgnat-low"),
        pytest.param("100.127.255.254", None, "private", id="cgnat-high"),
        # not unicast
        pytest.param("0.0.0.0", "unicast", "unicast", id="unspecified-v4"),
        pytest.param("::", "unicast", "unicast", id="unspecified-v6"),
        pytest.param("224.0.0.1", "unicast", "unicast", id="multicast-v4"),
        pytest.param("ff02::1", "unicast", "unicast", id="multicast-v6"),
        pytest.param("255.255.255.255", "unicast", "unicast", id="broadcast"),
        # public
        pytest.param("8.8.8.8", None, None, id="public-v4"),
        pytest.param("100.128.0.1", None, None, id="just-above-cgnat"),
        pytest.param("2606:4700:4700::1111", None, None, id="public-v6"),
        pytest.param("::ffff:8.8.8.8", None, None, id="public-mapped"),
        pytest.param("64:ff9b::808:808", None, None, id="public-nat64"),
        pytest.param("2002:808:808::1", None, None, id="public-6to4"),
    ],
)
def test_verdict(address: str, open_reason: str | None, strict_reason: str | None) -> None:
    for policy, expected in ((OPEN, open_reason), (STRICT, strict_reason)):
        verdict = policy.verdict(address)
        if expected is None:
            assert verdict is None, f"{address} refused: {verdict}"
        else:
            assert verdict is not None and expected in verdict, (address, verdict)


def test_verdict_accepts_address_objects() -> None:
    assert STRICT.verdict(ipaddress.ip_address("10.0.0.1")) is not None
    assert STRICT.verdict(ipaddress.ip_address("8.8.8.8")) is None


def test_reserved_ranges_are_refused_when_strict() -> None:
    for address in ("192.0.2.1", "198.18.0.1", "240.0.0.1", "2001:db8::1"):
        assert STRICT.verdict(address) is not None, address


def _net(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(text)


@pytest.mark.parametrize(
    ("policy", "address", "allowed"),
    [
        pytest.param(
            AddressPolicy(deny_cidrs=(_net("8.8.8.0/24"),)), "8.8.8.8", False, id="deny-public"
        ),
        pytest.param(
            AddressPolicy(deny_cidrs=(_net("8.8.8.0/24"),)), "8.8.4.4", True, id="deny-other"
        ),
        pytest.param(
            AddressPolicy(deny_cidrs=(_net("8.8.8.0/24"),)),
            "::ffff:8.8.8.8",
            False,
            id="deny-mapped",
        ),
        pytest.param(
            AddressPolicy(deny_cidrs=(_net("8.8.8.0/24"),)),
            "64:ff9b::808:808",
            False,
            id="deny-nat64",
        ),
        pytest.param(
            AddressPolicy(deny_cidrs=(_net("10.0.0.0/8"),)), "10.0.0.1", False, id="deny-private"
        ),
        pytest.param(
            AddressPolicy(allow_private_networks=False, allow_cidrs=(_net("10.20.0.0/16"),)),
            "10.20.1.1",
            True,
            id="allow-private-range",
        ),
        pytest.param(
            AddressPolicy(allow_private_networks=False, allow_cidrs=(_net("10.20.0.0/16"),)),
            "10.21.1.1",
            False,
            id="allow-range-only",
        ),
        pytest.param(
            AddressPolicy(allow_cidrs=(_net("169.254.169.254/32"),)),
            "169.254.169.254",
            True,
            id="metadata-explicitly-allowed",
        ),
        pytest.param(
            AddressPolicy(allow_cidrs=(_net("10.0.0.0/8"),), deny_cidrs=(_net("10.0.0.0/24"),)),
            "10.0.0.5",
            False,
            id="deny-wins-over-allow",
        ),
        pytest.param(
            AddressPolicy(deny_cidrs=(_net("fd00::/8"),)), "10.0.0.1", True, id="deny-other-family"
        ),
    ],
)
def test_cidr_lists(policy: AddressPolicy, address: str, allowed: bool) -> None:
    verdict = policy.verdict(address)
    assert (verdict is None) is allowed, verdict


@pytest.mark.parametrize(
    ("address", "inner"),
    [
        ("::ffff:10.0.0.1", "10.0.0.1"),
        ("2002:a9fe:a9fe::1", "169.254.169.254"),
        ("64:ff9b::a9fe:a9fe", "169.254.169.254"),
        ("::a9fe:a9fe", "169.254.169.254"),
        ("::1", "::1"),
        ("::", "::"),
        ("2606:4700:4700::1111", "2606:4700:4700::1111"),
        ("8.8.8.8", "8.8.8.8"),
    ],
)
def test_unwrap(address: str, inner: str) -> None:
    assert unwrap(ipaddress.ip_address(address)) == ipaddress.ip_address(inner)
