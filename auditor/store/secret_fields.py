"""Which values are secrets, and how to show them redacted (issue #17, DESIGN §8).

One classifier for every place that stores, shows, logs or exports a URL or a header, so
"secret" means the same thing in the API, the dashboard, logs, run facts and exports. Pure
(no I/O, no store), so every layer may use it.

A value is secret when it is

- the **userinfo** of a URL (``user:password@``): the whole userinfo is masked;
- the value of a **query parameter** whose name contains ``token``, ``secret``, ``key``
  (``api_key``, ``apikey``, ``access_key`` …), ``password``, ``passwd``, ``pwd``, ``auth``,
  ``signature`` or ``credential``, or whose name is (or has an ``_``/``-``/``.``-separated
  segment) ``sig``. Substring matching is deliberately broad: a false positive only hides a
  harmless value, a false negative leaks one;
- the value of a **header** in :data:`DEFAULT_SECRET_HEADERS`, a header whose name contains
  ``token``, ``secret``, ``api-key``/``apikey``, ``password`` or ``auth``, or a header the
  operator marks secret with the check option ``secret_headers = ["X-Custom"]``.

:func:`redact_url` / :func:`redact_text` / :func:`redact_headers` mask those values with
``***``; :func:`secret_values` lists the literal secret strings of a check's options so a
run's facts can be scrubbed of them wherever they reappear (an echoing endpoint).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

MASK = "***"

#: headers that are always secret, whatever the operator says (lower case)
DEFAULT_SECRET_HEADERS = frozenset(
    {"authorization", "cookie", "x-api-key", "x-auth-token", "proxy-authorization"}
)
_HEADER_NAME = re.compile(r"token|secret|api-?key|apikey|password|auth", re.IGNORECASE)
_QUERY_NAME = re.compile(
    r"token|secret|key|password|passwd|pwd|auth|signature|credential|(^|[_.-])sig($|[_.-])",
    re.IGNORECASE,
)
#: the userinfo of any URL in a text: ``scheme://userinfo@``
_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://)(?P<info>[^/?#@\s'\"<>]+)@")
#: one ``name=value`` query item (after ``?`` or ``&``, also ``&amp;`` in HTML)
_QUERY_ITEM = re.compile(r"(?P<sep>[?&;])(?P<name>[^=&?#\s'\"<>;]+)=(?P<value>[^&#\s'\"<>;]*)")
#: option keys that hold a URL or a path the check fetches
_URL_KEY = re.compile(r"^(path|url)$|_(path|url)$")


def is_secret_header(name: str, marked: Iterable[str] = ()) -> bool:
    """A header whose value is a credential (default list, name rule or operator-marked)."""
    low = name.strip().lower()
    return (
        low in DEFAULT_SECRET_HEADERS
        or bool(_HEADER_NAME.search(low))
        or low in {m.strip().lower() for m in marked}
    )


def is_secret_query_name(name: str) -> bool:
    return bool(_QUERY_NAME.search(unquote(name)))


def is_url_key(key: str) -> bool:
    """An option naming a URL or path the check fetches (``path``, ``url``, ``*_path`` …)."""
    return bool(_URL_KEY.search(key))


def _mask_query(match: re.Match[str]) -> str:
    if not match["value"] or not is_secret_query_name(match["name"]):
        return match[0]
    return f"{match['sep']}{match['name']}={MASK}"


def redact_text(text: str) -> str:
    """``text`` with every URL userinfo and secret query value masked (URLs in prose too)."""
    if "@" in text:
        text = _USERINFO.sub(lambda m: f"{m['head']}{MASK}@", text)
    if "=" in text:
        text = _QUERY_ITEM.sub(_mask_query, text)
    return text


def redact_url(url: str) -> str:
    """A URL or path as it may be shown: userinfo and secret query values become ``***``."""
    return redact_text(url)


def has_secret(value: str) -> bool:
    """The URL/path/text carries a credential (userinfo or a secret query value)."""
    return redact_text(value) != value


def redact_headers(headers: Mapping[str, Any], marked: Iterable[str] = ()) -> dict[str, Any]:
    """Headers as they may be shown: secret ones masked, the rest with URLs redacted."""
    marked = list(marked)
    return {
        k: MASK if is_secret_header(k, marked) else (redact_text(v) if isinstance(v, str) else v)
        for k, v in headers.items()
    }


def strip_url_secrets(url: str) -> str:
    """The URL without its userinfo and secret query items (what may follow it elsewhere)."""
    out = _USERINFO.sub(lambda m: m["head"], url)
    out = _QUERY_ITEM.sub(lambda m: "" if is_secret_query_name(m["name"]) else m[0], out)
    if "?" not in out and "&" in out:  # the first item went: the next one opens the query
        out = out.replace("&", "?", 1)
    return out


def host_of(url: str) -> str:
    """Lower-case ``host:port`` of an absolute URL ("" for a path or an unparsable value)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    if not parts.scheme or not parts.hostname:
        return ""
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return f"{parts.hostname.lower()}:{port or default or ''}"


def url_secrets(url: str) -> list[str]:
    """The literal secret strings of one URL: userinfo (and its parts), secret query values."""
    found: list[str] = []
    for m in _USERINFO.finditer(url):
        info = m["info"]
        found.append(info)
        found.extend(unquote(part) for part in info.split(":", 1) if part)
        # as an HTTP client sends it (``Authorization: Basic …``), echoed back by a target
        found.append(base64.b64encode(unquote(info).encode()).decode())
    for m in _QUERY_ITEM.finditer(url):
        if m["value"] and is_secret_query_name(m["name"]):
            found.extend({m["value"], unquote(m["value"])})
    return found


def marked_headers(options: Mapping[str, Any]) -> list[str]:
    """The header names the operator marked secret (option ``secret_headers``)."""
    marked = options.get("secret_headers") or []
    return [str(m) for m in marked] if isinstance(marked, list | tuple) else []


def secret_values(options: Mapping[str, Any], service_url: str = "") -> list[str]:
    """Every literal secret a check runs with, longest first (to scrub from its results).

    Values shorter than 4 characters are left out: masking every "1" in a run's facts would
    hide more than it protects.
    """
    marked = marked_headers(options)
    found: list[str] = url_secrets(service_url) if service_url else []
    headers = options.get("headers")
    if isinstance(headers, Mapping):
        for name, value in headers.items():
            if isinstance(value, str) and is_secret_header(str(name), marked):
                found.append(value)
                scheme, _, credential = value.partition(" ")
                if credential and scheme.isalpha():
                    found.append(credential)  # "Bearer abc" → also "abc" alone
    for key, value in options.items():
        if isinstance(value, str) and is_url_key(key):
            found.extend(url_secrets(value))
    return sorted({v for v in found if len(v) >= 4}, key=len, reverse=True)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with URL secrets redacted and every listed literal secret masked."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return redact_text(text)


def scrub_json(value: Any, secrets: Iterable[str]) -> Any:
    """A JSON-like value with :func:`scrub` applied to every string (keys included)."""
    secrets = list(secrets)
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, dict):
        return {
            (scrub(k, secrets) if isinstance(k, str) else k): scrub_json(v, secrets)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub_json(v, secrets) for v in value]
    return value
