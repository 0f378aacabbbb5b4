"""Start real web servers and frameworks on 127.0.0.1 free ports, configured in temp dirs.

Each ``start_*`` is a context manager yielding the base URL; the process is ours (started
here, in its own session) and is stopped by its own pid when the block ends. A server that
is not installed skips the test with the install hint, except under CI=true (then it fails).
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ParamSpec

import pytest

HERE = Path(__file__).resolve().parent
APPS = HERE / "apps"
NODE = HERE / "node"
VENV_BIN = Path(sys.executable).parent
HINT = "make test installs it: tests/realapps/install.sh"


def need(tool: str) -> str:
    """The executable, or a skip (a failure under CI=true) naming how to install it."""
    found = shutil.which(tool) or next(
        (str(p) for p in (VENV_BIN / tool, Path("/usr/sbin") / tool) if p.exists()), None
    )
    if found is None:
        reason = f"{tool} is not installed ({HINT})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true: {reason}")
        pytest.skip(reason)
    return found


def need_module(module: str) -> None:
    try:
        __import__(module)
    except ImportError:
        reason = f"python package {module} is not installed (pip install -e '.[test]')"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true: {reason}")
        pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PortTaken(Exception):
    """The server lost the race for its free port (another socket took it meanwhile)."""


P = ParamSpec("P")
BUSY_MARKERS = ("address already in use", "address in use")


def retry_on_taken_port(
    start: Callable[P, contextlib.AbstractContextManager[str]],
) -> Callable[P, contextlib.AbstractContextManager[str]]:
    """Start again on a new free port when the chosen one was taken before the server bound it.

    A port free when :func:`free_port` looked can be taken by any outbound connection's
    ephemeral port before the server binds it; that is the harness's race, not the server's.
    """

    @functools.wraps(start)
    @contextlib.contextmanager
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Iterator[str]:
        for attempt in range(3):
            stack = contextlib.ExitStack()
            try:
                url = stack.enter_context(start(*args, **kwargs))
            except PortTaken as taken:
                if attempt == 2:
                    pytest.fail(f"three free ports in a row were taken: {taken}")
                continue
            with stack:
                yield url
            return

    return wrapper


def world_readable_dir(prefix: str) -> Path:
    """A temp dir the servers' unprivileged workers (www-data, nobody) can read."""
    path = Path(tempfile.mkdtemp(prefix=f"realapps-{prefix}-"))
    path.chmod(0o755)
    return path


