"""The ``tls`` check kind: certificate validity, identity, trust, strength, legacy protocols."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs7
from pydantic import Field, model_validator

from checks import base
from checks.base import Check, Outcome, ProbeContext, ProbeError, RunStatus, Target
from checks.bounds import MAX_DAYS, Days
from checks.tls import analysis, cipherscan, suites
from checks.tls.anchors import anchors_for
from checks.tls.cipherrules import cipher_rules
from checks.tls.handshake import is_ip, resolve_allowed, verified_handshake
from checks.tls.legacy import legacy_versions
from checks.tls.x509info import (
    TrustResult,
    build_path,
    build_path_der,
    describe,
    describe_der,
    load_der,
    load_pem_bundle,
    parse_der,
)

AIA_BODY_CAP = 64_000
AIA_MAX_FETCHES = 3
AIA_TIMEOUT_S = 5.0


class TlsOptions(base.Options):
    """``ca_file warn_days fail_days max_validity_days`` are contract keys (DESIGN §4)."""

    ca_file: str | None = None
    warn_days: Days = 21
    fail_days: Days = 7
    #: warn / fail when less than this fraction of a certificate's lifetime is left; the
    #: days above cap it for long certificates (a 12-hour leaf warns at 4 h, not 21 days)
    warn_fraction: float = Field(1 / 3, gt=0, le=1)
    fail_fraction: float = Field(1 / 6, gt=0, le=1)
    #: None = the CA/B maximum for the certificate's issue date
    max_validity_days: int | None = Field(None, ge=1, le=MAX_DAYS)
    #: None = the URL's port, else 443
    port: int | None = Field(None, ge=1, le=65535)
    check_legacy: bool = True
    #: fetch a missing intermediate from the leaf's AIA URL to tell incomplete from untrusted
    fetch_aia: bool = True
    #: scan the TLS 1.2 cipher suites the server accepts (one ClientHello per suite group)
    check_ciphers: bool = True
    #: the Mozilla server-side TLS profile the service must meet (weaker is ``tls.profile``)
    cipher_profile: Literal["modern", "intermediate", "old"] = "intermediate"
    #: reuse a verified handshake an HTTP probe (health/headers) made to the same host, port,
    #: address and trust store within ``SHARED_HANDSHAKE_TTL_S`` instead of a new one
    share_handshake: bool = True

    @model_validator(mode="after")
    def _thresholds(self) -> TlsOptions:
        if self.fail_days > self.warn_days:
            raise ValueError("fail_days must not be greater than warn_days")
        if self.fail_fraction > self.warn_fraction:
            raise ValueError("fail_fraction must not be greater than warn_fraction")
        return self


def host_port(url: str, port: int | None) -> tuple[str, int]:
    parts = urlsplit(url if "://" in url else f"https://{url}")
    if not parts.hostname:
        raise ProbeError("config", f"no host in service URL {url!r}")
    if port is None:
        port = parts.port if parts.scheme == "https" and parts.port else 443
    return parts.hostname, port


def _parse_aia_body(body: bytes) -> list[x509.Certificate]:
    """caIssuers answers are DER (RFC 5280), sometimes PEM or a PKCS#7 bundle."""
    with contextlib.suppress(ValueError):
        return [load_der(body)]
    certs = load_pem_bundle(body)
    if certs:
        return certs
    with contextlib.suppress(ValueError):
        return list(pkcs7.load_der_pkcs7_certificates(body))
    return []


async def _nothing() -> dict[str, Any]:
    return {}


def cipher_facts(
    scan: Mapping[str, Any], protocol: str | None, legacy_accepted: list[str]
) -> dict[str, Any]:
    """The scan's accepted suites and the Mozilla profile they meet (``tested`` False when
    the scan is off); TLS 1.3 support is read from the check's own handshake."""
    if not scan:
        return {"tested": False}
    tls12 = suites.tally(scan["groups"])
    tls13 = protocol == "TLSv1.3"
    return {
        "tested": True,
        "tls12": tls12,
        "tls13": tls13,
        "groups": scan["groups"],
        "untested": scan["untested"],
        "cached": scan["cached"],
        "age_s": scan["age_s"],
        # a group left unanswered (deadline, dropped hello) could hide anything
        "profile": (
            "unknown"
            if scan["untested"]
            else suites.profile_of(tls12, tls13, bool(legacy_accepted))
        ),
    }


