"""TLS 1.2 cipher suites as data, and the Mozilla server-side TLS profile they meet (pure).

Suites are grouped the way the scan offers them (one ClientHello per group, see
``cipherscan``); each accepted suite is then judged by its name. The profiles are
Mozilla's server-side TLS guidelines 5.7 (the last with "old"; 6.0 keeps "intermediate"
and "modern" and drops DHE from intermediate, which is still accepted here):

- modern: TLS 1.3 only;
- intermediate: TLS 1.2 (and 1.3) with ECDHE/DHE AEAD suites only;
- old: adds CBC suites, static RSA key exchange and DES-CBC3-SHA, and TLS 1.0/1.1.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

PROFILES = ("modern", "intermediate", "old")

# fmt: off
#: group -> (IANA id, OpenSSL name); the order is the order findings list them
GROUPS: dict[str, tuple[tuple[int, str], ...]] = {
    "fs_aead": (
        (0xC02B, "ECDHE-ECDSA-AES128-GCM-SHA256"), (0xC02F, "ECDHE-RSA-AES128-GCM-SHA256"),
        (0xC02C, "ECDHE-ECDSA-AES256-GCM-SHA384"), (0xC030, "ECDHE-RSA-AES256-GCM-SHA384"),
        (0xCCA9, "ECDHE-ECDSA-CHACHA20-POLY1305"), (0xCCA8, "ECDHE-RSA-CHACHA20-POLY1305"),
        (0x009E, "DHE-RSA-AES128-GCM-SHA256"), (0x009F, "DHE-RSA-AES256-GCM-SHA384"),
        (0xCCAA, "DHE-RSA-CHACHA20-POLY1305"),
    ),
    "fs_cbc_sha2": (
        (0xC023, "ECDHE-ECDSA-AES128-SHA256"), (0xC027, "ECDHE-RSA-AES128-SHA256"),
        (0xC024, "ECDHE-ECDSA-AES256-SHA384"), (0xC028, "ECDHE-RSA-AES256-SHA384"),
        (0x0067, "DHE-RSA-AES128-SHA256"), (0x006B, "DHE-RSA-AES256-SHA256"),
    ),
    "fs_cbc_sha1": (
        (0xC009, "ECDHE-ECDSA-AES128-SHA"), (0xC013, "ECDHE-RSA-AES128-SHA"),
        (0xC00A, "ECDHE-ECDSA-AES256-SHA"), (0xC014, "ECDHE-RSA-AES256-SHA"),
        (0x0033, "DHE-RSA-AES128-SHA"), (0x0039, "DHE-RSA-AES256-SHA"),
    ),
    "rsa_kx": (
        (0x009C, "AES128-GCM-SHA256"), (0x009D, "AES256-GCM-SHA384"),
        (0x003C, "AES128-SHA256"), (0x003D, "AES256-SHA256"),
        (0x002F, "AES128-SHA"), (0x0035, "AES256-SHA"),
    ),
    "other": (
        (0xC0AC, "ECDHE-ECDSA-AES128-CCM"), (0xC0AD, "ECDHE-ECDSA-AES256-CCM"),
        (0xC09E, "DHE-RSA-AES128-CCM"), (0xC09F, "DHE-RSA-AES256-CCM"),
        (0xC09C, "AES128-CCM"), (0xC09D, "AES256-CCM"),
        (0xC05C, "ECDHE-ECDSA-ARIA128-GCM-SHA256"), (0xC05D, "ECDHE-ECDSA-ARIA256-GCM-SHA384"),
        (0xC060, "ECDHE-ARIA128-GCM-SHA256"), (0xC061, "ECDHE-ARIA256-GCM-SHA384"),
        (0xC050, "ARIA128-GCM-SHA256"), (0xC051, "ARIA256-GCM-SHA384"),
        (0x0045, "DHE-RSA-CAMELLIA128-SHA"), (0x0088, "DHE-RSA-CAMELLIA256-SHA"),
        (0x0041, "CAMELLIA128-SHA"), (0x0084, "CAMELLIA256-SHA"),
        (0x009A, "DHE-RSA-SEED-SHA"), (0x0096, "SEED-SHA"),
    ),
    "3des": (
        (0xC012, "ECDHE-RSA-DES-CBC3-SHA"), (0xC008, "ECDHE-ECDSA-DES-CBC3-SHA"),
        (0x0016, "EDH-RSA-DES-CBC3-SHA"), (0x000A, "DES-CBC3-SHA"),
    ),
    "rc4": (
        (0xC011, "ECDHE-RSA-RC4-SHA"), (0xC007, "ECDHE-ECDSA-RC4-SHA"),
        (0x0005, "RC4-SHA"), (0x0004, "RC4-MD5"),
    ),
    "des_export": (
        (0x0015, "EDH-RSA-DES-CBC-SHA"), (0x0009, "DES-CBC-SHA"),
        (0x0014, "EXP-EDH-RSA-DES-CBC-SHA"), (0x0008, "EXP-DES-CBC-SHA"),
        (0x0006, "EXP-RC2-CBC-MD5"), (0x0003, "EXP-RC4-MD5"),
        (0x0062, "EXP1024-DES-CBC-SHA"), (0x0064, "EXP1024-RC4-SHA"),
    ),
    "null": (
        (0xC010, "ECDHE-RSA-NULL-SHA"), (0xC006, "ECDHE-ECDSA-NULL-SHA"),
        (0x003B, "NULL-SHA256"), (0x0002, "NULL-SHA"), (0x0001, "NULL-MD5"),
    ),
    "anon": (
        (0xC018, "AECDH-AES128-SHA"), (0xC019, "AECDH-AES256-SHA"),
        (0x00A6, "ADH-AES128-GCM-SHA256"), (0x00A7, "ADH-AES256-GCM-SHA384"),
        (0x006C, "ADH-AES128-SHA256"), (0x006D, "ADH-AES256-SHA256"),
        (0x0034, "ADH-AES128-SHA"), (0x003A, "ADH-AES256-SHA"),
        (0x0046, "ADH-CAMELLIA128-SHA"), (0x001B, "ADH-DES-CBC3-SHA"),
        (0x0018, "ADH-RC4-MD5"), (0xC016, "AECDH-RC4-SHA"), (0xC015, "AECDH-NULL-SHA"),
    ),
}
# fmt: on

NAME_OF: dict[int, str] = {i: n for group in GROUPS.values() for i, n in group}

INTERMEDIATE = frozenset(n for _, n in GROUPS["fs_aead"])
OLD = INTERMEDIATE | {
    *(n for _, n in GROUPS["fs_cbc_sha2"]),
    *(n for _, n in GROUPS["fs_cbc_sha1"] if not n.startswith("DHE-")),
    *(n for _, n in GROUPS["rsa_kx"]),
    "DES-CBC3-SHA",
}


@dataclass(frozen=True)
class Suite:
    """What a suite's name says about it."""

    name: str

    @property
    def anonymous(self) -> bool:
        return self.name.startswith(("ADH-", "AECDH-"))

    @property
    def forward_secret(self) -> bool:
        return self.name.startswith(("ECDHE-", "DHE-", "EDH-")) or self.anonymous

    @property
    def broken(self) -> str | None:
        """Why the suite gives no real protection (None when it does)."""
        n = self.name
        if self.anonymous:
            return "anonymous (no server authentication)"
        if "NULL" in n:
            return "NULL (no encryption)"
        if n.startswith("EXP"):
            return "EXPORT (40/56-bit)"
        if "RC4" in n:
            return "RC4 (RFC 7465)"
        if "DES-CBC-" in n:
            return "single DES (56-bit)"
        if "DES-CBC3" in n:
            return "3DES (64-bit block, SWEET32)"
        return None

    @property
    def cbc_sha1(self) -> bool:
        aead = any(m in self.name for m in ("GCM", "CHACHA20", "CCM"))
        return not aead and self.name.endswith("-SHA") and self.broken is None


