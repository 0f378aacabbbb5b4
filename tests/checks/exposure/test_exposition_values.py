"""Sample values are judged as Prometheus reads them: a stock Express app (prom-client writes
``Nan``) has valid metrics, so a public ``/metrics`` there is reported, not "missing".

prometheus_client's own text parser is the oracle for every case.
"""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from checks.exposure.exposition import check_exposition

VALUES = ["Nan", "NaN", "nan", "+Inf", "-inf", "INF", "Infinity", "-infinity", "1.", ".5", "1e3"]
NOT_VALUES = ["NaNx", "abc", "1..2", "in f", "0x1p3"]


def _prometheus_accepts(text: str) -> bool:
    try:
        return bool(list(text_string_to_metric_families(text)))
    except Exception:
        return False


@pytest.mark.parametrize("value", VALUES)
def test_values_prometheus_accepts_are_valid(value: str) -> None:
    text = f'# TYPE nodejs_eventloop_lag_seconds gauge\nnodejs_eventloop_lag_seconds{{a="b"}} {value}\n'
    assert _prometheus_accepts(text)
    valid, samples, reason = check_exposition(text)
    assert (valid, samples) == (True, 1), reason


@pytest.mark.parametrize("value", NOT_VALUES)
def test_values_prometheus_refuses_are_invalid(value: str) -> None:
    text = f"up {value}\n"
    assert not _prometheus_accepts(text)
    assert check_exposition(text)[0] is False
