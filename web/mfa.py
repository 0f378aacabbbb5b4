"""TOTP helpers: the server-chosen enrolment secret, and codes that match one time-step.

Enrolment: the server draws the secret and hands the browser only a sealed copy (Fernet,
``auditor.store.secrets``) bound to the user, the session and the time, so the form cannot
carry a secret of the client's choosing — a known secret would let whoever chose it mint
codes for the account. Sign-in: :func:`totp_counter` says *which* time-step a code belongs
to, so ``auditor.store.mfa.accept_totp_counter`` can refuse a step already used.
"""

from __future__ import annotations

import hmac
import time

PENDING_TTL_S = 900  #: how long a set-up page's secret stays usable
VALID_WINDOW = 1  #: steps either side of now accepted (clock drift), as pyotp's valid_window


def new_secret() -> str:
    import pyotp

    return pyotp.random_base32()


def seal_pending(secret: str, user_id: str, session_id: str | None) -> str:
    """The enrolment form's hidden ``enrolment`` value (raises SecretKeyMissing without a key)."""
    from auditor.store import secrets as vault

    return vault.encrypt_json(
        {"totp_pending": secret, "uid": user_id, "sid": session_id or "", "at": int(time.time())}
    )


def unseal_pending(sealed: str, user_id: str, session_id: str | None) -> str | None:
    """The secret sealed for this user and session within ``PENDING_TTL_S``, else None."""
    from auditor.store import secrets as vault

    if not sealed or len(sealed) > 2048:
        return None
    try:
        data = vault.decrypt_json(sealed)
    except (vault.SecretKeyMissing, vault.SecretUndecryptable):
        return None
    fresh = 0 <= time.time() - float(data.get("at") or 0) <= PENDING_TTL_S
    mine = data.get("uid") == user_id and data.get("sid") == (session_id or "")
    secret = data.get("totp_pending")
    return str(secret) if fresh and mine and isinstance(secret, str) and secret else None


def totp_counter(secret: str, code: str, now: float | None = None) -> int | None:
    """The RFC 6238 time-step (within ±``VALID_WINDOW``) whose code is ``code``, else None."""
    import pyotp

    code = code.replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = int(time.time() if now is None else now) // totp.interval
    for counter in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(counter), code):
            return counter
    return None
