"""Lint rules never crash on a document of the wrong shape (it may fail validation and still
be linted): random trees built from OpenAPI's own keywords."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks.api.lint import lint
from checks.api.lint_common import LintContext
from checks.api.live_rules import LIVE_RULES
from checks.api.model import Spec
from checks.api.ruleset import RULE_IDS, default_ruleset

KEYS = [
    "paths", "/users", "/users/{id}", "get", "post", "delete", "parameters", "responses",
    "200", "201", "404", "429", "content", "application/json", "schema", "properties", "data",
    "meta", "error", "allOf", "oneOf", "$ref", "security", "components", "securitySchemes",
    "type", "scheme", "headers", "servers", "url", "variables", "in", "name", "requestBody",
    "operationId", "items", "basePath", "securityDefinitions",
]  # fmt: skip
REFS = st.sampled_from(["#/components", "#/paths/~1users", "#/components/schemas/A", "#/nope", "#"])
LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8), REFS)
TREE = st.recursive(
    LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=5),
    ),
    max_leaves=40,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.dictionaries(st.sampled_from(KEYS), TREE, max_size=6), swagger=st.booleans())
def test_lint_survives_any_shape(body: dict[str, Any], swagger: bool) -> None:
    doc = {("swagger" if swagger else "openapi"): "2.0" if swagger else "3.1.0", **body}
    conv = default_ruleset().conventions
    ctx = LintContext(
        Spec(doc), conv, tuple(conv.public_operations), tuple(conv.idempotent_operations)
    )
    found = lint(ctx, [r for r in RULE_IDS if r not in LIVE_RULES])
    assert all(v.rule in RULE_IDS for v in found)


OPERATION = st.dictionaries(st.sampled_from(KEYS), TREE, max_size=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    get=OPERATION, post=OPERATION, item=TREE, components=TREE, security=TREE,
    responses=st.dictionaries(st.sampled_from(["200", "201", "404", "429", "default"]), TREE, max_size=4),
)  # fmt: skip
def test_lint_survives_operations_of_any_shape(
    get: Any, post: Any, item: Any, components: Any, security: Any, responses: Any
) -> None:
    doc = {
        "openapi": "3.1.0",
        "servers": [{"url": "/api/v1"}],
        "paths": {
            "/users": {"get": {**get, "responses": responses}, "post": post},
            "/users/{id}": item,
        },
        "components": components,
        "security": security,
    }
    conv = default_ruleset().conventions
    ctx = LintContext(
        Spec(doc), conv, tuple(conv.public_operations), tuple(conv.idempotent_operations)
    )
    lint(ctx, [r for r in RULE_IDS if r not in LIVE_RULES])
