"""Reading a response body under a byte cap that holds after decompression.

httpx has no body cap (``reference/security.md`` §2.6); a body is read raw and decoded here
step by step so neither a long body nor a small compression bomb can exhaust memory.
"""

from __future__ import annotations

import zlib

import httpx

from auditor.probe.errors import classify_exception
from auditor.probe.outcome import ProbeError, RunStatus


class CappedDecoder:
    """Decompresses gzip/deflate incrementally, never producing more than the cap allows.

    httpx decodes each network chunk whole, so a small gzip bomb chunk can expand to
    hundreds of MB before any cap applies; here ``max_length`` bounds every step.
    """

    def __init__(self, encoding: str) -> None:
        self.identity = encoding in ("", "identity")
        if encoding in ("gzip", "x-gzip"):
            self._obj = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._obj = zlib.decompressobj()
        elif not self.identity:
            raise ProbeError("invalid_response", f"unsupported content-encoding {encoding!r}")

    def feed(self, data: bytes, budget: int) -> tuple[bytes, bool]:
        """Decoded bytes (at most ``budget`` + 1) and whether input was left over."""
        if self.identity:
            return data, False
        try:
            out = self._obj.decompress(data, budget + 1)
        except zlib.error as exc:
            raise ProbeError("invalid_response", f"corrupt compressed body: {exc}") from exc
        return out, bool(self._obj.unconsumed_tail)


async def read_capped(
    response: httpx.Response, cap: int, truncate: bool, url: str
) -> tuple[bytes, bool]:
    declared = response.headers.get("content-length")
    encoding = response.headers.get("content-encoding", "").strip().lower()
    if (
        declared
        and declared.isdigit()
        and int(declared) > cap
        and not truncate
        and encoding in ("", "identity")
    ):
        raise ProbeError(
            "body_too_large",
            f"{url} declared a {int(declared)}-byte body (cap {cap})",
            RunStatus.FAIL,
        )
    decoder = CappedDecoder(encoding)
    parts: list[bytes] = []
    size = 0
    try:
        async for raw in response.aiter_raw():
            chunk, leftover = decoder.feed(raw, cap - size)
            size += len(chunk)
            if size > cap or leftover:
                if truncate:
                    parts.append(chunk[: max(0, cap - (size - len(chunk)))])
                    return b"".join(parts), True
                raise ProbeError(
                    "body_too_large", f"{url} sent a body over the {cap}-byte cap", RunStatus.FAIL
                )
            parts.append(chunk)
    except ProbeError:
        raise
    except Exception as exc:
        raise classify_exception(exc, url) from exc
    return b"".join(parts), False
