"""Failed-login throttling per account (from any source) and per source (for any account).

A per-(username, address) window, as before, let an attacker rotate source addresses
against one account, or usernames from one address. Two windows now count every failure:

- ``ACCOUNT_LIMIT`` failures for one username within ``WINDOW_S`` lock that username, from
  everywhere, until the oldest failure leaves the window — whether or not the account
  exists, so a lock-out tells nothing about existence;
- ``SOURCE_LIMIT`` failures from one client address (``web.proxy``: the real peer unless
  a trusted proxy vouches for another) lock that address out for every username.

The trade-off of the first is that anyone can lock a known username for up to 15 minutes;
that is the accepted price of stopping distributed guessing. The windows live in
``app.extensions`` so the multi-process server can swap in shared-memory versions
(``auditor.process.web_processes.share_app_state``).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import cast

from flask import current_app, request

ACCOUNT_LIMIT = 5  #: failures per username (any source) per window
SOURCE_LIMIT = 20  #: failures per client address (any username) per window
WINDOW_S = 900.0  #: the sliding window: 15 minutes
ACCOUNT_KEY = "auditor.login_limiter"
SOURCE_KEY = "auditor.login_source_limiter"


class LoginLimiter:
    """Sliding window of failed attempts per key; ``blocked`` once ``limit`` are in the window."""

    def __init__(self, limit: int = ACCOUNT_LIMIT, window_s: float = WINDOW_S) -> None:
        self.limit = limit
        self.window_s = window_s
        self._fails: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _prune(self, key: str, now: float) -> deque[float]:
        q = self._fails.setdefault(key, deque())
        while q and now - q[0] > self.window_s:
            q.popleft()
        return q

    def retry_after(self, key: str, now: float | None = None) -> int:
        """Seconds until another attempt is allowed (0 = allowed now)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            q = self._prune(key, now)
            if len(q) < self.limit:
                return 0
            return max(1, int(self.window_s - (now - q[0])) + 1)

    def fail(self, key: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._prune(key, now).append(now)
            if len(self._fails) > 10_000:  # bound memory under a spray of usernames
                for k in [k for k, q in self._fails.items() if not q][:5000]:
                    del self._fails[k]

    def reset(self, key: str) -> None:
        with self._lock:
            self._fails.pop(key, None)


def _limiter(key: str, limit: int) -> LoginLimiter:
    lim = current_app.extensions.get(key)
    if lim is None:
        lim = current_app.extensions[key] = LoginLimiter(limit, WINDOW_S)
    return cast(LoginLimiter, lim)


def account_limiter() -> LoginLimiter:
    return _limiter(ACCOUNT_KEY, ACCOUNT_LIMIT)


def source_limiter() -> LoginLimiter:
    return _limiter(SOURCE_KEY, SOURCE_LIMIT)


def client_addr() -> str:
    """The client address throttling and logs use (``web.proxy`` decided who that is)."""
    return request.remote_addr or "?"


def account_key(username: str) -> str:
    return "acct:" + username.strip().lower()[:64]


def source_key() -> str:
    return "src:" + client_addr()


def login_wait(account: str) -> int:
    """Seconds before ``account`` may try again from this client (0 = now). ``account`` is
    ``account_key(username)`` or any other per-account key (``totp:<user id>``)."""
    return max(account_limiter().retry_after(account), source_limiter().retry_after(source_key()))


def login_failed(account: str) -> None:
    account_limiter().fail(account)
    source_limiter().fail(source_key())


def login_succeeded(account: str) -> None:
    """Clear the account's window (not the source's: a valid account of the attacker's own
    must not reset the count of their guesses at others)."""
    account_limiter().reset(account)
