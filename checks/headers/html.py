"""Scan an HTML page for what the Observatory reads from it: meta CSP, meta referrer, scripts.

Only these few facts are kept (not the body), so the stored facts stay small and
evaluation stays pure. The stdlib parser is lenient like a browser's: it never fails on
tag soup, and ``<script>`` content is raw text, so markup inside scripts is not mistaken
for tags.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
#: keep at most this many external scripts in the facts (and a count of all scripts)
MAX_SCRIPTS = 500
MAX_ATTR = 2048


@dataclass
class HtmlScan:
    """What the page says about itself; JSON round-trips through :meth:`to_dict`."""

    csp_meta: list[str] = field(default_factory=list)
    referrer_meta: list[str] = field(default_factory=list)
    corp_meta: list[str] = field(default_factory=list)
    script_count: int = 0
    scripts: list[dict[str, str | None]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "csp_meta": list(self.csp_meta),
            "referrer_meta": list(self.referrer_meta),
            "corp_meta": list(self.corp_meta),
            "script_count": self.script_count,
            "scripts": [dict(s) for s in self.scripts],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HtmlScan:
        return cls(
            csp_meta=list(data.get("csp_meta", [])),
            referrer_meta=list(data.get("referrer_meta", [])),
            corp_meta=list(data.get("corp_meta", [])),
            script_count=int(data.get("script_count", 0)),
            scripts=[dict(s) for s in data.get("scripts", [])],
        )


class _Scanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scan = HtmlScan()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        first: dict[str, str] = {}
        for name, value in attrs:  # the HTML spec keeps the first of duplicate attributes
            first.setdefault(name, (value or "")[:MAX_ATTR] if name != "content" else value or "")
        if tag == "meta":
            self._meta(first)
        elif tag == "script":
            self.scan.script_count += 1
            src = first.get("src")
            if src and len(self.scan.scripts) < MAX_SCRIPTS:
                self.scan.scripts.append(
                    {
                        "src": src,
                        "integrity": first.get("integrity"),
                        "crossorigin": first.get("crossorigin"),
                    }
                )

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def _meta(self, attrs: dict[str, str]) -> None:
        if "http-equiv" in attrs and "content" in attrs:
            equiv = attrs["http-equiv"].strip().lower()
            if equiv == "content-security-policy":
                self.scan.csp_meta.append(attrs["content"])
            elif equiv == "cross-origin-resource-policy":
                self.scan.corp_meta.append(attrs["content"])
        elif attrs.get("name", "").strip().lower() == "referrer" and "content" in attrs:
            self.scan.referrer_meta = [attrs["content"]]  # the last one wins


def mime_type(content_type: str | None) -> str:
    """The media type as the engine takes it: text before ``;``, not trimmed or lowercased."""
    return (content_type or "").split(";")[0]


def is_html(content_type: str | None) -> bool:
    """Whether the engine parses the body for meta tags (needs an exact HTML type)."""
    return mime_type(content_type) in HTML_TYPES


def decode_body(body: bytes, content_type: str | None) -> str:
    """Body text using the declared charset, falling back to UTF-8; never raises."""
    charset = "utf-8"
    for param in (content_type or "").split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip("\"'")
    try:
        return body.decode(charset, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def scan_html(text: str) -> HtmlScan:
    """Scan page text; malformed markup is tolerated as a browser would."""
    scanner = _Scanner()
    scanner.feed(text)
    scanner.close()
    return scanner.scan
