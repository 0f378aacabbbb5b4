"""The tls check against real nginx (Debian ``nginx``) configured as people deploy it: the
Mozilla intermediate configuration has no finding; the Mozilla "old" one and Debian's
default cipher list get the cipher findings their suites deserve."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.probe.http import HttpProber
from auditor.schedule.runner import RunResult, run_check
from checks.base import Target
from checks.tls import TlsCheck, TlsOptions, cipherscan
from tests.checks.tls.conftest import Corpus

pytestmark = pytest.mark.slow

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

# ssl-config.mozilla.org, nginx, guidelines 5.7
INTERMEDIATE = """
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305;
    ssl_prefer_server_ciphers off;
    ssl_session_timeout 1d;
    ssl_session_tickets off;
"""
OLD = """
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:DHE-RSA-AES128-SHA256:DHE-RSA-AES256-SHA256:AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA256:AES256-SHA256:AES128-SHA:AES256-SHA:DES-CBC3-SHA:@SECLEVEL=0;
    ssl_prefer_server_ciphers on;
"""
#: /etc/nginx/nginx.conf as Debian ships it (ssl_ciphers left at nginx's HIGH:!aNULL:!MD5)
DEBIAN_DEFAULT = """
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
"""


def require_nginx() -> None:
    if os.access(NGINX, os.X_OK):
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"nginx ({NGINX}) is required in CI (Debian package nginx)")
    pytest.skip(f"nginx is not installed ({NGINX}; Debian package nginx)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Nginx:
    def __init__(self, prefix: Path, chain: Path, key: Path, tls: str) -> None:
        self.port = _free_port()
        prefix.mkdir(parents=True, exist_ok=True)
        conf = prefix / "nginx.conf"
        conf.write_text(
            f"""
daemon off;
master_process on;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{self.port} ssl;
        server_name localhost;
        ssl_certificate {chain};
        ssl_certificate_key {key};
{tls}
        location / {{ return 200 "ok"; }}
    }}
}}
"""
        )
        self.proc = subprocess.Popen(
            [NGINX, "-p", str(prefix), "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.proc.stderr.read().decode()}")  # type: ignore[union-attr]
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("nginx did not listen within 10 s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def nginx(corpus: Corpus, tmp_path: Path) -> Iterator[object]:
    require_nginx()
    started: list[Nginx] = []
    served = corpus.cases["good"].served

    def start(tls: str) -> Nginx:
        server = Nginx(tmp_path / f"n{len(started)}", served.chain_file, served.key_file, tls)
        started.append(server)
        return server

    cipherscan.forget()
    yield start
    for server in started:
        server.stop()


async def probe(corpus: Corpus, port: int) -> RunResult:
    prober = HttpProber()
    try:
        return await run_check(
            TlsCheck(),
            Target(service="svc", url=f"https://localhost:{port}/", check="tls", kind="tls"),
            TlsOptions(ca_file=corpus.ca_file),
            prober=prober,
            timeout=15,
        )
    finally:
        await prober.aclose()


def codes(result: RunResult) -> list[str]:
    return sorted(f.code for f in result.findings)


async def test_mozilla_intermediate_nginx_has_no_finding(corpus: Corpus, nginx) -> None:  # type: ignore[no-untyped-def]
    result = await probe(corpus, nginx(INTERMEDIATE).port)
    assert (str(result.status), codes(result)) == ("pass", []), result.summary
    ciphers = result.facts["ciphers"]
    assert ciphers["profile"] == "intermediate" and ciphers["tls13"] is True
    assert result.facts["legacy_accepted"] == []
    assert result.facts["trust"]["status"] == "trusted"


async def test_mozilla_old_nginx_gets_cipher_findings(corpus: Corpus, nginx) -> None:  # type: ignore[no-untyped-def]
    result = await probe(corpus, nginx(OLD).port)
    found = set(codes(result))
    assert {"tls.weak_cipher", "tls.no_forward_secrecy"} <= found, result.summary
    assert result.facts["ciphers"]["profile"] == "old"
    groups = result.facts["ciphers"]["groups"]
    assert groups["fs_cbc_sha1"] and groups["rsa_kx"]
    assert groups["null"] is None and groups["anon"] is None
    # this OpenSSL build has no 3DES: nginx cannot serve it even when asked to
    assert groups["3des"] is None


async def test_debian_default_nginx_ciphers_meet_no_profile(corpus: Corpus, nginx) -> None:  # type: ignore[no-untyped-def]
    """nginx's default HIGH:!aNULL:!MD5 offers CBC-SHA1, static RSA, CAMELLIA/ARIA/CCM."""
    result = await probe(corpus, nginx(DEBIAN_DEFAULT).port)
    found = set(codes(result))
    assert {"tls.weak_cipher", "tls.no_forward_secrecy", "tls.profile"} <= found, result.summary
    assert result.facts["ciphers"]["profile"] == "none"
    profile = next(f for f in result.findings if f.code == "tls.profile")
    assert profile.message.startswith("the server meets no Mozilla TLS profile")
    assert "ARIA" in profile.message or "CAMELLIA" in profile.message or "CCM" in profile.message
    assert "tls.legacy_protocol" not in found or result.facts["legacy_accepted"]