@contextlib.contextmanager
def running(
    cmd: list[str], port: int, *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> Iterator[str]:
    """Run ``cmd`` until it listens on ``port``; yield its URL; stop it (its process group)."""
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_listening(proc, cmd[0], port, log)
            yield f"http://127.0.0.1:{port}"
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


def _wait_listening(proc: subprocess.Popen[bytes], name: str, port: int, log: Any) -> None:
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            log.seek(0)
            output = log.read().decode(errors="replace")[-3000:]
            if any(marker in output.lower() for marker in BUSY_MARKERS):
                raise PortTaken(f"{name} could not bind {port}: {output[-300:]}")
            pytest.fail(f"{name} exited {proc.returncode}: {output}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        if time.monotonic() > deadline:
            log.seek(0)
            pytest.fail(f"{name} did not listen on {port}: {log.read().decode()[-3000:]}")
        time.sleep(0.05)


# --- nginx ------------------------------------------------------------------------------

NGINX_STOCK_ROOT = "/var/www/html"  # Debian's default site: index.nginx-debian.html


@retry_on_taken_port
@contextlib.contextmanager
def start_nginx(
    server_block: str, *, http_block: str = "", files: dict[str, bytes] | None = None
) -> Iterator[str]:
    """nginx with one ``server`` (``{root}`` filled in, holding ``files``) in a temp prefix."""
    nginx = need("nginx")
    port = free_port()
    prefix = world_readable_dir("nginx")
    root = prefix / "www"
    root.mkdir()
    (root / "index.html").write_text("<!doctype html><title>shop</title><h1>shop</h1>\n")
    for name, data in (files or {}).items():
        (root / name).write_bytes(data)
        (root / name).chmod(0o644)
    root.chmod(0o755)
    (root / "index.html").chmod(0o644)
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"""
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    {http_block}
    server {{
        listen 127.0.0.1:{port};
        {server_block.replace("{root}", str(root))}
    }}
}}
"""
    )
    try:
        with running([nginx, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"], port) as url:
            yield url
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


# --- Apache httpd -------------------------------------------------------------------------

APACHE_MODULES = (
    "mpm_event", "authz_core", "authz_host", "dir", "mime", "status", "info", "headers",
)  # fmt: skip


@retry_on_taken_port
@contextlib.contextmanager
def start_apache(site: str, *, document_root: str | None = None) -> Iterator[str]:
    """Debian's apache2 binary on a config of our own (``{root}`` is the document root)."""
    apache = need("apache2")
    port = free_port()
    prefix = world_readable_dir("apache")
    root = prefix / "www"
    root.mkdir()
    (root / "index.html").write_text("<!doctype html><title>shop</title><h1>shop</h1>\n")
    root.chmod(0o755)
    (root / "index.html").chmod(0o644)
    docroot = document_root or str(root)
    modules = "\n".join(
        f"LoadModule {m}_module /usr/lib/apache2/modules/mod_{m}.so" for m in APACHE_MODULES
    )
    conf = prefix / "httpd.conf"
    conf.write_text(
        f"""
ServerRoot {prefix}
{modules}
Listen 127.0.0.1:{port}
ServerName 127.0.0.1
PidFile {prefix}/httpd.pid
ErrorLog {prefix}/error.log
User www-data
Group www-data
TypesConfig /etc/mime.types
DirectoryIndex index.html
DocumentRoot {docroot}
<Directory {docroot}>
    Require all granted
</Directory>
{site.replace("{root}", docroot)}
"""
    )
    env = {"APACHE_RUN_DIR": str(prefix), "APACHE_LOCK_DIR": str(prefix)}
    try:
        with running(
            [apache, "-d", str(prefix), "-f", str(conf), "-DFOREGROUND"], port, env=env
        ) as url:
            yield url
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


# --- Caddy ----------------------------------------------------------------------------------


@retry_on_taken_port
@contextlib.contextmanager
def start_caddy(site: str) -> Iterator[str]:
    """Caddy on a Caddyfile (``{port}`` filled in): no admin endpoint, no automatic HTTPS."""
    caddy = need("caddy")
    port = free_port()
    prefix = world_readable_dir("caddy")
    caddyfile = prefix / "Caddyfile"
    caddyfile.write_text(
        f"{{\n\tadmin off\n\tauto_https off\n}}\n"
        f"http://127.0.0.1:{port} {{\n\tbind 127.0.0.1\n{site}\n}}\n"
    )
    env = {"HOME": str(prefix), "XDG_DATA_HOME": str(prefix), "XDG_CONFIG_HOME": str(prefix)}
    try:
        cmd = [caddy, "run", "--config", str(caddyfile), "--adapter", "caddyfile"]
        with running(cmd, port, env=env) as url:
            yield url
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


# --- Python frameworks and Express ------------------------------------------------------


@retry_on_taken_port
def python_app(
    args: list[str], *, env: dict[str, str] | None = None
) -> contextlib.AbstractContextManager[str]:
    """``python -m <args>`` in the apps dir; ``{port}`` in ``args`` is filled in."""
    port = free_port()
    cmd = [sys.executable, "-m", *(a.replace("{port}", str(port)) for a in args)]
    pythonpath = os.pathsep.join([str(APPS), os.environ.get("PYTHONPATH", "")])
    return running(cmd, port, cwd=APPS, env={"PYTHONPATH": pythonpath, **(env or {})})


@retry_on_taken_port
def express_app(mode: str) -> contextlib.AbstractContextManager[str]:
    node = need("node")
    if not (NODE / "node_modules" / "express").exists():
        reason = f"express is not installed in tests/realapps/node ({HINT})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true: {reason}")
        pytest.skip(reason)
    port = free_port()
    env = {"PORT": str(port), "APP_MODE": mode}
    if mode != "dev":
        env["NODE_ENV"] = "production"
    return running([node, "app.js"], port, cwd=NODE, env=env)


def go_binary(build_dir: Path) -> Path:
    """``go build`` of ``goapp/main.go`` into ``build_dir`` (stdlib only: no network)."""
    go = need("go")
    out = build_dir / "goapp"
    env = {**os.environ, "GOCACHE": str(build_dir / "cache"), "GOPATH": str(build_dir / "gopath")}
    env["GO111MODULE"] = "off"
    proc = subprocess.run(
        [go, "build", "-o", str(out), str(HERE / "goapp" / "main.go")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(f"go build failed: {proc.stderr[-3000:]}")
    return out


@retry_on_taken_port
def go_app(binary: Path, *, pprof_public: bool) -> contextlib.AbstractContextManager[str]:
    port = free_port()
    env = {"PORT": str(port), "PPROF": "public" if pprof_public else "private"}
    return running([str(binary)], port, env=env)
