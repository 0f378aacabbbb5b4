"""Running one claimed check: validated (and tier-checked) options, the runner, the result.

Shared by the worker loop and one-shot runs, so both judge options the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Any

import structlog
from pydantic import ValidationError

from auditor.probe.http import HttpProber
from auditor.schedule.history import StoreHistory
from auditor.schedule.runner import RunResult, run_check
from auditor.store.claims import Claim
from auditor.store.db import Database
from auditor.store.models import utcnow
from checks.base import Options
from checks.registry import get_check
from checks.tiers import api_tier_options, api_tier_problems

log = structlog.get_logger("auditor.worker")


class OptionsCache:
    """Validated options per (kind, tier, options JSON); invalid stored options become an
    error run. An API-tier check is re-judged by the trust-tier policy (DESIGN §9) before it
    runs, with ``api_env_allowlist`` as configured now and the tier's defaults applied."""

    def __init__(
        self, api_env_allowlist: Collection[str] = (), environ: Mapping[str, str] | None = None
    ) -> None:
        self._cache: dict[tuple[str, str, str], Options | str] = {}
        self.api_env_allowlist = frozenset(api_env_allowlist)
        self.environ = environ

    def get(self, kind: str, raw: Mapping[str, Any], source: str = "config") -> Options | str:
        import json

        tier = "config" if source == "config" else "api"
        key = (kind, tier, json.dumps(raw, sort_keys=True, default=str))
        hit = self._cache.get(key)
        if hit is None:
            hit = self._validate(kind, raw, tier)
            if len(self._cache) > 50_000:
                self._cache.clear()
            self._cache[key] = hit
        return hit

    def _validate(self, kind: str, raw: Mapping[str, Any], tier: str) -> Options | str:
        if tier == "api":
            problems = api_tier_problems(kind, raw, self.api_env_allowlist, self.environ)
            if problems:
                listed = "; ".join(f"{field}: {message}" for field, message in problems)
                return f"refused to run this API-made {kind} check: {listed}"
            raw = api_tier_options(kind, raw)
        try:
            return get_check(kind).Options.model_validate(dict(raw))
        except (ValidationError, LookupError) as exc:
            return f"invalid options for the {kind} check: {exc}"


async def execute_claim(
    claim: Claim,
    *,
    prober: HttpProber,
    store: Database | None,
    options_cache: OptionsCache,
    environ: Mapping[str, str],
    now: Callable[[], datetime] = utcnow,
) -> RunResult:
    """Run one claimed check; configuration problems become an ``error`` result."""
    options = claim.secret_error or options_cache.get(claim.kind, claim.options, claim.source)
    if isinstance(options, str):
        return RunResult.unmeasured(claim.target, "config", options, started_at=now())
    return await run_check(
        get_check(claim.kind),
        claim.target,
        options,
        prober=prober,
        timeout=claim.timeout_s,
        history=StoreHistory(store) if store is not None else None,
        now=now,
        environ=environ,
    )
