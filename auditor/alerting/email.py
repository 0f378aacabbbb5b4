"""E-mail over SMTP with STARTTLS (``smtplib`` in a thread; certificate verified)."""

from __future__ import annotations

import asyncio
import smtplib
import socket
import ssl
from collections.abc import Mapping
from typing import Any

from auditor.alerting.base import DeliveryError, env_value, scrub
from auditor.alerting.render import email_message
from auditor.config import ReceiverModel
from auditor.probe.addresses import AddressPolicy


class EmailReceiver:
    def __init__(self, cfg: ReceiverModel, policy: AddressPolicy | None = None) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self._policy = policy

    async def send(self, payload: Mapping[str, Any]) -> None:
        cfg = self.cfg
        if not cfg.smtp_host or not cfg.to or not cfg.from_addr:
            raise DeliveryError(
                f"receiver {cfg.name!r}: e-mail needs smtp_host, from and to", permanent=True
            )
        username = env_value(cfg.username_env, "SMTP username")
        password = env_value(cfg.password_env, "SMTP password")
        msg = email_message(payload, cfg.from_addr, cfg.to)
        await asyncio.to_thread(self._send_sync, msg, username, password)

    def _check_policy(self, host: str, port: int) -> None:
        if self._policy is None:
            return
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise DeliveryError(f"dns: cannot resolve {host}: {exc}") from exc
        for info in infos:
            reason = self._policy.verdict(str(info[4][0]))
            if reason:
                raise DeliveryError(f"blocked_by_policy: {host}: {reason}", permanent=True)

    def _send_sync(self, msg: Any, username: str | None, password: str | None) -> None:
        cfg = self.cfg
        host, port = str(cfg.smtp_host), cfg.smtp_port
        self._check_policy(host, port)
        try:
            with smtplib.SMTP(host, port, timeout=cfg.timeout) as smtp:
                smtp.ehlo()
                if cfg.starttls:
                    if not smtp.has_extn("starttls"):
                        raise DeliveryError(f"{host}:{port} does not offer STARTTLS")
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if username and password:
                    smtp.login(username, password)
                refused = smtp.send_message(msg)
                if refused:
                    raise DeliveryError(f"recipients refused: {', '.join(sorted(refused))}")
        except DeliveryError:
            raise
        except smtplib.SMTPResponseException as exc:
            permanent = exc.smtp_code in (535, 550, 553)
            text = (
                exc.smtp_error.decode("utf-8", "replace")
                if isinstance(exc.smtp_error, bytes)
                else str(exc.smtp_error)
            )
            raise DeliveryError(
                f"SMTP {exc.smtp_code}: {scrub(text, [password])}", permanent=permanent
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(scrub(f"{type(exc).__name__}: {exc}", [password])) from exc
