"""Webhooks follow Standard Webhooks, and a webhook never goes out unsigned by accident.

Real deliveries from the dispatcher reach a real local HTTP receiver, which verifies them
three ways: the ``standardwebhooks`` library (an independent implementation of the spec), the
README's ten-line example (``RECEIVER_EXAMPLE``, executed as written) and the
``X-Auditor-Signature`` contract header. Then an attacker who captured a delivery re-sends
it, altered, to the same receiver over HTTP: every alteration is refused.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import time_machine
from standardwebhooks import Webhook, WebhookVerificationError

from auditor.alerting.dispatcher import Dispatcher
from auditor.alerting.history import list_deliveries
from auditor.alerting.render import verify_signature
from auditor.config import Config, ConfigError, parse_config
from auditor.store.db import Database
from tests.alerting.helpers import T0, Clock, Recorder, add_transition, free_port, http_receiver
from tests.alerting.helpers import seed as seed_store

ROOT = Path(__file__).resolve().parents[2]

#: the README "Verifying webhooks" example, verbatim (test_readme_shows_the_tested_example)
RECEIVER_EXAMPLE = """\
import base64, hashlib, hmac, time
seen: set[str] = set()  # webhook-ids accepted in the last 5 minutes (use a shared store with a TTL)
def verify(key: bytes, headers: dict[str, str], body: bytes) -> bool:
    msg_id, ts, sigs = (headers.get(f"webhook-{h}", "") for h in ("id", "timestamp", "signature"))
    mac = base64.b64encode(hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest())
    signed = any(hmac.compare_digest(b"v1," + mac, s.encode()) for s in sigs.split())
    if not signed or not ts.isdigit() or abs(time.time() - int(ts)) > 300 or msg_id in seen:
        return False  # forged or tampered, stale (a replay), or already handled
    seen.add(msg_id)
    return True
