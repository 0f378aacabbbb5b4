"""The address policy's table, row by row (issue #17): every IANA special-purpose block, the
cloud metadata endpoints and every embedded-IPv4 spelling, in default and strict mode.

The expected rows are written out here, not read from the module, so a row that changes,
appears or disappears in auditor/probe/address_ranges.py fails this test until it is named.
"""

from __future__ import annotations

import ipaddress

import pytest

from auditor.probe.address_ranges import RANGES, RANGES_VERSION, Category
from auditor.probe.addresses import AddressPolicy, classify, unwrap

DEFAULT = AddressPolicy()
STRICT = AddressPolicy(allow_private_networks=False)

# verdict words: None = allowed; else a word the refusal must contain
MD, LL, UNI, RES, PRIV = "metadata", "link-local", "unicast", "reserved", "private"

#: (network, source, sample address, default verdict, strict verdict)
TABLE: list[tuple[str, str, str, str | None, str | None]] = [
    # IANA IPv4 Special-Purpose Address Registry
    ("0.0.0.0/8", "RFC 791 §3.2", "0.1.2.3", RES, RES),
    ("0.0.0.0/32", "RFC 1122 §3.2.1.3", "0.0.0.0", UNI, UNI),
    ("10.0.0.0/8", "RFC 1918", "10.0.0.1", None, PRIV),
    ("100.64.0.0/10", "RFC 6598", "100.64.0.1", None, PRIV),
    ("127.0.0.0/8", "RFC 1122 §3.2.1.3", "127.0.0.1", None, PRIV),
    ("169.254.0.0/16", "RFC 3927", "169.254.1.1", LL, LL),
    ("172.16.0.0/12", "RFC 1918", "172.31.255.254", None, PRIV),
    ("192.0.0.0/24", "RFC 6890 §2.1", "192.0.0.100", RES, RES),
    ("192.0.0.0/29", "RFC 7335", "192.0.0.2", RES, RES),
    ("192.0.0.8/32", "RFC 7600", "192.0.0.8", RES, RES),
    ("192.0.0.9/32", "RFC 7723", "192.0.0.9", None, None),
    ("192.0.0.10/32", "RFC 8155", "192.0.0.10", None, None),
    ("192.0.0.170/32", "RFC 8880", "192.0.0.170", RES, RES),
    ("192.0.0.171/32", "RFC 8880", "192.0.0.171", RES, RES),
    ("192.0.2.0/24", "RFC 5737", "192.0.2.1", RES, RES),
    ("192.31.196.0/24", "RFC 7535", "192.31.196.1", None, None),
    ("192.52.193.0/24", "RFC 7450", "192.52.193.1", None, None),
    ("192.88.99.0/24", "RFC 7526", "192.88.99.1", RES, RES),
    ("192.168.0.0/16", "RFC 1918", "192.168.1.1", None, PRIV),
    ("192.175.48.0/24", "RFC 7534", "192.175.48.1", None, None),
    ("198.18.0.0/15", "RFC 2544", "198.19.255.1", RES, RES),
    ("198.51.100.0/24", "RFC 5737", "198.51.100.1", RES, RES),
    ("203.0.113.0/24", "RFC 5737", "203.0.113.1", RES, RES),
    ("240.0.0.0/4", "RFC 1112 §4", "240.0.0.1", RES, RES),
    ("255.255.255.255/32", "RFC 8190, RFC 919 §7", "255.255.255.255", UNI, UNI),
    # multicast (IANA multicast address space registries)
    ("224.0.0.0/4", "RFC 5771", "224.0.0.1", UNI, UNI),
    # cloud metadata endpoints: win over their enclosing link-local / CGNAT / IETF blocks
    ("169.254.169.254/32", "vendor (AWS IMDS)", "169.254.169.254", MD, MD),
    ("100.100.100.200/32", "vendor (Alibaba Cloud ECS)", "100.100.100.200", MD, MD),
    ("192.0.0.192/32", "vendor (Oracle Cloud Infrastructure)", "192.0.0.192", MD, MD),
    ("fd00:ec2::254/128", "vendor (AWS IMDS)", "fd00:ec2::254", MD, MD),
    # IANA IPv6 Special-Purpose Address Registry
    ("::/128", "RFC 4291", "::", UNI, UNI),
    ("::1/128", "RFC 4291", "::1", None, PRIV),
    ("100::/64", "RFC 6666", "100::1", RES, RES),
    ("100:0:0:1::/64", "RFC 9780", "100:0:0:1::1", RES, RES),
    ("2001::/23", "RFC 2928", "2001:100::1", RES, RES),
    ("2001:1::1/128", "RFC 7723", "2001:1::1", None, None),
    ("2001:1::2/128", "RFC 8155", "2001:1::2", None, None),
    ("2001:1::3/128", "RFC 9665", "2001:1::3", None, None),
    ("2001:2::/48", "RFC 5180", "2001:2::1", RES, RES),
    ("2001:3::/32", "RFC 7450", "2001:3::1", None, None),
    ("2001:4:112::/48", "RFC 7535", "2001:4:112::1", None, None),
    ("2001:10::/28", "RFC 4843", "2001:10::1", RES, RES),
    ("2001:20::/28", "RFC 7343", "2001:20::1", None, None),
    ("2001:30::/28", "RFC 9374", "2001:30::1", None, None),
    ("2001:db8::/32", "RFC 3849", "2001:db8::1", RES, RES),
    ("2620:4f:8000::/48", "RFC 7534", "2620:4f:8000::1", None, None),
    ("3fff::/20", "RFC 9637", "3fff::1", RES, RES),
    ("5f00::/16", "RFC 9602", "5f00::1", RES, RES),
    ("fc00::/7", "RFC 4193, RFC 8190", "fd12:3456::1", None, PRIV),
    ("fe80::/10", "RFC 4291", "fe80::1", LL, LL),
    ("ff00::/8", "RFC 4291", "ff02::1", UNI, UNI),
    # deprecated site-local, kept private as before
    ("fec0::/10", "RFC 3879", "fec0::1", None, PRIV),
    # translation forms: the embedded address is judged, here the public 8.8.8.8
    ("::/96", "RFC 4291 §2.5.5.1", "::808:808", None, None),
    ("::ffff:0:0/96", "RFC 4291", "::ffff:8.8.8.8", None, None),
    ("::ffff:0:0:0/96", "RFC 2765", "::ffff:0:808:808", None, None),
    ("64:ff9b::/96", "RFC 6052", "64:ff9b::808:808", None, None),
    ("64:ff9b:1::/48", "RFC 8215", "64:ff9b:1::808:808", None, None),
    ("2002::/16", "RFC 3056", "2002:808:808::1", None, None),
    ("2001::/32", "RFC 4380, RFC 8190", "2001:0:4136:e378:8000:63bf:f7f7:f7f7", None, None),
]


