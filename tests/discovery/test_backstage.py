"""Backstage catalogs: multi-document catalog-info.yaml files in a directory tree."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlmodel import col, select
from structlog.testing import capture_logs

from auditor.store.models import Check

SHOP = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: shop-frontend
  description: The shop's web front end
  annotations:
    auditor.io/url: https://shop.example.com
    auditor.io/profile: production
    auditor.io/environment: production
    auditor.io/tls.warn_days: "30"
    auditor.io/ready.path: /readyz
    auditor.io/headers.min_grade: A
spec:
  type: website
  lifecycle: production
  owner: team-shop
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: shop-api
spec:
  type: openapi
  owner: team-shop
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: shop-lib
spec:
  type: library
  owner: team-shop
"""

LEDGER = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ledger
  labels:
    env: staging
  annotations:
    auditor.io/url: http://ledger.internal:8080
    auditor.io/checks: health, headers
    auditor.io/health.path: /healthz
    auditor.io/health.max_latency: 500ms
spec:
  owner: group:default/team-ledger
"""


def _touch(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


def _checks(d: Any, service_id: str) -> dict[str, Check]:
    with d.store.read() as s:
        rows = s.exec(select(Check).where(col(Check.service_id) == service_id)).all()
    return {c.name: c for c in rows if c.deleted_at is None and c.enabled}


def test_components_in_a_tree_become_services_with_their_annotations(
    tmp_path: Path, driver: Any
) -> None:
    root = tmp_path / "catalog"
    shop = root / "shop" / "catalog-info.yaml"
    ledger = root / "finance" / "ledger" / "catalog-info.yml"
    _touch(shop, SHOP)
    _touch(ledger, LEDGER)
    _touch(root / "finance" / "notes.yaml", "not: a catalog file")  # not a catalog-info name
    d = driver({"type": "backstage", "path": str(root), "labels": {"env": "environment"}})
    d.tick()
    found = d.services()
    # the API entity and the library without auditor.io/url are not services
    assert set(found) == {"shop-frontend", "ledger"}
    sf = found["shop-frontend"]
    assert (sf.url, sf.owner, sf.profile, sf.source, sf.source_ref) == (
        "https://shop.example.com",
        "team-shop",
        "production",
        "backstage",
        str(shop),
    )
    assert sf.description == "The shop's web front end"
    checks = _checks(d, sf.id)
    assert checks["tls"].options["warn_days"] == 30
    assert checks["ready"].options["path"] == "/readyz"
    assert checks["headers"].options["min_grade"] == "A"
    assert "load-testing" in checks  # the profile's attestations come along
    lg = found["ledger"]
    assert lg.environment == "staging" and lg.owner == "group:default/team-ledger"
    checks = _checks(d, lg.id)
    assert set(checks) == {"health", "headers"}
    assert checks["health"].options == {"path": "/healthz", "max_latency": "500ms"}

    # a changed annotation changes the check; the removed file archives its service
    _touch(shop, SHOP.replace('tls.warn_days: "30"', 'tls.warn_days: "45"'))
    ledger.unlink()
    d.tick()
    assert set(d.services()) == {"shop-frontend"}
    assert _checks(d, sf.id)["tls"].options["warn_days"] == 45


def test_bad_catalog_files_are_named_and_remove_nothing(tmp_path: Path, driver: Any) -> None:
    root = tmp_path / "catalog"
    shop = root / "shop" / "catalog-info.yaml"
    ledger = root / "ledger" / "catalog-info.yaml"
    _touch(shop, SHOP)
    _touch(ledger, LEDGER)
    d = driver({"type": "backstage", "path": [f"{root}/**/catalog-info.yaml"]})
    d.tick()
    assert set(d.services()) == {"shop-frontend", "ledger"}

    # broken YAML in one file, a forbidden option and an unknown check in the other
    _touch(shop, SHOP + "\n  bad: [unclosed\n")
    _touch(
        ledger,
        LEDGER.replace(
            "auditor.io/health.path: /healthz",
            "auditor.io/health.path: /healthz\n    auditor.io/health.ca_file: /etc/passwd\n"
            "    auditor.io/nothing.x: '1'",
        ),
    )
    with capture_logs() as logs:
        d.tick()
    errors = sorted(e["error"] for e in logs if e["log_level"] == "error")
    assert any(e.startswith(f"{shop}: not valid YAML") for e in errors), errors
    assert any(
        e.startswith(f"{ledger}: component 'ledger'") and "auditor.io/nothing.x" in e
        for e in errors
    ), errors
    assert set(d.services()) == {"shop-frontend", "ledger"}  # nothing archived

    _touch(
        ledger,
        LEDGER.replace(
            "auditor.io/health.path: /healthz",
            "auditor.io/health.path: /healthz\n    auditor.io/health.ca_file: /etc/passwd",
        ),
    )
    with capture_logs() as logs:
        d.tick()
    errors = [e["error"] for e in logs if e["log_level"] == "error"]
    assert any(
        e.startswith(f"{ledger}: component 'ledger': check health.ca_file: not allowed")
        for e in errors
    ), errors
    with d.store.read() as s:
        rows = s.exec(select(Check).where(col(Check.kind) == "health")).all()
    assert all("ca_file" not in c.options for c in rows)  # never stored


def test_oversized_values_are_problems_not_failed_writes(tmp_path: Path, driver: Any) -> None:
    root = tmp_path / "catalog"
    big = root / "big" / "catalog-info.yaml"
    _touch(root / "shop" / "catalog-info.yaml", SHOP)
    _touch(big, LEDGER.replace("http://ledger.internal:8080", "https://x.example/" + "a" * 3000))
    d = driver({"type": "backstage", "path": str(root)})
    with capture_logs() as logs:
        d.tick()
    errors = [e["error"] for e in logs if e["log_level"] == "error"]
    assert errors == [f"{big}: component 'ledger': service.url: at most 2048 characters"]
    assert set(d.services()) == {"shop-frontend"}
