"""One Apprise send, made to fit the outbox: a deadline, a reason on failure, no secret out.

Apprise's ``notify()`` never raises: a failed send is a falsy result and the why is only in
Apprise's log. So each call captures its own log records (Apprise keeps them per call, thread
safe), and a failure becomes a retryable :class:`DeliveryError` whose message is built from
the warnings and the underlying exception, with every part of the URL scrubbed out (from the
records themselves: :mod:`auditor.config.apprise_log`). Apprise's own retries are off (its
default): the outbox retries, with backoff, under the same idempotency key.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from auditor.alerting.base import DeliveryError, scrub
from auditor.config.apprise_log import scrubbing
from auditor.config.apprise_urls import public_name, scheme_of
from auditor.probe.addresses import AddressPolicy

#: header added where the service sends headers (json://, form://, xml://, e-mail)
ALERT_ID_HEADER = "X-Auditor-Alert-Id"
_STATUS = re.compile(r"error=(\d{3})\b")
_SMTP_REPLY = re.compile(r"^\((\d{3}), b?['\"](.*)['\"]\)$")
_CAUSE = re.compile(r"^(Socket|I/O|Connection|SMTP|Email|TLS|SSL)[\w ]*Exception:\s*", re.I)


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    kind: str  # Apprise notify type: info | success | warning | failure
    alert_id: str


def _asset() -> Any:
    import apprise

    return apprise.AppriseAsset(
        app_id="deployment-auditor",
        app_desc="Deployment readiness auditor",
        storage_mode="memory",  # nothing written to disk
        secure_logging=True,
    )


def deliver(
    url: str,
    msg: Message,
    *,
    timeout: float,
    secrets: list[str | None],
    policy: AddressPolicy | None = None,
    accepted: set[Any] | None = None,
) -> None:
    """Send ``msg`` through the Apprise service of ``url`` (blocking; run it in a thread).

    DeliveryError on failure: permanent when the URL is unusable or the address policy
    refuses it, retryable otherwise (refused, timed out, non-2xx, SMTP error, …).
    ``accepted`` holds the targets (e-mail recipients, chat ids, …) that took this message
    in an earlier attempt; Apprise skips them and adds the ones that take it now, so a
    retry after a partial failure reaches only the rest.
    """
    with scrubbing(secrets), _remembering(accepted):
        try:
            _deliver(url, msg, timeout=timeout, secrets=secrets, policy=policy)
        except DeliveryError:
            raise
        except Exception as exc:  # Apprise's own bug or surprise: retried, and scrubbed
            raise DeliveryError(scrub(f"apprise: {type(exc).__name__}: {exc}", secrets)) from exc


@contextlib.contextmanager
def _remembering(accepted: set[Any] | None) -> Iterator[None]:
    """Hand Apprise the set of targets that already took this message.

    Apprise tracks accepted targets in a context variable during its own retries (which
    are off here); giving it our set, kept per alert across the outbox's attempts, makes
    every plugin that tracks targets skip those on the next attempt.
    """
    try:
        from apprise.plugins.base import _delivery_tracker
    except ImportError:  # pragma: no cover - another Apprise: retries resend to all targets
        yield
        return
    if accepted is None:
        yield
        return
    token = _delivery_tracker.set(accepted)
    try:
        yield
    finally:
        _delivery_tracker.reset(token)


def _deliver(
    url: str,
    msg: Message,
    *,
    timeout: float,
    secrets: list[str | None],
    policy: AddressPolicy | None,
) -> None:
    import apprise

    asset = _asset()
    plugin = apprise.Apprise.instantiate(url, asset=asset)
    if plugin is None:
        raise DeliveryError(
            f"Apprise does not accept this {scheme_of(url)[:20]}:// URL", permanent=True
        )
    check_policy(plugin, policy)
    plugin.socket_connect_timeout = timeout
    plugin.socket_read_timeout = timeout
    headers = getattr(plugin, "headers", None)
    if isinstance(headers, dict):
        headers[ALERT_ID_HEADER] = msg.alert_id
    ap = apprise.Apprise(asset=asset)
    ap.add(plugin)
    result = ap.notify(
        body=msg.body,
        title=msg.title,
        notify_type=msg.kind,
        body_format="text",
        timeout=timeout,
        log_level=logging.DEBUG,
    )
    if result:
        return
    if result.status == apprise.AppriseResultStatus.TIMEOUT:
        raise DeliveryError(f"timeout: no complete answer within {timeout:g}s")
    raise failure([(e.level, e.message) for e in result.logs()], secrets)


def failure(logs: Iterable[tuple[str, str]], secrets: list[str | None]) -> DeliveryError:
    """A retryable error from one call's Apprise log: its warnings, then the exception."""
    said: list[str] = []
    cause = ""
    for level, message in logs:
        text = str(message).strip()
        if level in ("WARNING", "ERROR", "CRITICAL") and text not in said:
            said.append(text)
        elif _CAUSE.match(text):
            cause = _CAUSE.sub("", text)
            if m := _SMTP_REPLY.match(cause):
                cause = f"SMTP {m.group(1)} {m.group(2)}"
    status = next((int(m.group(1)) for s in said if (m := _STATUS.search(s))), None)
    reason = "; ".join(said) or "Apprise reported a failure"
    if cause:
        reason += f" ({cause[:300]})"
    return DeliveryError(scrub(f"apprise: {reason}", secrets), status_code=status)


def check_policy(plugin: Any, policy: AddressPolicy | None) -> None:
    """Refuse a receiver host the address policy forbids (cloud metadata, link-local, …).

    Checked on the resolved addresses before Apprise connects: the SMTP host of an e-mail
    receiver, or the URL's host when it is a host name or address (``json://10.0.0.5/…``,
    ``ntfy://ntfy.internal/…``), not a token (``slack://T000/…``). Receivers come from the
    config file only, so DNS rebinding between this check and the connection is not guarded.
    """
    if policy is None:
        return
    host = getattr(plugin, "smtp_host", None) or getattr(plugin, "host", None)
    if not isinstance(host, str) or not host or not public_name(host):
        return
    port = getattr(plugin, "port", None) or 443
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise DeliveryError(f"dns: cannot resolve {host}: {exc}") from exc
    for info in infos:
        reason = policy.verdict(str(info[4][0]))
        if reason:
            raise DeliveryError(f"blocked_by_policy: {host}: {reason}", permanent=True)