def _check(policy: AddressPolicy, address: str, expected: str | None) -> None:
    verdict = policy.verdict(address)
    if expected is None:
        assert verdict is None, f"{address} refused: {verdict}"
    else:
        assert verdict is not None and expected in verdict, (address, verdict)


def test_the_table_is_versioned_after_an_iana_snapshot() -> None:
    assert RANGES_VERSION.startswith("iana-2025-")


def test_every_row_of_the_table_is_named_here_with_its_source() -> None:
    assert sorted((r.network, r.rfc) for r in RANGES) == sorted((n, s) for n, s, *_ in TABLE)
    assert len({r.network for r in RANGES}) == len(RANGES), "a network appears twice"
    for row in RANGES:
        ipaddress.ip_network(row.network)  # strict: no host bits set
        assert (row.category is Category.TRANSLATION) == (row.embedding is not None), row


@pytest.mark.parametrize(
    ("network", "source", "sample", "default", "strict"),
    TABLE,
    ids=[f"{n} ({s})" for n, s, *_ in TABLE],
)
def test_each_range(
    network: str, source: str, sample: str, default: str | None, strict: str | None
) -> None:
    row = classify(ipaddress.ip_address(sample))
    assert row is not None and row.network == network, (sample, row)
    assert row.rfc == source
    _check(DEFAULT, sample, default)
    _check(STRICT, sample, strict)


@pytest.mark.parametrize("address", ["8.8.8.8", "100.128.0.1", "2606:4700:4700::1111"])
def test_ordinary_public_addresses_are_in_no_row_and_allowed(address: str) -> None:
    assert classify(ipaddress.ip_address(address)) is None
    _check(DEFAULT, address, None)
    _check(STRICT, address, None)


# -- every embedded-IPv4 spelling -----------------------------------------------------------