def issuer_not_sent(
    trust: TrustResult, certs: list[x509.Certificate], anchors: tuple[x509.Certificate, ...]
) -> TrustResult:
    """An unknown issuer of the *leaf* (not of a CA the server sent) is a missing intermediate.

    Roots do not sign server certificates (BR §6.1.7): when the server sends a lone leaf
    whose issuer is neither sent, fetchable (AIA) nor trusted, the fix is "send the
    intermediate", whatever root it leads to. A trusted CA of that name with another key
    is a real trust failure and stays ``unknown_issuer``.
    """
    if trust.status != "unknown_issuer" or trust.stuck_at != 0 or not certs:
        return trust
    leaf = certs[0]
    if leaf.issuer == leaf.subject or any(a.subject == leaf.issuer for a in anchors):
        return trust
    with contextlib.suppress(x509.ExtensionNotFound, ValueError):
        if leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            return trust
    return replace(trust, status="issuer_not_sent")


class TlsCheck(Check[TlsOptions]):
    """Connects with SNI, captures the presented chain even if it fails, judges it."""

    kind: ClassVar[str] = "tls"
    Options: ClassVar[type[base.Options]] = TlsOptions
    error_codes: ClassVar[dict[str, str]] = {"tls": "handshake_failed"}
    codes = base.codes_of(
        "tls", "expired", "not_yet_valid", "expiring", "hostname_mismatch", "self_signed",
        "untrusted_root", "incomplete_chain", "weak_key", "weak_signature", "validity_too_long",
        "legacy_protocol", "handshake_failed", "verify_failed", "weak_cipher",
        "no_forward_secrecy", "profile",
        "refused", "unreachable", "dns", "blocked_by_policy",
    )  # fmt: skip

    async def collect(
        self, target: Target, options: TlsOptions, ctx: ProbeContext
    ) -> dict[str, Any]:
        host, port = host_port(target.url, options.port)
        checked_at = ctx.now()
        addresses = await resolve_allowed(host, port, ctx.http, ctx.remaining)
        tls = ctx.http.tls
        shared = (
            await tls.shared(
                host, port, tls.strict_trust(options.ca_file), addresses, ctx.remaining()
            )
            if options.share_handshake
            else None
        )
        if shared is not None:
            addr = shared.address
            hs = shared.session
            client_verify: dict[str, Any] = {"ok": True, "code": 0, "message": "ok"}
            handshake_facts = {"shared": True, "age_s": round(shared.age(), 3)}
        else:
            addr, hs, client_verify = await verified_handshake(
                tls, addresses, port, host, options.ca_file, ctx.remaining
            )
            handshake_facts = {"shared": False, "age_s": 0.0}
        certs: list[x509.Certificate] = []
        for der in hs.chain_der:
            try:
                certs.append(parse_der(der))
            except ValueError as exc:
                raise ProbeError(
                    "tls", f"{host}:{port} sent an unparseable certificate: {exc}", RunStatus.FAIL
                ) from exc
        anchors, store = anchors_for(options.ca_file)
        trust = build_path_der(hs.chain_der, anchors)
        fetched: list[x509.Certificate] = []
        aia_log: list[dict[str, Any]] = []
        if trust.status == "unknown_issuer" and options.fetch_aia and certs:
            trust, fetched, aia_log = await self._complete_via_aia(
                certs, anchors, trust, options, ctx
            )
        trust = issuer_not_sent(trust, certs, anchors)
        sni = None if is_ip(host) else host
        legacy, scan = await asyncio.gather(
            legacy_versions(addr, port, sni, ctx.remaining) if options.check_legacy else _nothing(),
            cipherscan.scan(addr, port, sni, ctx.remaining)
            if options.check_ciphers
            else _nothing(),
        )
        chain = [describe_der(der) for der in hs.chain_der]
        facts = self._facts(
            host, port, addr, checked_at.timestamp(), checked_at.isoformat(), hs, chain,
            {**trust.to_dict(), "store": store, "fetched": [describe(c) for c in fetched],
             "aia": aia_log},
            client_verify, legacy,
        )  # fmt: skip
        facts["handshake"] = handshake_facts
        facts["ciphers"] = cipher_facts(scan, hs.protocol, facts["legacy_accepted"])
        return facts

    async def _complete_via_aia(
        self,
        certs: list[x509.Certificate],
        anchors: tuple[x509.Certificate, ...],
        trust: TrustResult,
        options: TlsOptions,
        ctx: ProbeContext,
    ) -> tuple[TrustResult, list[x509.Certificate], list[dict[str, Any]]]:
        """Follow caIssuers URLs (through the policy-enforcing prober) from where the path stops.

        Only when the fetched issuer leads to a trusted root is the chain called incomplete;
        otherwise the original "unknown issuer" verdict stands.
        """
        fetched: list[x509.Certificate] = []
        log: list[dict[str, Any]] = []
        result = trust
        for _ in range(AIA_MAX_FETCHES):
            if result.status != "unknown_issuer":
                break
            stuck = (
                fetched[-1 - result.path[-1]]
                if result.path and result.path[-1] < 0
                else certs[result.stuck_at or 0]
            )
            urls = [
                u for u in describe(stuck)["ca_issuers"] if u.startswith(("http://", "https://"))
            ]
            got: list[x509.Certificate] = []
            for url in urls[:2]:
                try:
                    res = await ctx.http.fetch(
                        url,
                        timeout=max(0.1, min(AIA_TIMEOUT_S, ctx.remaining())),
                        verify=True,
                        ca_file=options.ca_file,
                        body_cap=AIA_BODY_CAP,
                        max_redirects=3,
                    )
                except ProbeError as exc:
                    log.append({"url": url, "error": exc.message})
                    continue
                got = _parse_aia_body(res.body) if res.status == 200 else []
                log.append({"url": url, "status": res.status, "certificates": len(got)})
                if got:
                    break
            if not got:
                break
            fetched.extend(got)
            candidate = build_path(certs, anchors, fetched)
            if candidate.status == "unknown_issuer" and candidate.path == result.path:
                break  # the fetched certificate did not extend the path
            result = candidate
        if result.status not in ("trusted", "incomplete_chain"):
            return trust, fetched, log
        return result, fetched, log

    @staticmethod
    def _facts(
        host: str,
        port: int,
        addr: str,
        checked_ts: float,
        checked_iso: str,
        hs: Any,
        chain: list[dict[str, Any]],
        trust: dict[str, Any],
        client_verify: dict[str, Any],
        legacy: Mapping[str, bool | None],
    ) -> dict[str, Any]:
        leaf = chain[0] if chain else {}
        not_after_ts = leaf.get("not_after_ts")
        path = [chain[i] for i in trust.get("path") or [] if 0 <= i < len(chain)] or chain[:1]
        return {
            "host": host,
            "port": port,
            "address": addr,
            "checked_at": checked_iso,
            "checked_at_ts": checked_ts,
            "protocol": hs.protocol,
            "cipher": hs.cipher,
            "cipher_bits": hs.cipher_bits,
            "subject": leaf.get("subject"),
            "issuer": leaf.get("issuer"),
            "sans": [*(leaf.get("san_dns") or []), *(leaf.get("san_ip") or [])],
            "not_before": leaf.get("not_before"),
            "not_after": leaf.get("not_after"),
            "not_after_ts": not_after_ts,
            "days_left": (
                round((not_after_ts - checked_ts) / 86_400, 2) if not_after_ts is not None else None
            ),
            "earliest_expiry_ts": min((c["not_after_ts"] for c in path), default=None),
            "key_type": leaf.get("key_type"),
            "key_size": leaf.get("key_size"),
            "signature_algorithm": leaf.get("signature_algorithm"),
            "chain": chain,
            "trust": trust,
            "client_verify": client_verify,
            "legacy_protocols": dict(legacy),
            "legacy_accepted": [v for v, ok in legacy.items() if ok],
        }

    def evaluate(self, facts: Mapping[str, Any], options: TlsOptions) -> Outcome:
        results = [
            *analysis.evaluate_facts(facts, options),
            *cipher_rules(facts, options.cipher_profile),
        ]
        ok = (
            f"certificate for {facts.get('host')} valid for {facts.get('days_left')} more days, "
            f"{facts.get('protocol')}"
        )
        outcome = base.outcome_from_findings(results, ok)
        profile = (facts.get("ciphers") or {}).get("profile")
        if profile:
            outcome = replace(outcome, summary=f"{outcome.summary} (Mozilla profile: {profile})")
        return outcome
