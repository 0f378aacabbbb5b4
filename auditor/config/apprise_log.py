"""Apprise's log records never carry a receiver URL or token out of the process.

Apprise logs target URLs, tokens and payloads (at debug level, some warnings name hosts). Its
logger is kept from propagating to the root logger (whose handlers would write every record,
whatever the root's level), and a filter on it scrubs, from every record before any handler
sees it, each part of the URLs of the send in progress (a context variable, which Apprise
copies into its worker threads). So a handler someone attaches to the ``apprise`` logger (a
test runner's capture, an embedding app's config) gets scrubbed text, and the per-call capture
a failed send's reason is read from (``auditor.alerting.apprise_send``) does too.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from contextvars import ContextVar

REDACTED = "<redacted>"
_SECRETS: ContextVar[tuple[str, ...]] = ContextVar("auditor_apprise_secrets", default=())


def scrub_text(text: str, secrets: Sequence[str | None]) -> str:
    for s in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(s, REDACTED)
    return text


class _ScrubSecrets(logging.Filter):
    """Rewrites a record's message with the current send's secrets removed."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = _SECRETS.get()
        if secrets:
            try:
                message = record.getMessage()
            except Exception:  # a malformed record: keep nothing of it
                message = str(record.msg)
            record.msg, record.args = scrub_text(message, secrets), None
            record.exc_info, record.exc_text = None, None
        return True


def quiet_apprise() -> None:
    """Apprise's logger: no propagation, the scrubbing filter, and debug records kept (the
    per-call capture needs them for a failure's cause; no handler of ours writes them)."""
    lg = logging.getLogger("apprise")
    lg.propagate = False
    lg.setLevel(logging.DEBUG)
    if not any(isinstance(f, _ScrubSecrets) for f in lg.filters):
        lg.addFilter(_ScrubSecrets())
    if not any(isinstance(h, logging.NullHandler) for h in lg.handlers):
        lg.addHandler(logging.NullHandler())


@contextlib.contextmanager
def scrubbing(secrets: Sequence[str | None]) -> Iterator[None]:
    """Scrub ``secrets`` from Apprise's records while the block (and work it hands to
    Apprise's threads) runs."""
    quiet_apprise()
    token = _SECRETS.set(tuple(s for s in secrets if s))
    try:
        yield
    finally:
        _SECRETS.reset(token)
