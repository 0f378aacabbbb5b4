"""Bad input everywhere (issue 8, part 4): a table of broken config files, each with its exact
message, and property tests: the duration/size parsers, the condition language and the CSP
parser never raise anything but their validation error, whatever they are fed."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.config import ConfigError, load_config
from checks.conditions import ConditionError, evaluate, parse_condition
from checks.headers.csp import CspParseError, parse_csp, split_header_policies
from checks.units import parse_duration, parse_size

SVC = '[[services]]\nname = "api"\nurl = "https://api.example.com"\n'
CHECK = SVC + "[[services.checks]]\n"
DURATION_HELP = 'expected a duration like "30s", "5m", "1h", "2d" or a number of seconds'

# name -> (file text, exact problems; "<file>" stands for the file's path)
CONFIG_MISTAKES: dict[str, tuple[str, list[str]]] = {
    "not-toml": (
        "this is = not [ toml",
        [
            "<file>: not valid TOML: Expected '=' after a key in a key/value pair "
            "(at line 1, column 6)"
        ],
    ),
    "duplicate-key": (
        "[auditor]\nconcurrency = 1\nconcurrency = 2\n",
        ["<file>: not valid TOML: Cannot overwrite a value (at line 3, column 16)"],
    ),
    "misspelt-auditor-key": (
        "[auditor]\nconcurency = 10\n",
        ['<file>:2: auditor.concurency: unknown key; did you mean "concurrency"?'],
    ),
    "misspelt-table": (
        '[audtor]\nlisten = "x"\n',
        ['<file>:1: audtor: unknown key; did you mean "auditor"?'],
    ),
    "discovery-without-path": (
        '[[discovery]]\ntype = "file_sd"\nlabels = { job = "service" }\n',
        [
            "<file>:3: "
            "discovery[0].labels.job: must be one of 'name', 'environment', 'owner', "
            "'profile' or 'url'"
        ],
    ),
    "listen-without-host": (
        '[auditor]\nlisten = "8080"\n',
        ['<file>:2: auditor.listen: must be "host:port", e.g. "127.0.0.1:8080"'],
    ),
    "zero-concurrency": (
        "[auditor]\nconcurrency = 0\n",
        ["<file>:2: auditor.concurrency: must be a positive integer"],
    ),
    "concurrency-as-text": (
        '[auditor]\nconcurrency = "lots"\n',
        ["<file>:2: auditor.concurrency: must be an integer"],
    ),
    "duration-in-words": (
        '[auditor]\ndefault_interval = "5 minutes"\n',
        [f"<file>:2: auditor.default_interval: {DURATION_HELP}, got '5 minutes'"],
    ),
    "negative-duration": (
        '[auditor]\ndefault_timeout = "-1s"\n',
        [f"<file>:2: auditor.default_timeout: {DURATION_HELP}, got '-1s'"],
    ),
    "bad-cidr": (
        '[auditor]\nallow_cidrs = ["10.0.0.0/33"]\n',
        [
            "<file>:2: "
            "auditor.allow_cidrs: '10.0.0.0/33' is not a CIDR range "
            "('10.0.0.0/33' does not appear to be an IPv4 or IPv6 network)"
        ],
    ),
    "bad-log-level": (
        '[auditor]\nlog_level = "verbose"\n',
        ["<file>:2: auditor.log_level: must be one of 'debug', 'info', 'warning' or 'error'"],
    ),
    "services-not-an-array": (
        '[services]\nname = "api"\n',
        ["<file>:1: services: must be an array of tables ([[services]])"],
    ),
    "service-without-url": (
        '[[services]]\nname = "api"\n',
        ["<file>:1: services[0].url: is required"],
    ),
    "service-name-not-a-slug": (
        '[[services]]\nname = "My API"\nurl = "https://x.example"\n',
        [
            "<file>:2: "
            "services[0].name: must be a lowercase slug (a-z, 0-9, '.', '_', '-'), "
            "at most 63 characters"
        ],
    ),
    "service-url-not-http": (
        '[[services]]\nname = "api"\nurl = "ftp://x.example"\n',
        [
            "<file>:3: "
            "services[0].url: must be an absolute http:// or https:// URL, "
            'e.g. "https://api.example.com"'
        ],
    ),
    "duplicate-service": (
        SVC + SVC,
        ["<file>:5: services[1].name: duplicate service name 'api' (also services[0])"],
    ),
    "unknown-kind": (
        CHECK + 'kind = "pingg"\n',
        [
            "<file>:5: "
            "services[0].checks[0].kind: unknown check kind 'pingg' (known: api, attestation, "
            "backups, env, evidence, exposure, headers, health, logging, migrations, monitoring, "
            "redirect, schema, tls)"
        ],
    ),
    "misspelt-check-key": (
        CHECK + 'kind = "tls"\nwarn_dayz = 3\n',
        ['<file>:6: services[0].checks[0].warn_dayz: unknown key; did you mean "warn_days"?'],
    ),
    "days-as-text": (
        CHECK + 'kind = "tls"\nwarn_days = "soon"\n',
        ["<file>:6: services[0].checks[0].warn_days: must be an integer"],
    ),
    "bad-severity": (
        CHECK + 'kind = "health"\nseverity = "urgent"\n',
        [
            "<file>:6: "
            "services[0].checks[0].severity: must be one of 'critical', 'high', 'medium', "
            "'low' or 'info'"
        ],
    ),
    "bad-level": (
        CHECK + 'kind = "health"\nlevel = "platinum"\n',
        ["<file>:6: services[0].checks[0].level: must be one of 'bronze', 'silver' or 'gold'"],
    ),
    "bad-cron": (
        CHECK + 'kind = "health"\nschedule = "every day"\n',
        [
            "<file>:6: "
            "services[0].checks[0].schedule: is not a valid cron expression "
            "(Wrong number of fields; got 2, expected 5)"
        ],
    ),
    "zero-threshold": (
        CHECK + 'kind = "health"\nfailure_threshold = 0\n',
        ["<file>:6: services[0].checks[0].failure_threshold: must be a positive integer"],
    ),
    "impossible-status": (
        CHECK + 'kind = "health"\nexpect_status = 999\n',
        [
            "<file>:6: "
            "services[0].checks[0].expect_status: expect_status takes HTTP statuses "
            "(100-599) or classes like '2xx', got 999"
        ],
    ),
    "bad-min-grade": (
        CHECK + 'kind = "headers"\nmin_grade = "Z"\n',
        [
            "<file>:6: "
            "services[0].checks[0].min_grade: must be one of A+, A, A-, B+, B, B-, C+, C, C-, "
            "D+, D, D-, F, not 'Z'"
        ],
    ),
    "size-in-words": (
        CHECK + 'kind = "health"\nbody_cap = "1 gigabyte"\n',
        [
            "<file>:6: "
            "services[0].checks[0].body_cap: unknown size unit 'gigabyte' in '1 gigabyte'; "
            'expected a size like 1048576, "500KB", "1MB", "2GB" (powers of 1000) or '
            '"1MiB" (1024)'
        ],
    ),
    "unnamed-duplicate-check": (
        CHECK + 'kind = "health"\n[[services.checks]]\nkind = "health"\n',
        [
            "<file>:6: "
            "services[0].checks[1].name: duplicate check name 'health' in service 'api' "
            "(also checks[0]); give one of them a name"
        ],
    ),
    "literal-dsn-instead-of-env": (
        CHECK + 'kind = "migrations"\ntool = "alembic"\ndsn = "postgresql://u:p@h/db"\n',
        [
            "<file>:4: services[0].checks[0].dsn_env: is required",
            '<file>:7: services[0].checks[0].dsn: unknown key; did you mean "dsn_env"?',
        ],
    ),
    "bad-receiver-type": (
        '[[alerting.receivers]]\nname = "ops"\ntype = "pager"\nurl = "https://h.example"\n',
        [
            "<file>:3: "
            "alerting.receivers[0].type: must be one of 'webhook', 'slack', 'email', "
            "'alertmanager' or 'apprise'"
        ],
    ),
    "every-mistake-at-once": (
        "[auditor]\nconcurrency = 0\n" + CHECK + 'kind = "tls"\nwarn_days = -1\n',
        [
            "<file>:2: auditor.concurrency: must be a positive integer",
            "<file>:8: services[0].checks[0].warn_days: must be a positive integer",
        ],
    ),
}


@pytest.mark.parametrize("name", sorted(CONFIG_MISTAKES))
def test_config_mistake_has_its_exact_message(tmp_path: Path, name: str) -> None:
    text, problems = CONFIG_MISTAKES[name]
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert [p.replace(str(path), "<file>") for p in info.value.problems] == problems


def test_a_missing_explicit_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.toml", environ={})
    assert info.value.problems == [f"{tmp_path / 'nope.toml'}: no such configuration file"]


def test_a_binary_config_file(tmp_path: Path) -> None:
    path = tmp_path / "binary.toml"
    path.write_bytes(b"\x00\xff\xfe garbage \x80")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert info.value.problems[0].startswith(f"{path}: not valid TOML: ")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param(
            '[auditor]\nallow_private_networks = "yes"\n',
            "2: auditor.allow_private_networks: must be true or false",
            id="string-as-bool",
        ),
        pytest.param(
            '[[alerting.receivers]]\nname = "ops"\ntype = "webhook"\n',
            "1: alerting.receivers[0]: a webhook receiver needs url or url_env",
            id="receiver-no-url",
        ),
        pytest.param(
            '[[alerting.receivers]]\nname = "mail"\ntype = "email"\nsmtp_host = "smtp"\n',
            "1: alerting.receivers[0]: an email receiver needs from, to",
            id="email-receiver-incomplete",
        ),
    ],
)
def test_mistakes_the_config_catches(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert info.value.problems == [f"{path}:{problem}"]  # the file, the line, the key path


@pytest.mark.parametrize(
    "override",
    [
        {"AUDITOR_CONCURRENCY": "many"},
        {"AUDITOR_DEFAULT_TIMEOUT": "soon"},
        {"AUDITOR_ALLOW_CIDRS": "not-a-cidr"},
        {"AUDITOR_LISTEN": "nowhere"},
    ],
)
def test_bad_environment_overrides_are_config_errors(
    tmp_path: Path, override: dict[str, str]
) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[auditor]\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ=override)
    key = next(iter(override))[len("AUDITOR_") :].lower()
    assert any(key in p for p in info.value.problems), info.value.problems


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=2000))
def test_arbitrary_toml_text_is_a_config_error_or_a_config(text: str) -> None:
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as handle:
        handle.write(text)
    try:
        load_config(handle.name, environ={})
    except ConfigError:
        pass
    finally:
        Path(handle.name).unlink()


# -- property tests -------------------------------------------------------------------------

ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.from_regex(r"\A-?\d{0,30}(\.\d{0,5})?\s?(ms|s|m|h|d|w|y|KB|MB|GB|KiB|MiB|GiB|B)?\Z"),
    st.lists(st.integers(), max_size=3),
    st.binary(max_size=10),
)


@settings(max_examples=500, deadline=None)
@given(ANY_VALUE)
def test_duration_parser_raises_only_value_error(value: object) -> None:
    try:
        seconds = parse_duration(value)
    except ValueError:
        return
    assert isinstance(seconds, float) and seconds >= 0 and seconds == seconds
    assert seconds != float("inf")


@settings(max_examples=500, deadline=None)
@given(ANY_VALUE)
def test_size_parser_raises_only_value_error(value: object) -> None:
    try:
        size = parse_size(value)
    except ValueError:
        return
    assert isinstance(size, int) and size >= 0


CONDITION_PIECES = st.sampled_from(
    [
        "[STATUS]",
        "[BODY]",
        "[BODY].status",
        "[BODY].a[0].b",
        "[RESPONSE_TIME]",
        "[HEADERS].x",
        "[CONNECTED]",
        "len([BODY].items)",
        "has([BODY].x)",
        "pat(*ok*)",
        "any(1,2)",
        "==",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        " ",
        "200",
        "ok",
        '"',
        "(",
        ")",
        "[",
        "]",
        ".",
        ",",
        "-1",
        "1e999",
        "nan",
        "\x00",
        "é",
        "[BODY].",
    ]
)
CONDITIONS = st.one_of(st.text(max_size=200), st.lists(CONDITION_PIECES, max_size=12).map("".join))
FACTS = st.fixed_dictionaries(
    {
        "status": st.one_of(st.integers(), st.none(), st.text(max_size=5)),
        "elapsed_ms": st.one_of(st.floats(allow_nan=True), st.integers(), st.none()),
        "body": st.text(max_size=50),
        "body_json": st.recursive(
            st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5)),
            lambda inner: st.one_of(
                st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
            ),
            max_leaves=10,
        ),
        "headers": st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
    }
)


@settings(max_examples=800, deadline=None)
@given(CONDITIONS, FACTS)
def test_condition_language_raises_only_condition_error(text: str, facts: dict) -> None:
    try:
        condition = parse_condition(text)
    except ConditionError:
        return
    result = evaluate(condition, facts)  # "pure, never raises"
    assert isinstance(result.success, bool)


CSP_PIECES = st.sampled_from(
    [
        "default-src",
        "script-src",
        "style-src",
        "object-src",
        "base-uri",
        "frame-ancestors",
        "'self'",
        "'none'",
        "'unsafe-inline'",
        "'unsafe-eval'",
        "'strict-dynamic'",
        "'nonce-abc'",
        "'sha256-xyz='",
        "https:",
        "http:",
        "data:",
        "*",
        "https://a.example/p%zz",
        "%",
        "%2",
        ";",
        ",",
        " ",
        "\t",
        "'",
        "upgrade-insecure-requests",
        "\x00",
        "é",
    ]
)
CSPS = st.one_of(st.text(max_size=300), st.lists(CSP_PIECES, max_size=20).map(" ".join))


@settings(max_examples=800, deadline=None)
@given(st.lists(CSPS, max_size=3))
def test_csp_parser_raises_only_csp_parse_error(values: list[str]) -> None:
    try:
        policies = split_header_policies(values)
        parse_csp(policies)
    except CspParseError:
        return


@settings(max_examples=300, deadline=None)
@given(st.lists(CSPS, max_size=2), st.text(max_size=200))
def test_grading_never_raises_on_hostile_headers(values: list[str], body: str) -> None:
    from checks.headers.observatory import grade_response

    headers = [("Content-Type", "text/html")] + [("Content-Security-Policy", v) for v in values]
    facts = grade_response("https://a.example/", 200, headers, body.encode())
    assert facts["grade"] in {
        "A+",
        "A",
        "A-",
        "B+",
        "B",
        "B-",
        "C+",
        "C",
        "C-",
        "D+",
        "D",
        "D-",
        "F",
    }
