"""The ``headers`` check: fetch like the Observatory does (collect), grade (evaluate).

collect does only I/O through ``ctx.http.fetch`` so the address policy, redirect limits
and body caps apply: the https:// page (retried unverified on a certificate error, as
the Observatory does, so the ``-invalid-cert`` results can be given), the http://
redirect chain, the CORS preflight and robots.txt (for cookies). It stores a compact,
JSON-able record (headers, chain, the HTML scan — never the body or cookie values);
evaluate rebuilds the grader's input from it, so a stored run can be re-graded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, field_validator

from checks.base import (
    Check,
    Finding,
    HttpOptions,
    Outcome,
    ProbeContext,
    ProbeError,
    RunStatus,
    Severity,
    Target,
    codes_of,
    finding_order,
)
from checks.headers.cookies import redact
from checks.headers.findings import (
    EXTRA_CODES,
    NEXT_ALGORITHM,
    extra_findings,
    next_algorithm_results,
    test_finding,
)
from checks.headers.html import HtmlScan
from checks.headers.model import CORS_ORIGIN, GRADES, Resp, ScanInput, grade_rank
from checks.headers.observatory import TEST_NAMES, gradable_status, grade, html_for

MAX_HEADERS = 200
MAX_VALUE = 4096
SIDE_BODY_CAP = 65_536


class HeadersOptions(HttpOptions):
    """``min_grade``: lowest grade that passes; ``http_port``: where plain HTTP is probed
    for the redirection test (None: port 80, as the Observatory does; 0: not probed)."""

    min_grade: str = "B"
    http_port: int | None = Field(default=None, ge=0, le=65535)

    @field_validator("min_grade")
    @classmethod
    def _real_grade(cls, value: str) -> str:
        grade = value.strip().upper()
        if grade not in GRADES:
            raise ValueError(f"must be one of {', '.join(GRADES)}, not {value!r}")
        return grade


def probe_urls(target: Target, options: HeadersOptions) -> tuple[str, str | None]:
    """(https URL, http URL or None) for the configured path, the way the Observatory pairs them."""
    parts = urlsplit(target.url_for(options.path))
    host = parts.hostname or ""
    netloc_host = f"[{host}]" if ":" in host else host
    https = parts if parts.scheme == "https" else parts._replace(scheme="https", netloc=netloc_host)
    if parts.scheme == "http" and options.http_port is None:
        http = parts
    elif options.http_port == 0:
        return urlunsplit(https), None
    else:
        port = options.http_port or 80
        netloc = netloc_host if port == 80 else f"{netloc_host}:{port}"
        http = parts._replace(scheme="http", netloc=netloc)
    return urlunsplit(https), urlunsplit(http)


def _record(result: Any, verified: bool) -> dict[str, Any]:
    headers = []
    for key, value in result.headers[:MAX_HEADERS]:
        value = redact(value) if key.lower() == "set-cookie" else value
        headers.append([key, value[:MAX_VALUE]])
    return Resp(result.url, result.status, [], verified).to_dict() | {"headers": headers}


class HeadersCheck(Check[HeadersOptions]):
    """Security headers graded like the HTTP Observatory (DESIGN §3)."""

    kind: ClassVar[str] = "headers"
    Options: ClassVar[type[HeadersOptions]] = HeadersOptions
    error_codes: ClassVar[dict[str, str]] = {"http_status": "http_status"}
    codes = codes_of(
        "headers", "grade", *TEST_NAMES, *NEXT_ALGORITHM, *EXTRA_CODES, "http_status",
        "unreachable", "dns", "refused", "reset", "tls", "blocked_by_policy", "invalid_response",
        "too_many_redirects",
    )  # fmt: skip

    async def _get(
        self,
        ctx: ProbeContext,
        options: HeadersOptions,
        url: str,
        cert_problems: list[str] | None = None,
        **kw: Any,
    ) -> tuple[Any, bool]:
        """Fetch; on a TLS failure with verification on, retry unverified (cert invalid),
        noting why verification failed in ``cert_problems`` (the findings say how to fix it)."""
        base = {"headers": dict(options.headers), "ca_file": options.ca_file} | kw
        try:
            return await ctx.http.fetch(
                url, timeout=max(ctx.remaining(), 0.05), verify=options.verify, **base
            ), True
        except ProbeError as exc:
            if exc.error_kind != "tls" or not options.verify:
                raise
            if cert_problems is not None:
                cert_problems.append(exc.message)
        base.pop("ca_file")
        result = await ctx.http.fetch(url, timeout=max(ctx.remaining(), 0.05), verify=False, **base)
        return result, False

    async def _try(self, coro: Any) -> tuple[Any, bool] | ProbeError:
        try:
            return tuple(await coro)  # type: ignore[return-value]
        except ProbeError as exc:
            return exc

    async def collect(
        self, target: Target, options: HeadersOptions, ctx: ProbeContext
    ) -> dict[str, Any]:
        https_url, http_url = probe_urls(target, options)
        cert_problems: list[str] = []
        tasks = [self._try(self._get(ctx, options, https_url, cert_problems, truncate=True))]
        if http_url is not None:
            tasks.append(
                self._try(self._get(ctx, options, http_url, cert_problems, read_body=False))
            )
        got = await asyncio.gather(*tasks)
        https_got, http_got = got[0], got[1] if len(got) > 1 else None
        if isinstance(https_got, ProbeError) and not isinstance(http_got, tuple):
            raise https_got
        facts: dict[str, Any] = {
            "url": https_url,
            "http_url": http_url,
            "hostname": urlsplit(https_url).hostname or "",
            "environment": target.environment,
            "cert_checked": options.verify,
            "https": None,
            "http": None,
            "http_route": [],
            "errors": {},
            "cert_error": cert_problems[0] if cert_problems else None,
        }
        main = None
        if isinstance(https_got, tuple):
            main, facts["cert_valid"] = https_got
            facts["https"] = _record(main, facts["cert_valid"])
            facts["redirect_chain"] = [h.to_dict() for h in main.chain]
        else:
            facts["errors"]["https"] = https_got.message
        if isinstance(http_got, tuple):
            res, verified = http_got
            facts["http"] = Resp(res.url, res.status, [], verified).to_dict()
            facts["http_route"] = [h.url for h in res.chain]
            if main is None:
                main = res
                facts["http"] = _record(res, verified)
        elif isinstance(http_got, ProbeError):
            facts["errors"]["http"] = http_got.message
        assert main is not None
        if not gradable_status(main.status):
            raise ProbeError(
                "http_status",
                f"{main.url} answered {main.status}; the Observatory grades only 2xx/3xx/401/403",
                RunStatus.FAIL,
            )
        if facts["https"] is None:  # http-only site: fetch the page body itself
            main, _ = await self._get(ctx, options, main.url, truncate=True, follow_redirects=False)
        html, failed = html_for(main.headers, main.body)
        facts.update(
            final_url=main.url,
            status=main.status,
            body_truncated=main.truncated,
            html=html.to_dict() if html is not None else None,
            html_parse_failed=failed,
        )
        await self._side_requests(ctx, options, main.url, facts)
        return facts

    async def _side_requests(
        self, ctx: ProbeContext, options: HeadersOptions, url: str, facts: dict[str, Any]
    ) -> None:
        """The CORS preflight and robots.txt: failures only mean "no answer"."""
        verify = bool(facts.get("cert_valid", True))
        preflight = {"Origin": CORS_ORIGIN, "Access-Control-Request-Method": "GET"}
        robots = urlunsplit(urlsplit(url)._replace(path="/robots.txt", query="", fragment=""))
        cors_got, robots_got = await asyncio.gather(
            self._try(self._side(ctx, options, url, verify, "OPTIONS", preflight)),
            self._try(self._side(ctx, options, robots, verify, "GET", {})),
        )
        facts["cors"] = _record(cors_got[0], verify) if isinstance(cors_got, tuple) else None
        facts["extra_cookies"] = []
        for got in (cors_got, robots_got):
            if isinstance(got, tuple):
                res = got[0]
                facts["extra_cookies"] += [
                    [res.url, redact(v)] for v in res.header_all("set-cookie")
                ]

    async def _side(
        self,
        ctx: ProbeContext,
        options: HeadersOptions,
        url: str,
        verify: bool,
        method: str,
        extra: dict[str, str],
    ) -> tuple[Any]:
        result = await ctx.http.fetch(
            url,
            method=method,
            headers={**options.headers, **extra},
            timeout=max(ctx.remaining(), 0.05),
            verify=verify and options.verify,
            ca_file=options.ca_file if verify else None,
            body_cap=SIDE_BODY_CAP,
            read_body=False,
        )
        return (result,)

    def evaluate(self, facts: Mapping[str, Any], options: HeadersOptions) -> Outcome:
        scan = scan_from_facts(facts)
        result = grade(scan)
        obs = result.to_facts()
        cert_error = facts.get("cert_error")
        findings = [
            test_finding(t, cert_error if isinstance(cert_error, str) else None)
            for t in result.tests.values()
            if not t.passed
        ]
        rank, floor = grade_rank(result.grade), grade_rank(options.min_grade)
        status = RunStatus.PASS if rank <= floor else RunStatus.WARN
        if rank > floor + 1:
            status = RunStatus.FAIL
        passed = sum(t.passed for t in result.tests.values())
        summary = f"Observatory grade {result.grade} (score {result.score}), {passed}/10 tests pass"
        if status is not RunStatus.PASS:
            sev = Severity.HIGH if status is RunStatus.FAIL else Severity.MEDIUM
            message = f"grade {result.grade} (score {result.score}) is below the minimum {options.min_grade}"
            findings.insert(0, Finding("headers.grade", str(sev), message))
            summary = message
        extras = extra_findings(
            scan, result.tests["strict-transport-security"], str(facts.get("environment", ""))
        )
        if status is RunStatus.PASS and any(f.severity in ("medium", "high") for f in extras):
            status = RunStatus.WARN
            summary += f"; {len(extras)} finding(s) beyond the Observatory"
        derived = {"observatory": obs, "next_algorithm": next_algorithm_results(scan)}
        ranked = tuple(sorted((*findings, *extras), key=finding_order))
        return Outcome(status, summary, ranked, derived)


def scan_from_facts(facts: Mapping[str, Any]) -> ScanInput:
    """Rebuild the grader's input from stored facts (pure)."""
    html = facts.get("html")
    return ScanInput(
        hostname=str(facts.get("hostname", "")),
        https=Resp.from_dict(facts.get("https")),
        http=Resp.from_dict(facts.get("http")),
        http_route=[str(u) for u in facts.get("http_route", [])],
        cors=Resp.from_dict(facts.get("cors")),
        html=HtmlScan.from_dict(html) if html else None,
        html_parse_failed=bool(facts.get("html_parse_failed", False)),
        extra_cookies=[(str(u), str(v)) for u, v in facts.get("extra_cookies", [])],
    )