def meets(profile: str, tls12: Iterable[str], tls13: bool, legacy: bool) -> bool:
    """Does a server accepting ``tls12`` suites (and TLS 1.3 / TLS 1.0-1.1) meet ``profile``?"""
    names = set(tls12)
    if profile == "modern":
        return tls13 and not names and not legacy
    if profile == "intermediate":
        return bool(names or tls13) and names <= INTERMEDIATE and not legacy
    return bool(names or tls13) and names <= OLD


def profile_of(tls12: Iterable[str], tls13: bool, legacy: bool) -> str:
    """The strictest Mozilla profile met, or ``none``."""
    names = list(tls12)
    return next((p for p in PROFILES if meets(p, names, tls13, legacy)), "none")


def rank(profile: str) -> int:
    """0 for modern … 3 for none: lower is stricter."""
    return PROFILES.index(profile) if profile in PROFILES else len(PROFILES)


def shortfall(required: str, tls12: Sequence[str], tls13: bool, legacy: bool) -> list[str]:
    """Why the server misses ``required``, for what no specific finding covers (CBC with
    SHA-2, suites outside Mozilla's lists, TLS 1.2 or no TLS 1.3 under modern)."""
    why: list[str] = []
    covered = [n for n in tls12 if (s := Suite(n)).broken or s.cbc_sha1 or not s.forward_secret]
    rest = [n for n in tls12 if n not in covered]
    allowed = OLD if required == "old" else INTERMEDIATE
    outside = [n for n in rest if n not in allowed]
    if required == "modern":
        if tls12:
            why.append(f"TLS 1.2 is accepted ({', '.join(tls12[:3])}); modern is TLS 1.3 only")
        if not tls13:
            why.append("TLS 1.3 is not offered")
    elif outside:
        why.append(f"it accepts {', '.join(outside[:4])} (not in Mozilla {required})")
    if required == "intermediate" and not tls12 and not tls13:
        why.append("no TLS 1.2 or 1.3 suite was accepted")
    return why


def tally(groups: Mapping[str, str | None]) -> list[str]:
    """Accepted suite names from a scan's ``group -> chosen suite`` map, in group order."""
    return [n for g in GROUPS if (n := groups.get(g))]