def _forms(v4: str) -> dict[str, str]:
    """Every IPv6 spelling that carries ``v4`` (see address_ranges.Embedding)."""
    n = int(ipaddress.IPv4Address(v4))
    six = ipaddress.IPv6Address
    return {
        "mapped": str(six((0xFFFF << 32) | n)),
        "translated": str(six((0xFFFF << 48) | n)),
        "nat64": str(six((0x64FF9B << 96) | n)),
        "nat64-local": str(six(int(six("64:ff9b:1::")) | n)),
        "6to4": str(six((0x2002 << 112) | (n << 80) | 1)),
        # server 65.54.227.120, flags 0x8000, port 0x63bf; the client is stored inverted
        "teredo": str(six(int(six("2001:0:4136:e378:8000:63bf::")) | (~n & 0xFFFFFFFF))),
        "compatible": str(six(n)),
    }


EMBEDDED = [
    # (inner, default verdict, strict verdict)
    ("169.254.169.254", MD, MD),
    ("100.100.100.200", MD, MD),
    ("192.0.0.192", MD, MD),
    ("10.0.0.1", None, PRIV),
]


@pytest.mark.parametrize(
    ("inner", "form", "default", "strict"),
    [(v4, form, d, s) for v4, d, s in EMBEDDED for form in _forms("0.0.0.0")],
    ids=[f"{v4}-{form}" for v4, *_ in EMBEDDED for form in _forms("0.0.0.0")],
)
def test_every_embedded_form_is_judged_by_its_ipv4(
    inner: str, form: str, default: str | None, strict: str | None
) -> None:
    address = _forms(inner)[form]
    assert unwrap(ipaddress.ip_address(address)) == ipaddress.IPv4Address(inner), address
    _check(DEFAULT, address, default)
    _check(STRICT, address, strict)


def test_the_ipv4_translated_metadata_gap_is_closed() -> None:
    """``::ffff:0:a9fe:a9fe`` (RFC 2765) was not unwrapped before the table."""
    _check(DEFAULT, "::ffff:0:a9fe:a9fe", MD)


def test_the_teredo_spelling_matches_the_stdlib_reading() -> None:
    teredo = ipaddress.IPv6Address(_forms("169.254.169.254")["teredo"]).teredo
    assert teredo is not None and str(teredo[1]) == "169.254.169.254"


def test_the_worst_of_outer_and_inner_wins() -> None:
    # outer fine (translation), inner metadata: refused as metadata, naming both
    verdict = DEFAULT.verdict("64:ff9b::a9fe:a9fe")
    assert verdict is not None and "metadata" in verdict and "169.254.169.254" in verdict


# -- operator allow / deny lists ------------------------------------------------------------


def _nets(*cidrs: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


@pytest.mark.parametrize(
    ("allow", "address", "allowed"),
    [
        # a broad allow never opens a metadata address inside it…
        pytest.param(("100.64.0.0/10",), "100.100.100.200", False, id="cgnat-allow-not-alibaba"),
        pytest.param(("100.64.0.0/10",), "100.64.0.1", True, id="cgnat-allow"),
        pytest.param(("169.254.0.0/16",), "169.254.169.254", False, id="ll-allow-not-imds"),
        pytest.param(("169.254.0.0/16",), "169.254.1.1", True, id="ll-allow"),
        pytest.param(("192.0.0.0/24",), "192.0.0.192", False, id="ietf-allow-not-oracle"),
        pytest.param(("192.0.0.0/24",), "192.0.0.100", True, id="ietf-allow"),
        pytest.param(("::ffff:0:0/96",), "::ffff:169.254.169.254", False, id="mapped-allow"),
        pytest.param(("0.0.0.0/0",), "169.254.169.254", False, id="allow-everything"),
        # …only an entry naming it does (DESIGN §8: "unless explicitly allowed")
        pytest.param(("169.254.169.254/32",), "169.254.169.254", True, id="imds-named"),
        pytest.param(("100.100.100.200/32",), "100.100.100.200", True, id="alibaba-named"),
        # an allow lifts reserved ranges too
        pytest.param(("198.18.0.0/15",), "198.18.0.1", True, id="benchmark-allow"),
    ],
)
def test_explicit_allow(allow: tuple[str, ...], address: str, allowed: bool) -> None:
    policy = AddressPolicy(allow_private_networks=False, allow_cidrs=_nets(*allow))
    assert (policy.verdict(address) is None) is allowed, policy.verdict(address)


def test_deny_covers_the_embedded_address_and_wins_over_allow() -> None:
    policy = AddressPolicy(allow_cidrs=_nets("8.8.8.0/24"), deny_cidrs=_nets("8.8.8.8/32"))
    for address in ("8.8.8.8", *_forms("8.8.8.8").values()):
        verdict = policy.verdict(address)
        assert verdict is not None and "denied" in verdict, address
