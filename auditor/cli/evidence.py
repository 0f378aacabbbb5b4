"""``auditor evidence push`` / ``auditor evidence deploy``: CI/CD talks to the daemon's API.

A CI job holds a token, not the database: the commands reach the server by ``--url`` /
``AUDITOR_URL`` (default: the ``listen`` address of the config here) with ``--token`` /
``AUDITOR_TOKEN`` (a token made with ``auditor token create --scope evidence``). The report
is sent as it is; the server parses, judges and stores it, or says what is wrong.

Exit codes of ``push``: 0 stored and passing its rules, 1 stored but failing them, 2 refused
(the server's message is printed) or a usage error, 3 the server could not be reached.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from auditor.cli.common import config_option
from auditor.cli.common import load as _load
from auditor.cli.health import healthz_url


@click.group("evidence")
def evidence_group() -> None:
    """Push CI/CD evidence (load tests, JUnit, SARIF, rollback drills) and deploy events."""


def _base(config_path: str | None, url: str | None) -> str:
    if url:
        return url.rstrip("/")
    return healthz_url(_load(config_path).auditor).removesuffix("/healthz")


def _client(base: str, token: str | None) -> Any:
    import httpx

    if not token:
        raise click.UsageError("a token is needed: --token or AUDITOR_TOKEN "
                               "(auditor token create --role viewer --scope evidence)")  # fmt: skip
    return httpx.Client(base_url=base + "/api/v1", timeout=60.0,
                        headers={"Authorization": f"Bearer {token}"})  # fmt: skip


def _fail(response: Any) -> None:
    try:
        err = response.json()["error"]
        details = "; ".join(f"{d['field']}: {d['message']}" for d in err.get("details") or [])
        text = f"{err['code']}: {err['message']}" + (f" ({details})" if details else "")
    except (ValueError, KeyError, TypeError):
        text = response.text[:300]
    click.echo(f"error: HTTP {response.status_code} {text}", err=True)
    sys.exit(2)


def _service_id(client: Any, name: str) -> str:
    r = client.get("/services", params={"name": name})
    if r.status_code != 200:
        _fail(r)
    rows = r.json()["data"]
    if not rows:
        click.echo(f"error: no service named {name!r} on the server", err=True)
        sys.exit(2)
    return str(rows[0]["id"])


def _call(fn: Any) -> Any:
    import httpx

    try:
        return fn()
    except httpx.HTTPError as exc:
        click.echo(f"error: cannot reach the auditor: {exc}", err=True)
        sys.exit(3)


url_option = click.option("--url", envvar="AUDITOR_URL", default=None,
                          help="The auditor's base URL (AUDITOR_URL; default: listen here).")  # fmt: skip
token_option = click.option("--token", envvar="AUDITOR_TOKEN", default=None,
                            help="API token with the evidence scope (AUDITOR_TOKEN).")  # fmt: skip


@evidence_group.command("push")
@config_option
@url_option
@token_option
@click.option("--service", required=True, help="Service name.")
@click.option("--item", required=True, help="Checklist item the report proves.")
@click.option("--format", "fmt", default=None, help="Report format (default: detected).")
@click.option("--commit", default=None, help="Commit the report was made for.")
@click.option("--version", "version", default=None, help="Version the report was made for.")
@click.argument("report", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def push(config_path: str | None, url: str | None, token: str | None, service: str, item: str,
         fmt: str | None, commit: str | None, version: str | None, report: Path) -> None:  # fmt: skip
    """Push REPORT for a service's checklist item; prints the verdict."""
    fields = {k: v for k, v in (("item", item), ("format", fmt), ("commit", commit),
                                ("version", version)) if v}  # fmt: skip
    with _client(_base(config_path, url), token) as client:
        sid = _call(lambda: _service_id(client, service))
        with report.open("rb") as fh:
            r = _call(lambda: client.post(f"/services/{sid}/evidence", data=fields,
                                          files={"file": (report.name, fh)}))  # fmt: skip
    if r.status_code != 201:
        _fail(r)
    data = r.json()["data"]
    broken = data["summary"].get("broken") or []
    click.echo(f"stored {data['format']} for {service}/{item} "
               f"({data.get('version') or 'no version'}): {data['verdict']}")  # fmt: skip
    for line in broken:
        click.echo(f"  - {line}")
    click.echo(data["id"])
    sys.exit(0 if data["verdict"] == "pass" else 1)


@evidence_group.command("deploy")
@config_option
@url_option
@token_option
@click.option("--service", required=True, help="Service name.")
@click.option("--version", "version", required=True, help="The version now deployed.")
@click.option("--commit", default=None, help="The commit now deployed.")
def deploy(config_path: str | None, url: str | None, token: str | None, service: str,
           version: str, commit: str | None) -> None:  # fmt: skip
    """Record that VERSION is deployed: evidence made for older versions goes stale."""
    with _client(_base(config_path, url), token) as client:
        sid = _call(lambda: _service_id(client, service))
        body = {"version": version, **({"commit": commit} if commit else {})}
        r = _call(lambda: client.post(f"/services/{sid}/deploys", json=body))
    if r.status_code != 201:
        _fail(r)
    click.echo(f"recorded deploy of {version} for {service}")
