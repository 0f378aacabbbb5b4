"""Judgement of the cipher-suite scan (pure): weak suites, forward secrecy, Mozilla profile.

Graded like Mozilla's server-side TLS profiles (``suites``) and the verdicts in
``reference/tls.md`` §3.2: suites that give no real protection (NULL, EXPORT, anonymous,
RC4, DES, 3DES) fail; CBC with an HMAC-SHA1 and static-RSA key exchange (no forward
secrecy) warn; whatever else keeps the server below the required profile is one
``tls.profile`` warning. Each problem is reported once, by its most specific finding.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from checks.base import Judged, RunStatus, Severity, judged
from checks.tls.suites import Suite, rank, shortfall

_f = partial(judged, "tls")


def _names(suites: list[str], limit: int = 4) -> str:
    return ", ".join(suites[:limit]) + (" …" if len(suites) > limit else "")


def cipher_rules(facts: Mapping[str, Any], required: str) -> list[Judged]:
    scan = facts.get("ciphers") or {}
    if not scan.get("tested"):
        return []
    tls12: list[str] = list(scan.get("tls12") or [])
    tls13 = bool(scan.get("tls13"))
    out: list[Judged] = []
    broken = [(n, why) for n in tls12 if (why := Suite(n).broken)]
    if broken:
        kinds = sorted({why for _, why in broken})
        out.append(
            _f(
                RunStatus.FAIL,
                "weak_cipher",
                Severity.HIGH,
                f"the server accepts broken cipher suites: {_names([n for n, _ in broken])} "
                f"({'; '.join(kinds)})",
            )
        )
    cbc = [n for n in tls12 if Suite(n).cbc_sha1]
    if cbc:
        out.append(
            _f(
                RunStatus.WARN,
                "weak_cipher",
                Severity.LOW,
                f"the server accepts CBC suites with HMAC-SHA1 ({_names(cbc)}): padding-oracle "
                "prone, Mozilla old profile only; offer ECDHE with AES-GCM or ChaCha20",
            )
        )
    static = [n for n in tls12 if not Suite(n).forward_secret]
    if static:
        fs = [n for n in tls12 if Suite(n).forward_secret and not Suite(n).anonymous]
        whole = not fs and not tls13
        out.append(
            _f(
                RunStatus.WARN,
                "no_forward_secrecy",
                Severity.HIGH if whole else Severity.MEDIUM,
                (
                    "no forward secrecy: the server only offers static RSA key exchange "
                    if whole
                    else "the server accepts static RSA key exchange (no forward secrecy) "
                )
                + f"({_names(static)}); a stolen key decrypts recorded traffic",
            )
        )
    profile = str(scan.get("profile") or "none")
    legacy = bool(facts.get("legacy_accepted"))
    if profile != "unknown" and rank(profile) > rank(required):
        reasons = shortfall(required, tls12, tls13, legacy)
        if reasons:
            out.append(
                _f(
                    RunStatus.WARN,
                    "profile",
                    Severity.LOW,
                    (
                        f"the server meets no Mozilla TLS profile (required: {required}): "
                        if profile == "none"
                        else f"the server meets the Mozilla {profile} TLS profile, not {required}: "
                    )
                    + "; ".join(reasons),
                )
            )
    return out
