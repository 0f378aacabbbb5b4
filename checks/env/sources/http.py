"""``http:PATH`` — an endpoint on the service listing configuration names.

Accepted bodies: a JSON list of names, ``{"names": [...]}``, or Spring Boot's
``/actuator/env`` (``propertySources[].properties.<name>.value``; ``******`` = masked).
The body is parsed in memory and never kept; errors never quote it.
"""

from __future__ import annotations

import json
from typing import Any

from checks.base import ProbeError
from checks.bounds import MAX_BODY_CAP
from checks.env.sources import MASKED, Masked, SourceRead

BODY_CAP = MAX_BODY_CAP


def parse_env_body(body: bytes) -> SourceRead:
    try:
        data: Any = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ProbeError("invalid_response", "the env endpoint did not return JSON") from None
    values: dict[str, str | Masked] = {}
    if isinstance(data, dict) and isinstance(data.get("propertySources"), list):
        exposed = False
        for source in data["propertySources"]:
            props = source.get("properties") if isinstance(source, dict) else None
            if not isinstance(props, dict):
                continue
            for name, prop in props.items():
                raw = prop.get("value") if isinstance(prop, dict) else None
                if name in values:  # the first property source wins, as in Spring
                    continue
                if raw is None or (isinstance(raw, str) and set(raw) == {"*"}):
                    values[str(name)] = MASKED
                else:
                    values[str(name)] = str(raw)
                    exposed = True
        return SourceRead("actuator", values, values_exposed=exposed)
    names = data.get("names") if isinstance(data, dict) else data
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ProbeError(
            "invalid_response",
            'the env endpoint must return a list of names, {"names": [...]} or /actuator/env JSON',
        )
    return SourceRead("names", {n: MASKED for n in names}, names_only=True)
