"""The pure parts of the ``monitoring`` kind: Alertmanager routing semantics, rule coverage,
RED detection, the verdict's wording and the options' refusals."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from checks.base import RunStatus
from checks.monitoring import MonitoringCheck, MonitoringOptions, promql, routing
from checks.monitoring.red import red_signals
from checks.tiers import api_tier_problems
from tests.checks.monitoring.conftest import BARE_METRICS, RED_METRICS

TREE = routing.parse_config(
    """
route:
  receiver: default-pager
  routes:
    - match: {team: infra}
      receiver: infra
      continue: true
    - match_re: {job: "pay.*"}
      receiver: payments
      routes:
        - matchers: ['severity="info"']
          receiver: "null"
    - matchers: ['{env!="staging", job=~"orders|carts"}']
      receiver: shop
receivers:
  - name: default-pager
    pagerduty_configs: [{routing_key: "<secret>"}]
  - name: infra
    email_configs: [{to: infra@example.com}]
  - name: payments
    webhook_configs: [{url: "http://hooks/x"}]
  - name: shop
    slack_configs: [{channel: "#shop"}]
  - name: "null"
"""
)


@pytest.mark.parametrize(
    ("labels", "receivers", "root_only"),
    [
        ({"job": "payments", "severity": "critical"}, ("payments",), False),
        ({"job": "payments", "severity": "info"}, ("null",), False),  # nested route wins
        ({"job": "payments-eu"}, ("payments",), False),  # anchored regex: pay.* matches
        ({"job": "xpayments"}, ("default-pager",), True),  # anchored: no match
        ({"job": "orders"}, ("shop",), False),
        ({"job": "orders", "env": "staging"}, ("default-pager",), True),
        ({"team": "infra", "job": "payments"}, ("infra", "payments"), False),  # continue
    ],
)
def test_routing_follows_alertmanager(
    labels: dict[str, str], receivers: tuple[str, ...], root_only: bool
) -> None:
    routed = routing.route(TREE["route"], labels)
    assert routed.receivers == receivers
    assert routed.root_only is root_only


def test_receivers_without_integrations_notify_no_one() -> None:
    assert routing.notifying(TREE) == {"default-pager", "infra", "payments", "shop"}


def test_a_status_without_a_route_is_refused() -> None:
    with pytest.raises(routing.RoutingError, match="no route"):
        routing.parse_config("global: {}\n")
    with pytest.raises(routing.RoutingError, match="not YAML"):
        routing.parse_config("route: [unclosed\n")


@pytest.mark.parametrize(
    ("query", "covered"),
    [
        ('up{job="payments"} == 0', True),
        ('rate(http_requests_total{job=~"pay.*",code=~"5.."}[5m]) > 1', True),
        ('up{job=~"pay"} == 0', False),  # anchored
        ('up{job!="payments"} == 0', False),
        ('up{job=~"payments|orders",job!="payments"} == 0', False),
        ("up == 0", False),
        ('up{job="payments",instance="10.0.0.9:80"} == 0', False),  # another instance
        ('up{job="payments",instance=~"10.0.0.5:.*"} == 0', True),
    ],
)
def test_rule_coverage_reads_label_matchers(query: str, covered: bool) -> None:
    assert promql.selects(query, "payments", "10.0.0.5:80") is covered


def test_selector_quotes_label_values() -> None:
    assert promql.selector("up", 'a"b', None) == 'up{job="a\\"b"}'


def test_red_detection_reads_names_and_status_labels() -> None:
    good = red_signals(RED_METRICS)
    assert good["errors"] == ["http_requests_total"]
    assert good["duration"] == ["http_request_duration_seconds"]
    bare = red_signals(BARE_METRICS)
    assert (bare["rate"], bare["errors"], bare["duration"]) == ([], [], [])
    micrometer = red_signals(
        'http_server_requests_seconds_count{outcome="SUCCESS",status="200"} 5\n'
        'http_server_requests_seconds_sum{outcome="SUCCESS",status="200"} 0.5\n'
    )
    assert micrometer["rate"] and micrometer["errors"] and micrometer["duration"]
    assert red_signals("<html>OK</html>")["valid"] is False


def facts(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "job": "payments",
        "instance": None,
        "window_s": 600.0,
        "scrape": {"series": [{"instance": "a:1", "up_ratio": 1.0}], "last_errors": {}},
        "rules": {"covering": [{"name": "PaymentsDown", "health": "ok"}], "named": []},
        "alertmanagers": ["http://am:9093/api/v2/alerts"],
        "alertmanager": None,
        "red": None,
    }
    base.update(over)
    return base


OPTS = MonitoringOptions(prometheus_url="http://prom:9090")


def judge(**over: Any) -> tuple[RunStatus, list[str], list[str]]:
    out = MonitoringCheck().evaluate(facts(**over), OPTS)
    return out.status, [f.code for f in out.findings], [f.message for f in out.findings]


def test_partly_failing_scrapes_warn_with_the_share() -> None:
    status, codes, messages = judge(
        scrape={"series": [{"instance": "a:1", "up_ratio": 0.75}], "last_errors": {}}
    )
    assert (status, codes) == (RunStatus.WARN, ["monitoring.scrape_failing"])
    assert "25% of the scrapes of a:1" in messages[0]


def test_a_prometheus_without_alertmanager_is_named() -> None:
    status, codes, messages = judge(alertmanagers=[])
    assert (status, codes) == (RunStatus.FAIL, ["monitoring.no_alertmanager"])
    assert "alerting: alertmanagers:" in messages[0]


def test_a_rule_that_fails_to_evaluate_warns() -> None:
    rule = {"name": "PaymentsDown", "health": "err", "last_error": "many-to-many matching"}
    status, codes, messages = judge(rules={"covering": [rule], "named": []})
    assert (status, codes) == (RunStatus.WARN, ["monitoring.rule_failing"])
    assert "many-to-many matching" in messages[0]


def test_root_only_routes_count_unless_default_route_ok_is_false() -> None:
    am = {"url": "http://am", "error": None, "routes": [
        {"alert": "PaymentsDown", "receivers": ["default-pager"], "notifying": ["default-pager"],
         "root_only": True, "path": []}]}  # fmt: skip
    assert MonitoringCheck().evaluate(facts(alertmanager=am), OPTS).findings == ()
    strict = OPTS.model_copy(update={"default_route_ok": False})
    out = MonitoringCheck().evaluate(facts(alertmanager=am), strict)
    assert [f.code for f in out.findings] == ["monitoring.no_route"]
    assert "only by the root route" in out.findings[0].message


def test_an_unreadable_alertmanager_is_an_error_beside_the_rest() -> None:
    am = {"url": "http://am", "error": "connection refused", "routes": []}
    status, codes, _ = judge(alertmanager=am, rules={"covering": [], "named": []})
    assert status == RunStatus.ERROR
    assert sorted(codes) == ["monitoring.no_alert_rule", "monitoring.unreachable"]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"prometheus_url": "http://u:p@prom:9090"}, "credentials"),
        ({"prometheus_url": "ftp://prom"}, "http"),
        ({"prometheus_url": "http://prom", "window": "10s"}, "window"),
        ({"prometheus_url": "http://prom", "token_env": "Bearer abc def"}, "token_env"),
        ({"prometheus_url": "http://prom", "username": "u"}, "password_env"),
        ({"prometheus_url": "http://prom", "bogus": 1}, "bogus"),
    ],
)
def test_bad_options_name_the_field(options: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        MonitoringOptions(**options)


def test_credentials_are_config_file_only() -> None:
    fields = [f for f, _ in api_tier_problems(
        "monitoring", {"prometheus_url": "http://p", "token_env": "PROM_TOKEN"}, ["PROM_TOKEN"])]  # fmt: skip
    assert "options.token_env" in fields
    assert api_tier_problems("monitoring", {"prometheus_url": "http://p"}, []) == []
