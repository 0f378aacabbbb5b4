"""Local benchmark targets: a throw-away CA, nginx (HTTPS, /health JSON, security headers),
prometheus-blackbox-exporter, all on loopback with configs in a temporary directory."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

SECURITY_HEADERS = """
        add_header Strict-Transport-Security "max-age=63072000; includeSubDomains" always;
        add_header Content-Security-Policy "default-src 'none'; frame-ancestors 'none'" always;
        add_header X-Content-Type-Options nosniff always;
        add_header X-Frame-Options DENY always;
        add_header Referrer-Policy no-referrer always;
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_ca(workdir: Path, ips: list[str]) -> tuple[Path, Path, Path]:
    """CA + server certificate valid for ``ips`` and localhost (openssl CLI)."""
    ca_key, ca_crt = workdir / "ca.key", workdir / "ca.pem"
    key, crt, csr = workdir / "srv.key", workdir / "srv.pem", workdir / "srv.csr"
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", str(ca_key), "-out", str(ca_crt), "-days", "365",
        "-subj", "/CN=Bench Local CA", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    san = ",".join(["DNS:localhost"] + [f"IP:{ip}" for ip in ips])
    ext = workdir / "ext.cnf"
    ext.write_text(
        f"subjectAltName={san}\nextendedKeyUsage=serverAuth\n"
        "keyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n"
    )
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", str(key), "-out", str(csr), "-subj", "/CN=localhost")  # fmt: skip
    run("openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca_crt), "-CAkey", str(ca_key),
        "-CAcreateserial", "-out", str(crt), "-days", "90", "-extfile", str(ext))  # fmt: skip
    return ca_crt, crt, key


class Nginx:
    """nginx on ``ips`` × ``ports`` (HTTPS) serving /health JSON with security headers."""

    def __init__(self, workdir: Path, ips: list[str], ports: list[int]) -> None:
        self.workdir = workdir / "nginx"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.ips, self.ports = ips, ports
        self.ca, self.crt, self.key = make_ca(workdir, ips)
        self.proc: subprocess.Popen[bytes] | None = None

    def urls(self) -> list[str]:
        return [f"https://{ip}:{port}" for ip in self.ips for port in self.ports]

    def start(self) -> None:
        listens = "\n".join(f"        listen {ip}:{p} ssl;" for ip in self.ips for p in self.ports)
        conf = self.workdir / "nginx.conf"
        conf.write_text(f"""
worker_processes 2;
pid {self.workdir}/nginx.pid;
error_log {self.workdir}/error.log error;
daemon off;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    client_body_temp_path {self.workdir}/body;
    proxy_temp_path {self.workdir}/proxy;
    fastcgi_temp_path {self.workdir}/fcgi;
    uwsgi_temp_path {self.workdir}/uwsgi;
    scgi_temp_path {self.workdir}/scgi;
    keepalive_requests 1000;
    server {{
{listens}
        server_name _;
        ssl_certificate {self.crt};
        ssl_certificate_key {self.key};
        ssl_protocols TLSv1.2 TLSv1.3;
{SECURITY_HEADERS}
        location = /health {{
            default_type application/json;
            return 200 '{{"status":"pass","checks":{{"db":"ok"}}}}';
        }}
        location / {{ return 200 'ok'; }}
    }}
}}
""")
        self.proc = subprocess.Popen(
            ["nginx", "-c", str(conf), "-p", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        _wait_port(self.ips[0], self.ports[0], self.proc)

    def stop(self) -> None:
        _stop(self.proc)


class Blackbox:
    def __init__(self, workdir: Path, ca: Path) -> None:
        self.workdir = workdir / "blackbox"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.ca = ca
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        conf = self.workdir / "blackbox.yml"
        conf.write_text(f"""
modules:
  http_2xx:
    prober: http
    timeout: 5s
    http:
      method: GET
      valid_status_codes: []
      preferred_ip_protocol: ip4
      fail_if_not_ssl: true
      tls_config:
        ca_file: {self.ca}
        insecure_skip_verify: false
""")
        self.proc = subprocess.Popen(
            [
                binary("prometheus-blackbox-exporter"),
                f"--config.file={conf}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=error",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        _wait_port("127.0.0.1", self.port, self.proc)

    def stop(self) -> None:
        _stop(self.proc)


def binary(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if path is None:
        raise FileNotFoundError(name)
    return path


def process_tree(pid: int) -> list[int]:
    """A process and its direct children (nginx's workers, our probe processes)."""
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    except OSError:
        return [pid]
    return [pid, *(int(p) for p in out.stdout.split())]


def tree_rss_mb(pid: int) -> float:
    """Resident memory now of a process and its direct children."""
    total = 0
    for p in process_tree(pid):
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        total += sum(int(ln.split()[1]) for ln in status.splitlines() if ln.startswith("VmRSS:"))
    return round(total / 1024, 1)


def proc_cpu_s(pid: int, children: bool = True) -> float:
    """utime+stime of a process (and, for nginx's master, its worker children)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in process_tree(pid) if children else [pid]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


def _wait_port(host: str, port: int, proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"process exited early: {err[-500:]}")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex((host, port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{host}:{port} did not open")


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
