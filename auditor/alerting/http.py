"""POST through the policy-enforcing prober (the address policy applies to receivers too)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from auditor.alerting.base import DeliveryError, scrub
from auditor.config import ReceiverModel
from auditor.probe.http import HttpProber
from auditor.probe.outcome import ProbeError


async def post(
    prober: HttpProber,
    url: str,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
    secrets: list[str | None],
) -> int:
    """POST ``body``; a 2xx answer is delivered, anything else raises (retryable).

    ``timeout`` bounds the whole exchange, not just each read: a receiver dripping its
    reply byte by byte is cut off (the dispatcher also bounds every send).
    """
    try:
        async with asyncio.timeout(timeout):
            res = await prober.fetch(
                url,
                method="POST",
                content=body,
                headers={"User-Agent": "deployment-auditor", **headers},
                timeout=timeout,
                follow_redirects=False,
                body_cap=64 * 1024,
                truncate=True,
            )
    except TimeoutError as exc:
        raise DeliveryError(f"timeout: no complete answer within {timeout:g}s") from exc
    except ProbeError as exc:
        permanent = exc.error_kind in ("blocked_by_policy", "config")
        raise DeliveryError(
            f"{exc.error_kind}: {scrub(exc.message, [url, *secrets])}", permanent=permanent
        ) from exc
    except Exception as exc:  # pragma: no cover - the prober classifies errors
        raise DeliveryError(scrub(f"{type(exc).__name__}: {exc}", [url, *secrets])) from exc
    if not 200 <= res.status < 300:
        snippet = scrub(res.body[:200].decode("utf-8", "replace"), [url, *secrets])
        raise DeliveryError(f"HTTP {res.status}: {snippet}", status_code=res.status)
    return res.status


class HttpReceiver:
    """What the receivers that POST over HTTP share: their config and the prober."""

    def __init__(self, cfg: ReceiverModel, prober: HttpProber) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self._prober = prober

    async def _post(
        self, url: str, body: bytes, headers: dict[str, str], secrets: list[str | None]
    ) -> int:
        return await post(self._prober, url, body, headers, self.cfg.timeout, secrets)

    async def _post_json(self, url: str, doc: Any) -> int:
        body = json.dumps(doc).encode()
        return await self._post(url, body, {"Content-Type": "application/json"}, [])
