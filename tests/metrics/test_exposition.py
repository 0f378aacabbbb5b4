"""The fast exposition path writes exactly what prometheus_client's encoders write."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import Flask
from prometheus_client.exposition import choose_encoder
from sqlmodel import col

from auditor.metrics import build_registry
from auditor.metrics.exposition import RowsGauge, StateSetGauge, render
from auditor.store.db import Database
from auditor.store.models import Service
from tests.metrics.support import T0

#: what Prometheus 2.x/3.x sends, plain text, and the UTF-8 / dots escaping variants
ACCEPTS = [
    "",
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    "application/openmetrics-text; version=1.0.0",
    "text/plain;version=1.0.0;escaping=allow-utf-8",
    "application/openmetrics-text;version=1.0.0;escaping=dots",
    "application/openmetrics-text;version=1.0.0;escaping=values",
]
ODD_NAMES = ['quote"d', "back\\slash", "new\nline", "ünïcödé ☃", "curly{}=,", "trailing\\"]


def _steady(text: bytes) -> bytes:
    """Without the scrape's own duration, the one value that differs between two scrapes."""
    return re.sub(rb"(?m)^(\S*scrape\S*duration\S*) \S+$", rb"\1 <d>", text)


def _registry(store: Database) -> object:
    class Item:
        def __init__(self, score: int, verdict: str) -> None:
            self.score, self.verdict = score, verdict

    with store.read() as s:
        ids = list(s.execute(sa.select(col(Service.id))).scalars())
    readiness = {sid: Item(50 + i, "ready" if i % 2 else "not_ready") for i, sid in enumerate(ids)}
    return build_registry(store, process=False, readiness=lambda st, now: readiness, now=lambda: T0)


@pytest.mark.parametrize("accept", ACCEPTS)
def test_the_fast_path_writes_what_the_encoder_writes(populated: Database, accept: str) -> None:
    encoder, _ = choose_encoder(accept)
    registry = _registry(populated)
    expected = _steady(encoder(registry))  # type: ignore[arg-type]
    assert b"auditor_check_status" in expected or b"auditor__check__status" in expected
    assert _steady(render(registry, encoder)) == expected


@pytest.mark.parametrize("odd", ODD_NAMES)
def test_odd_label_values_are_escaped_as_the_encoder_does(populated: Database, odd: str) -> None:
    with populated.write() as s:
        s.execute(sa.update(Service).where(col(Service.name) == "billing").values(name=odd))
    for accept in ACCEPTS[:2]:
        encoder, _ = choose_encoder(accept)
        registry = _registry(populated)
        assert _steady(render(registry, encoder)) == _steady(encoder(registry))  # type: ignore[arg-type]


def test_the_endpoint_serves_the_fast_path_for_a_prometheus_scrape(app: Flask) -> None:
    resp = app.test_client().get("/metrics", headers={"Accept": ACCEPTS[1]})
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert body.endswith("# EOF\n") and body.count("# EOF") == 1
    line = 'auditor_check_status{check="health",kind="health",service="billing",status="pass"} '
    assert body.count(line) == 1
    assert "# TYPE auditor_runs counter\n" in body  # OpenMetrics names the counter family


def test_row_families_still_give_samples_to_other_readers() -> None:
    family = StateSetGauge("x_state", "doc", ["service", "state"], ("up", "down"))
    family.add_state(["a"], "down")
    assert [(s.labels, s.value) for s in family.samples] == [
        ({"service": "a", "state": "up"}, 0.0),
        ({"service": "a", "state": "down"}, 1.0),
    ]
    gauge = RowsGauge("x_value", "doc", ["service"])
    gauge.add_metric(["b"], 3.5)
    assert [(s.name, s.labels, s.value) for s in gauge.samples] == [
        ("x_value", {"service": "b"}, 3.5)
    ]
