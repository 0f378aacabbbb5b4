"""Pure judgement of collected TLS facts: which findings, with which status.

Every rule reads only the facts dict (including ``checked_at_ts``), so it can be
table-tested without a network, a clock or certificates. Severities and statuses follow
the verdicts in ``reference/tls.md`` §3 (SSL Labs / testssl.sh / Mozilla / CA/B BRs).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any, Protocol

from checks.base import Judged, RunStatus, Severity, judged
from checks.tls.limits import SECONDS_PER_DAY, lifetime_days, max_validity_days

WEAK_HASHES = frozenset({"md2", "md4", "md5", "sha1"})
MIN_RSA_BITS = 2048
MIN_DSA_BITS = 2048
MIN_EC_BITS = 256

Result = Judged


class TlsLimits(Protocol):
    """The option values the rules need (TlsCheck.Options satisfies it)."""

    @property
    def warn_days(self) -> int: ...
    @property
    def fail_days(self) -> int: ...
    @property
    def max_validity_days(self) -> int | None: ...
    @property
    def warn_fraction(self) -> float: ...
    @property
    def fail_fraction(self) -> float: ...


_f = partial(judged, "tls")


# --- identity -------------------------------------------------------------------------


def _idna(host: str) -> str:
    host = host.rstrip(".").lower()
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def dns_name_matches(host: str, pattern: str) -> bool:
    """RFC 6125 matching: exact, or one ``*`` as the whole left-most label (one label only)."""
    pattern = pattern.rstrip(".").lower()
    if not pattern:
        return False
    if pattern.startswith("*."):
        suffix = pattern[2:]
        if "*" in suffix or suffix.count(".") < 1:
            return False  # "*.com" style and multiple wildcards never match
        first, _, rest = host.partition(".")
        return bool(first) and rest == suffix
    if "*" in pattern:
        return False  # partial wildcards ("f*.example.com") are not honoured by browsers
    return host == pattern


def hostname_matches(host: str, san_dns: Sequence[str], san_ip: Sequence[str]) -> bool:
    """SAN-only matching: IP hosts match IP SANs, names match DNS SANs; the CN never counts."""
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        ip = None
    if ip is not None:
        if str(ip) in san_ip:  # SANs are stored in canonical form: no parse per SAN
            return True
        for value in san_ip:
            try:
                if ipaddress.ip_address(value) == ip:
                    return True
            except ValueError:
                continue
        return False
    name = _idna(host)
    return any(dns_name_matches(name, _idna(p) if "*" not in p else p) for p in san_dns)


# --- rules ----------------------------------------------------------------------------


def _label(cert: Mapping[str, Any], index: int) -> str:
    role = "leaf" if index == 0 else "intermediate"
    via = " (fetched from its AIA URL)" if cert.get("fetched") else ""
    return f"{role} {cert.get('subject') or '<no subject>'}{via}"


def path_certs(facts: Mapping[str, Any]) -> list[tuple[int, Mapping[str, Any]]]:
    """Presented certificates on the trust path (leaf first), or the leaf alone if none.

    Judging the path, not every certificate sent, keeps a superfluous expired cross-sign
    from failing a working chain (blackbox_exporter issues #589/#340). A self-signed root
    sent by the server is dropped: its own signature and dates are not what clients check.
    """
    chain: list[Mapping[str, Any]] = list(facts.get("chain") or [])
    if not chain:
        return []
    trust = facts.get("trust") or {}
    fetched: list[Mapping[str, Any]] = list(trust.get("fetched") or [])
    # a path index is a sent certificate (0, 1, …) or a fetched one (-1 is fetched[0], …)
    path = [i for i in trust.get("path") or [0] if 0 <= i < len(chain) or 0 < -i <= len(fetched)]
    if 0 not in path:
        path.insert(0, 0)
    out = []
    for i in path:
        # an intermediate fetched through AIA is on the path clients build: its dates count
        cert = chain[i] if i >= 0 else {**fetched[-i - 1], "fetched": True}
        if i != 0 and cert.get("self_signed"):
            continue
        out.append((i, cert))
    return out


def validity_rules(facts: Mapping[str, Any], opts: TlsLimits) -> list[Result]:
    now = float(facts["checked_at_ts"])
    out: list[Result] = []
    for i, cert in path_certs(facts):
        nb, na = float(cert["not_before_ts"]), float(cert["not_after_ts"])
        what = _label(cert, i)
        if now > na:
            days = int((now - na) // SECONDS_PER_DAY)
            out.append(
                _f(
                    RunStatus.FAIL,
                    "expired",
                    Severity.CRITICAL,
                    f"the {what} expired {days} day(s) ago ({cert['not_after']})",
                )
            )
        elif now < nb:
            out.append(
                _f(
                    RunStatus.FAIL,
                    "not_yet_valid",
                    Severity.CRITICAL,
                    f"the {what} is not valid before {cert['not_before']}",
                )
            )
        else:
            out += _expiry_rule(what, now, nb, na, opts)
    return out


def expiry_thresholds(nb: float, na: float, opts: TlsLimits) -> tuple[float, float]:
    """(warn, fail) in seconds left: a fraction of the certificate's lifetime, capped by the
    fixed days. A 90-day certificate warns at 21 days (not 30), a 12-hour one at 4 hours
    (not 21 days: short-lived certificates are renewed continuously, DESIGN §4)."""
    lifetime = max(0.0, na - nb)
    warn = min(opts.warn_days * SECONDS_PER_DAY, opts.warn_fraction * lifetime)
    fail = min(opts.fail_days * SECONDS_PER_DAY, opts.fail_fraction * lifetime)
    return warn, fail


def human_span(seconds: float) -> str:
    """``20.0 hours`` under two days, ``14.0 days`` above: a 12-hour certificate reads right."""
    if seconds < 2 * SECONDS_PER_DAY:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / SECONDS_PER_DAY:.1f} days"


def _why(threshold: float, days: int, fraction: float, lifetime: float) -> str:
    if threshold >= days * SECONDS_PER_DAY:
        return f"under {days} days"
    return f"under {human_span(threshold)}: {fraction:.2g} of its {human_span(lifetime)} lifetime"


def _expiry_rule(what: str, now: float, nb: float, na: float, opts: TlsLimits) -> list[Result]:
    warn, fail = expiry_thresholds(nb, na, opts)
    left = na - now
    if left < fail:
        status, code, severity = RunStatus.FAIL, "fail", Severity.HIGH
        why = _why(fail, opts.fail_days, opts.fail_fraction, na - nb)
    elif left < warn:
        status, code, severity = RunStatus.WARN, "warn", Severity.MEDIUM
        why = _why(warn, opts.warn_days, opts.warn_fraction, na - nb)
    else:
        return []
    return [
        _f(status, "expiring", severity, f"the {what} expires in {human_span(left)} ({code} {why})")
    ]


def publicly_trusted(facts: Mapping[str, Any]) -> bool:
    """Anchored in the system store (not a private ``ca_file``): the BRs apply in full."""
    trust = facts.get("trust") or {}
    return trust.get("store") == "system" and trust.get("status") in (
        "trusted",
        "incomplete_chain",
    )


def lifetime_rule(facts: Mapping[str, Any], opts: TlsLimits) -> list[Result]:
    leaf = facts["chain"][0]
    nb, na = float(leaf["not_before_ts"]), float(leaf["not_after_ts"])
    days = lifetime_days(nb, na)
    limit = opts.max_validity_days
    source = "configured maximum"
    if limit is None:
        from datetime import UTC, datetime

        limit = max_validity_days(datetime.fromtimestamp(nb, UTC))
        source = "CA/Browser Forum maximum for its issue date"
    if days <= limit:
        return []
    public = publicly_trusted(facts)
    status, severity = (
        (RunStatus.FAIL, Severity.MEDIUM) if public else (RunStatus.WARN, Severity.LOW)
    )
    kind = "publicly trusted" if public else "private-CA"
    return [
        _f(
            status,
            "validity_too_long",
            severity,
            f"the {kind} leaf is valid for {days} days, over the {source} of {limit}",
        )
    ]


def identity_rules(facts: Mapping[str, Any]) -> list[Result]:
    out: list[Result] = []
    leaf = facts["chain"][0]
    host = str(facts["host"])
    if not hostname_matches(host, leaf.get("san_dns") or [], leaf.get("san_ip") or []):
        if not leaf.get("has_san"):
            why = f"it has no subjectAltName (CN {leaf.get('common_name')!r} is not used)"
        else:
            names = [*(leaf.get("san_dns") or []), *(leaf.get("san_ip") or [])]
            why = f"it covers {', '.join(names[:5])}{' …' if len(names) > 5 else ''}"
        out.append(
            _f(
                RunStatus.FAIL,
                "hostname_mismatch",
                Severity.CRITICAL,
                f"the certificate is not valid for {host}: {why}",
            )
        )
    trust = facts.get("trust") or {}
    status = trust.get("status")
    store = "the CA file" if trust.get("store") == "ca_file" else "the system trust store"
    if status == "self_signed":
        out.append(
            _f(
                RunStatus.FAIL,
                "self_signed",
                Severity.CRITICAL,
                f"the certificate is self-signed and not in {store}",
            )
        )
    elif status in ("untrusted_root", "unknown_issuer"):
        detail = trust.get("detail") or "no path to a trusted root"
        out.append(
            _f(
                RunStatus.FAIL,
                "untrusted_root",
                Severity.CRITICAL,
                f"the chain is not trusted by {store}: {detail}",
            )
        )
    elif status == "issuer_not_sent":
        out.append(
            _f(
                RunStatus.FAIL,
                "incomplete_chain",
                Severity.HIGH,
                f"the server sends only its leaf certificate: its issuer "
                f"{trust.get('missing_issuer')} is neither sent nor {_aia_words(trust)}; send "
                "the intermediate certificate(s) after the leaf (e.g. nginx ssl_certificate "
                "= fullchain.pem), or, if that issuer is your own CA signing leaves directly, "
                "trust it with the check's ca_file option",
            )
        )
    elif status == "incomplete_chain":
        out.append(
            _f(
                RunStatus.FAIL,
                "incomplete_chain",
                Severity.HIGH,
                "the server does not send its intermediate certificate(s); clients without "
                f"AIA fetching cannot build the chain to {trust.get('anchor')}",
            )
        )
    return out


def _aia_words(trust: Mapping[str, Any]) -> str:
    """What became of the AIA fetch, for the incomplete-chain message."""
    log = trust.get("aia") or []
    if not log:
        return "fetchable (no AIA caIssuers URL, or fetching is off)"
    first = log[0]
    why = first.get("error") or f"HTTP {first.get('status')}, {first.get('certificates')} cert(s)"
    return f"fetchable from its AIA URL {first.get('url')} ({why})"


def strength_rules(facts: Mapping[str, Any]) -> list[Result]:
    out: list[Result] = []
    for i, cert in path_certs(facts):
        what = _label(cert, i)
        ktype, bits = cert.get("key_type"), cert.get("key_size")
        minimum = {"RSA": MIN_RSA_BITS, "DSA": MIN_DSA_BITS, "EC": MIN_EC_BITS}.get(str(ktype))
        if minimum is not None and isinstance(bits, int) and bits < minimum:
            out.append(
                _f(
                    RunStatus.FAIL,
                    "weak_key",
                    Severity.HIGH,
                    f"the {what} has a {bits}-bit {ktype} key (minimum {minimum})",
                )
            )
        digest = cert.get("signature_hash")
        if digest in WEAK_HASHES:
            out.append(
                _f(
                    RunStatus.FAIL,
                    "weak_signature",
                    Severity.HIGH,
                    f"the {what} is signed with {cert.get('signature_algorithm')}",
                )
            )
    return out


_PRETTY = {"TLSv1": "TLS 1.0", "TLSv1.1": "TLS 1.1"}


def protocol_rules(facts: Mapping[str, Any]) -> list[Result]:
    accepted = [_PRETTY.get(v, v) for v, ok in (facts.get("legacy_protocols") or {}).items() if ok]
    if not accepted:
        return []
    return [
        _f(
            RunStatus.FAIL,
            "legacy_protocol",
            Severity.MEDIUM,
            f"the server accepts {' and '.join(accepted)} (RFC 8996: must not be offered)",
        )
    ]


def verify_rule(facts: Mapping[str, Any], already: Sequence[Result]) -> list[Result]:
    """A strict client rejected the chain for a reason no specific rule explains.

    Safety net for what the path builder does not model (name constraints, key usage,
    critical unknown extensions…); silent when a specific failure already explains it.
    """
    verdict = facts.get("client_verify") or {}
    if verdict.get("ok") is not False or any(s is RunStatus.FAIL for s, _ in already):
        return []
    return [
        _f(
            RunStatus.FAIL,
            "verify_failed",
            Severity.HIGH,
            f"a strict TLS client (system OpenSSL defaults) cannot connect: {verdict.get('message')}",
        )
    ]


def evaluate_facts(facts: Mapping[str, Any], opts: TlsLimits) -> list[Result]:
    """Every finding for one TLS observation (empty for a healthy chain)."""
    if not facts.get("chain"):
        return [
            _f(
                RunStatus.FAIL,
                "handshake_failed",
                Severity.HIGH,
                "the server completed a handshake but presented no certificate",
            )
        ]
    results = [
        *validity_rules(facts, opts),
        *lifetime_rule(facts, opts),
        *identity_rules(facts),
        *strength_rules(facts),
        *protocol_rules(facts),
    ]
    return [*results, *verify_rule(facts, results)]
