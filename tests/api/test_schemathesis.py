"""Schemathesis against the live app (WSGI): every operation, positive and negative data, then
stateful sequences through the declared OpenAPI links.

Fails on any 5xx, any response not matching the document (status, content type, headers,
body schema), and any invalid input that is accepted. The number of generated cases is
printed (``-s`` shows it) for the README.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import hypothesis
import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    use_after_free,
)
from sqlmodel import SQLModel

from auditor.store.db import Database
from tests.api.conftest import auth

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
MAX_EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "8"))
SETTINGS: dict[str, Any] = {
    "deadline": None,
    "database": None,
    "derandomize": True,
    "suppress_health_check": list(HealthCheck),
    "phases": [Phase.explicit, Phase.generate],
}


@pytest.fixture
def schema(app: Any, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    # run-now must not probe the fuzzer's random URLs: record an error run instead
    from web.api import checks as checks_module

    def fake_run(check_id: str) -> str | None:
        from auditor.store.models import Check, Run, utcnow
        from web import get_store

        store = get_store()
        with store.write() as s:
            chk = s.get(Check, check_id)
            assert chk is not None
            now = utcnow()
            run = Run(
                check_id=chk.id,
                service_id=chk.service_id,
                status="error",
                summary="fuzz",
                started_at=now,
                due_at=now,
            )
            s.add(run)
        return run.id

    app.extensions["auditor.api.run_now"] = fake_run
    assert checks_module.default_run_now is not None
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def test_every_operation_positive_and_negative(schema: Any, tokens: dict[str, str]) -> None:
    headers = auth(tokens["admin"])
    counts = {"cases": 0, "operations": 0}
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        counts["operations"] += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                strategy = operation.as_strategy(generation_mode=mode)
            except Exception as exc:  # an operation with nothing to negate
                print(f"skip {operation.label} {mode.value}: {exc}")
                continue

            @given(strategy)
            @settings(max_examples=MAX_EXAMPLES, **SETTINGS)
            def run(case: Any) -> None:
                counts["cases"] += 1
                case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                run()
            except hypothesis.errors.Unsatisfiable:
                continue
            except Exception as exc:
                failures.append(f"{operation.label} [{mode.value}]: {exc}")
    print(
        f"\nschemathesis: {counts['cases']} generated cases over "
        f"{counts['operations']} operations (positive + negative)"
    )
    assert not failures, "\n\n".join(failures)


def _restorer(store: Database) -> Callable[[], None]:
    """Deletes every row added since it was made: each stateful scenario then starts from the
    same database, as Hypothesis needs to replay a scenario (a name taken by an earlier
    scenario would turn a replayed 201 into a 409 and make the run flaky)."""
    tables = list(SQLModel.metadata.sorted_tables)
    with store.read() as s:
        kept = {
            t.name: {tuple(row) for row in s.execute(sa.select(*t.primary_key.columns)).all()}
            for t in tables
        }

    def restore() -> None:
        with store.write() as s:
            for table in reversed(tables):
                keys = list(table.primary_key.columns)
                for row in s.execute(sa.select(*keys)).all():
                    if tuple(row) not in kept[table.name]:
                        s.execute(
                            sa.delete(table).where(
                                *(k == v for k, v in zip(keys, row, strict=True))
                            )
                        )

    return restore


def test_stateful_links(schema: Any, tokens: dict[str, str], store: Database) -> None:
    headers = auth(tokens["admin"])
    calls = {"n": 0}
    restore = _restorer(store)

    class Machine(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            restore()

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": headers}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            calls["n"] += 1
            case.validate_response(
                response,
                checks=[*CHECKS, use_after_free],
                headers=headers,
            )

    hypothesis.stateful.run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=int(os.environ.get("API_FUZZ_STATEFUL", "15")),
            stateful_step_count=6,
            **SETTINGS,
        ),
    )
    print(f"\nschemathesis stateful: {calls['n']} calls")
    assert calls["n"] > 0
