"""``auditor healthcheck``: is the daemon configured here alive? (the image's HEALTHCHECK)

It reads the same configuration as ``serve`` (file and ``AUDITOR_*``), so the probe follows
``listen`` and ``tls_cert``: a container moved to another port or to HTTPS stays healthy
without editing the Dockerfile.
"""

from __future__ import annotations

import ssl
import sys
import urllib.error
import urllib.request

import click

from auditor.cli.common import config_option
from auditor.cli.common import load as _load
from auditor.config.settings import AuditorSettings

#: a wildcard listen address is reached on the loopback address of its family
_LOOPBACK = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}


def healthz_url(settings: AuditorSettings) -> str:
    """Where this host reaches the daemon's ``/healthz``."""
    host = settings.listen_host
    host = _LOOPBACK.get(host, host)
    scheme = "https" if settings.tls_cert and settings.tls_key else "http"
    where = f"[{host}]" if ":" in host else host
    return f"{scheme}://{where}:{settings.listen_port}/healthz"


@click.command("healthcheck")
@config_option
@click.option("--timeout", type=float, default=4.0, show_default=True, help="Seconds.")
def healthcheck(config_path: str | None, timeout: float) -> None:
    """Exit 0 when the daemon configured here answers /healthz with 200, else 1."""
    url = healthz_url(_load(config_path).auditor)
    context = None
    if url.startswith("https:"):
        # our own process on a local address: its certificate names the public host, and
        # liveness is what is asked here, not the chain (the tls check judges that)
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        click.echo(f"unhealthy: {url}: {reason}", err=True)
        sys.exit(1)
    if status != 200:
        click.echo(f"unhealthy: {url} answered HTTP {status}", err=True)
        sys.exit(1)
    click.echo(f"healthy: {url}")