"""

PLAIN = "s3cret-hmac-key"
WHSEC = "whsec_" + base64.b64encode(b"\x00\x01 random key bytes \xff").decode()
#: the configured secret → the HMAC key bytes a receiver uses (documented in the README)
SECRETS = {
    "plain-secret": (PLAIN, PLAIN.encode()),
    "whsec-secret": (WHSEC, base64.b64decode(WHSEC.removeprefix("whsec_"))),
}


def receiver_example() -> Callable[[bytes, dict[str, str], bytes], bool]:
    """A fresh copy of the README example (its own ``seen`` set)."""
    namespace: dict[str, Any] = {}
    exec(compile(RECEIVER_EXAMPLE, "README-verifying-webhooks", "exec"), namespace)
    return namespace["verify"]  # type: ignore[no-any-return]


@dataclass
class Verifiers:
    """The receiver side: which of the three verifications refuse a request."""

    secret: str
    key: bytes

    def __post_init__(self) -> None:
        self.example = receiver_example()
        self.library = Webhook(self.key)

    def refusals(self, headers: dict[str, str], body: bytes) -> list[str]:
        out = []
        if not self.example(self.key, headers, body):
            out.append("readme-example")
        try:
            self.library.verify(body, headers)
        except WebhookVerificationError:
            out.append("standardwebhooks")
        if not verify_signature(body, self.secret, headers.get("x-auditor-signature", "")):
            out.append("x-auditor-signature")
        return out

    def validate(self, path: str, headers: dict[str, str], body: bytes) -> str | None:
        refused = self.refusals(headers, body)
        return ",".join(refused) if refused else None


def config(receiver: dict[str, Any], environ: dict[str, str]) -> Config:
    """Through the real loader (the same checks as ``auditor serve`` at start)."""
    doc = {
        "auditor": {"public_url": "https://auditor.example"},
        "alerting": {"receivers": [receiver]},
    }
    return parse_config(doc, environ=environ)


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Database]:
    st = Database(sqlite_url)
    yield st
    st.close()


def deliver(
    store: Database, cfg: Config, rec: Recorder, port: int, clock: Clock | None = None
) -> str:
    """One real alert through the dispatcher to the receiver on ``port``; its id."""
    checks = seed_store(store)
    tid = add_transition(store, checks["health"], "pass", "fail", T0)
    d = Dispatcher(store, cfg, clock=clock or Clock(), backoff_base_s=1.0)
    with http_receiver(port, rec):
        assert asyncio.run(d.tick()) == 1
    return tid


def signed_delivery(
    store: Database, monkeypatch: pytest.MonkeyPatch, form: str
) -> tuple[Recorder, int, str]:
    """A genuine signed alert delivered to a verifying receiver: (its recorder, port, alert id).

    The receiver keeps its verifiers (and the example's ``seen`` set) for later requests."""
    secret, key = SECRETS[form]
    monkeypatch.setenv("TEST_HOOK_SECRET", secret)
    port = free_port()
    receiver = {"name": "ops", "type": "webhook", "url": f"http://127.0.0.1:{port}/hook",
                "secret_env": "TEST_HOOK_SECRET"}  # fmt: skip
    rec = Recorder(validate=Verifiers(secret, key).validate)
    tid = deliver(store, config(receiver, {"TEST_HOOK_SECRET": secret}), rec, port)
    return rec, port, tid


def resend(url: str, headers: dict[str, str], body: bytes) -> int:
    """What an attacker does with a captured delivery: POST it again, possibly altered."""
    keep = {k: v for k, v in headers.items() if k not in ("host", "content-length")}
    req = urllib.request.Request(url, data=body, headers=keep, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return int(res.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


# -- the legitimate path -------------------------------------------------------------------------


@pytest.mark.parametrize("form", list(SECRETS))
def test_a_real_delivery_verifies_with_the_library_the_readme_example_and_the_contract_header(
    store: Database, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    secret, key = SECRETS[form]
    before = int(time.time())
    rec, _, tid = signed_delivery(store, monkeypatch, form)
    [got] = rec.requests
    assert got["problem"] is None and got["status"] == 200  # all three verifications pass
    headers, body = got["headers"], got["body"]
    assert headers["webhook-id"] == json.loads(body)["id"] == tid
    assert before <= int(headers["webhook-timestamp"]) <= time.time()
    assert re.fullmatch(r"v1,[A-Za-z0-9+/]{43}=", headers["webhook-signature"])
    assert re.fullmatch(r"sha256=[0-9a-f]{64}", headers["x-auditor-signature"])  # DESIGN §7
    mac = hmac.new(key, f"{tid}.{headers['webhook-timestamp']}.".encode() + body, hashlib.sha256)
    assert headers["webhook-signature"] == "v1," + base64.b64encode(mac.digest()).decode()
    rows, _ = list_deliveries(store, status="delivered")
    assert len(rows) == 1 and secret not in json.dumps(rows)


# -- an attacker replays or alters a captured delivery ---------------------------------------------


def _tamper_body(h: dict[str, str], b: bytes) -> tuple[dict[str, str], bytes]:
    return h, b.replace(b'"state":"fail"', b'"state":"pass"')


def _relabel_id(h: dict[str, str], b: bytes) -> tuple[dict[str, str], bytes]:
    return {**h, "webhook-id": h["webhook-id"] + "-again"}, b


def _fresh_timestamp(h: dict[str, str], b: bytes) -> tuple[dict[str, str], bytes]:
    return {**h, "webhook-timestamp": str(int(time.time()))}, b


def _strip_signatures(h: dict[str, str], b: bytes) -> tuple[dict[str, str], bytes]:
    return {k: v for k, v in h.items() if "signature" not in k}, b


def _forge_with_guessed_key(h: dict[str, str], b: bytes) -> tuple[dict[str, str], bytes]:
    body = b.replace(b'"state":"fail"', b'"state":"pass"')
    guess = b"guessed-key"
    mac = hmac.new(guess, f"{h['webhook-id']}.{h['webhook-timestamp']}.".encode() + body,
                   hashlib.sha256)  # fmt: skip
    forged = {
        **h,
        "webhook-signature": "v1," + base64.b64encode(mac.digest()).decode(),
        "x-auditor-signature": "sha256=" + hmac.new(guess, body, hashlib.sha256).hexdigest(),
    }
    return forged, body


def _unchanged(h: dict[str, str], b: bytes) -> tuple[dict[str, str], bytes]:
    return h, b


ALL = ["readme-example", "standardwebhooks", "x-auditor-signature"]
STANDARD = ["readme-example", "standardwebhooks"]

ATTACKS = [
    # (alteration, seconds after the delivery, who must refuse it)
    pytest.param(_tamper_body, 0, ALL, id="tampered-body"),
    pytest.param(_forge_with_guessed_key, 0, ALL, id="forged-with-a-guessed-key"),
    pytest.param(_strip_signatures, 0, ALL, id="signatures-stripped"),
    # the body-only contract signature cannot see these: that is why the standard headers exist
    pytest.param(_relabel_id, 0, STANDARD, id="replay-relabelled-with-a-new-webhook-id"),
    pytest.param(_unchanged, 360, STANDARD, id="replay-after-6-minutes"),
    pytest.param(_fresh_timestamp, 360, STANDARD, id="replay-after-6-minutes-with-fresh-timestamp"),
    # within the window the signature is valid: the example de-duplicates on webhook-id
    pytest.param(_unchanged, 0, ["readme-example"], id="duplicate-replay-within-the-window"),
]


@pytest.mark.parametrize(("alter", "later", "refused_by"), ATTACKS)
def test_a_captured_delivery_cannot_be_replayed_or_altered(
    store: Database,
    monkeypatch: pytest.MonkeyPatch,
    alter: Callable[[dict[str, str], bytes], tuple[dict[str, str], bytes]],
    later: int,
    refused_by: list[str],
) -> None:
    rec, port, _ = signed_delivery(store, monkeypatch, "whsec-secret")
    assert rec.requests[0]["problem"] is None  # the genuine delivery was accepted
    captured = rec.requests[0]
    with time_machine.travel(time.time() + later, tick=True):
        headers, body = alter(dict(captured["headers"]), captured["body"])
        with http_receiver(port, rec) as url:
            status = resend(f"{url}/hook", headers, body)
    assert status == 400
    assert rec.requests[-1]["problem"] == ",".join(refused_by)


# -- retries keep the id, refresh the timestamp ----------------------------------------------------


def test_a_retry_keeps_its_webhook_id_and_is_signed_with_a_fresh_timestamp(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret, key = SECRETS["plain-secret"]
    monkeypatch.setenv("TEST_HOOK_SECRET", secret)
    store = Database(db_url)
    try:
        port = free_port()
        receiver = {"name": "ops", "type": "webhook", "url": f"http://127.0.0.1:{port}/hook",
                    "secret_env": "TEST_HOOK_SECRET"}  # fmt: skip
        clock = Clock()
        d = Dispatcher(store, config(receiver, {"TEST_HOOK_SECRET": secret}), clock=clock,
                       backoff_base_s=1.0)  # fmt: skip
        tid = add_transition(store, seed_store(store)["health"], "pass", "fail", T0)
        rec = Recorder(status=503)
        with http_receiver(port, rec):
            assert asyncio.run(d.tick()) == 0  # receiver answers 503: retried later
            first = int(rec.requests[0]["headers"]["webhook-timestamp"])
            while int(time.time()) <= first:  # the retry happens in a later second
                time.sleep(0.05)
            rec.status = 200
            clock.advance(1.0)
            assert asyncio.run(d.tick()) == 1
        library = Webhook(key)
        stamps = []
        for got in rec.requests:
            library.verify(got["body"], got["headers"])  # each attempt is signed afresh
            assert got["headers"]["webhook-id"] == tid
            stamps.append(int(got["headers"]["webhook-timestamp"]))
        assert len(stamps) == 2 and stamps[1] > stamps[0]
        assert rec.requests[0]["body"] == rec.requests[1]["body"]
    finally:
        store.close()


# -- no secret, no start (unless unsigned = true is explicit) --------------------------------------

HOOK = {"name": "ops", "type": "webhook", "url": "https://hooks.example/x"}
NO_SECRET = (
    "alerting.receivers[0]: a webhook needs secret_env (HMAC key) — or set unsigned = true "
    "to send unsigned"
)
UNSET = (
    "alerting.receivers[0].secret_env: environment variable OPS_SECRET (HMAC key of webhook "
    "'ops') is not set or empty — set it, or set unsigned = true to send unsigned"
)

SIGNED = {**HOOK, "secret_env": "OPS_SECRET"}
SLACK = {"name": "chat", "type": "slack", "url": "https://hooks.slack.com/services/T0/B0/X0"}
AT = "alerting.receivers[0]"

#: (attack id, receiver, environment at start, the one problem reported)
CONFIG_CASES = [
    ("webhook-without-secret_env", HOOK, {}, NO_SECRET),
    ("secret-env-var-unset", SIGNED, {}, UNSET),
    ("secret-env-var-empty", SIGNED, {"OPS_SECRET": ""}, UNSET),
    ("malformed-whsec-secret", SIGNED, {"OPS_SECRET": "whsec_not*base64"},
     f"{AT}.secret_env: OPS_SECRET: a whsec_ secret must be whsec_ followed by base64"),
    ("empty-whsec-secret", SIGNED, {"OPS_SECRET": "whsec_"},
     f"{AT}.secret_env: OPS_SECRET: a whsec_ secret must not be empty after whsec_"),
    ("secret-and-unsigned-together", {**SIGNED, "unsigned": True}, {"OPS_SECRET": "k"},
     f"{AT}: set secret_env or unsigned = true, not both"),
    ("unsigned-not-a-boolean", {**HOOK, "unsigned": "yes"}, {},
     f"{AT}.unsigned: must be true or false"),
    ("unsigned-on-a-slack-receiver", {**SLACK, "unsigned": True}, {},
     f"{AT}: unsigned applies to webhook receivers only"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("receiver", "environ", "problem"),
    [c[1:] for c in CONFIG_CASES],
    ids=[c[0] for c in CONFIG_CASES],
)
def test_a_webhook_without_a_usable_secret_is_a_config_error_at_load(
    receiver: dict[str, Any], environ: dict[str, str], problem: str
) -> None:
    with pytest.raises(ConfigError) as info:
        config(receiver, environ)
    assert info.value.problems == [problem]
    assert all(v not in problem for v in environ.values() if len(v) > 6)  # no secret echoed


def test_the_failing_receiver_is_named_by_its_index() -> None:
    doc = {"alerting": {"receivers": [{**HOOK, "unsigned": True}, {**HOOK, "name": "second"}]}}
    with pytest.raises(ConfigError) as info:
        parse_config(doc, environ={})
    assert [p.split(":")[0] for p in info.value.problems] == ["alerting.receivers[1]"]


def _config_file(tmp_path: Path, receiver_toml: str) -> Path:
    path = tmp_path / "config.toml"
    db = tmp_path / "auditor.db"
    path.write_text(
        f'[auditor]\ndatabase_url = "sqlite:///{db}"\nlisten = "127.0.0.1:{free_port()}"\n\n'
        f'[[alerting.receivers]]\nname = "ops"\ntype = "webhook"\n'
        f'url = "https://hooks.example/x"\n{receiver_toml}'
    )
    return path


@pytest.mark.parametrize("command", ["worker", "serve"])
def test_the_daemon_refuses_to_start_without_the_secret(tmp_path: Path, command: str) -> None:
    path = _config_file(tmp_path, 'secret_env = "TEST_UNSET_HOOK_SECRET"\n')
    env = {k: v for k, v in os.environ.items() if k != "TEST_UNSET_HOOK_SECRET"}
    proc = subprocess.run(
        [sys.executable, "-m", "auditor", command, "--config", str(path)],
        capture_output=True, text=True, env=env, timeout=60, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr  # the CLI's configuration-error exit
    assert "alerting.receivers[0].secret_env: environment variable TEST_UNSET_HOOK_SECRET" in (
        proc.stderr
    )


def test_unsigned_true_starts_and_sends_unsigned_with_id_and_timestamp(
    store: Database, tmp_path: Path
) -> None:
    path = _config_file(tmp_path, "unsigned = true\n")
    proc = subprocess.run(
        [sys.executable, "-m", "auditor", "config", "check", "--config", str(path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    port = free_port()
    receiver = {"name": "ops", "type": "webhook", "url": f"http://127.0.0.1:{port}/hook",
                "unsigned": True}  # fmt: skip
    rec = Recorder()
    tid = deliver(store, config(receiver, {}), rec, port)
    [got] = rec.requests
    assert got["headers"]["webhook-id"] == tid
    assert abs(int(got["headers"]["webhook-timestamp"]) - time.time()) < 60
    assert "webhook-signature" not in got["headers"]
    assert "x-auditor-signature" not in got["headers"]


# -- the README shows exactly the example tested here ------------------------------------------------


def test_readme_shows_the_tested_example() -> None:
    readme = (ROOT / "README.md").read_text()
    if "## Verifying webhooks" not in readme:
        pytest.skip("README section 'Verifying webhooks' not merged yet")
    section = readme.split("## Verifying webhooks", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert blocks == [RECEIVER_EXAMPLE]
    assert len(RECEIVER_EXAMPLE.splitlines()) <= 10
