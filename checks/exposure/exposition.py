"""Is a body valid Prometheus text exposition (or OpenMetrics)? Pure, line by line.

Strict enough that an HTML page, a JSON document or "OK" served with status 200 is
rejected (those are what a misrouted ``/metrics`` usually returns), lenient on comments.
"""

from __future__ import annotations

import re

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABELS = r"\{\s*(?:[a-zA-Z_][a-zA-Z0-9_]*\s*=\s*\"(?:[^\"\\]|\\.)*\"\s*,?\s*)*\}"
#: a float as Prometheus parses it (Go's ParseFloat): NaN and Inf in any case, as Node's
#: prom-client writes ``Nan``; ``1.`` and ``.5`` too
_VALUE = r"[-+]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|(?i:inf(?:inity)?|nan))"
_SAMPLE = re.compile(
    rf"^{_NAME}\s*(?:{_LABELS})?\s+{_VALUE}(?:\s+-?[0-9.]+(?:[eE][-+]?[0-9]+)?)?"
    rf"(?:\s+#\s+{_LABELS}\s+{_VALUE}.*)?\s*$"
)
_TYPE = re.compile(
    rf"^#\s+TYPE\s+{_NAME}\s+(?:counter|gauge|histogram|summary|untyped|unknown|info|stateset"
    r"|gaugehistogram)\s*$"
)
_HELP = re.compile(rf"^#\s+(?:HELP|UNIT)\s+{_NAME}(?:\s.*)?$")


def check_exposition(text: str) -> tuple[bool, int, str]:
    """(valid, sample count, reason); valid needs at least one sample and no bad line."""
    samples = 0
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line == "# EOF":
            continue
        if line.startswith("#"):
            words = line.split()
            if len(words) > 1 and words[1] == "TYPE" and not _TYPE.match(line):
                return False, samples, f"line {lineno}: malformed TYPE line"
            if len(words) > 1 and words[1] in ("HELP", "UNIT") and not _HELP.match(line):
                return False, samples, f"line {lineno}: malformed {words[1]} line"
            continue
        if not _SAMPLE.match(line):
            return False, samples, f"line {lineno}: not a metric sample"
        samples += 1
    if samples == 0:
        return False, 0, "no metric samples"
    return True, samples, "ok"
