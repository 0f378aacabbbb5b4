"""Table tests for the pure stack-trace / debug-page / banner / exposition detectors."""

from __future__ import annotations

import pytest

from checks.exposure.exposition import check_exposition
from checks.exposure.ratelimit import rate_limit_headers
from checks.exposure.signatures import scan_body, version_banners

POSITIVE = [
    (
        "Python traceback",
        "stack_trace",
        'Traceback (most recent call last):\n  File "/app/app.py", line 9, in index\n'
        "    return 1 / 0\nZeroDivisionError: division by zero\n",
    ),
    (
        "Python traceback",
        "stack_trace",
        '{"error": "boom", "detail": "  File \\"/app/a.py\\", line 3, in f\\n'
        '  File \\"/app/b.py\\", line 4, in g\\n"}',
    ),
    (
        "Java stack trace",
        "stack_trace",
        "java.lang.NullPointerException: x\n\tat com.example.Foo.bar(Foo.java:42)\n"
        "\tat com.example.Main.main(Main.java:10)\n",
    ),
    (
        "Java stack trace",
        "stack_trace",
        '{"status":500,"trace":"java.lang.IllegalStateException: x\\n\\tat '
        'org.acme.Svc.run(Svc.java:12)\\n\\tat org.acme.App.main(App.kt:3)\\n"}',
    ),
    (
        "Node.js stack trace",
        "stack_trace",
        "TypeError: Cannot read properties of undefined (reading 'x')\n"
        "    at Object.<anonymous> (/app/index.js:3:15)\n"
        "    at Module._compile (node:internal/modules/cjs/loader:1256:14)\n",
    ),
    (
        "Ruby backtrace",
        "stack_trace",
        "NoMethodError (undefined method `x' for nil):\n"
        "app/controllers/users_controller.rb:12:in `show'\n"
        "actionpack (7.0.4) lib/action_controller/metal/basic_implicit_render.rb:6:in "
        "'send_action'\n",
    ),
    (
        "PHP error",
        "stack_trace",
        "<br />\n<b>Fatal error</b>:  Uncaught Exception: boom in /var/www/html/index.php:3\n"
        "Stack trace:\n#0 {main}\n  thrown in <b>/var/www/html/index.php</b> on line <b>3</b>",
    ),
    (
        "PHP error",
        "stack_trace",
        "PHP Fatal error:  Call to undefined function foo() in /var/www/x.php on line 5",
    ),
    (
        "PHP stack trace",
        "stack_trace",
        "Error\n#0 /var/www/a.php(12): foo()\n#1 /var/www/b.php(3): bar()\n",
    ),
    (
        ".NET stack trace",
        "stack_trace",
        "System.NullReferenceException: Object reference not set to an instance of an object.\n"
        "   at MyApp.Controllers.HomeController.Index() in "
        "C:\\src\\MyApp\\Controllers\\HomeController.cs:line 21\n",
    ),
    (
        "Go panic",
        "stack_trace",
        "panic: runtime error\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:8 +0x1d\n",
    ),
    (
        "Werkzeug debugger",
        "debug_page",
        '<div class="debugger">\n<h1>ZeroDivisionError</h1>\n<div class="traceback">'
        "<h3>Traceback <em>(most recent call last)</em></h3>",
    ),
    (
        "Django debug page",
        "debug_page",
        "<p>You’re seeing this error because you have <code>DEBUG = True</code> in your "
        "Django settings file.</p>",
    ),
    (
        "Rails debug page",
        "debug_page",
        "<header><h1>Routing Error</h1></header><p><code>Rails.root: /app</code></p>",
    ),
    (
        "Laravel Ignition",
        "debug_page",
        "<script>window.data = {};</script><script>window.ignite(window.data);</script>",
    ),
    (
        "Express default error handler",
        "debug_page",
        "<!DOCTYPE html>\n<html><head><title>Error</title></head><body>\n<pre>Error: boom<br>"
        " &nbsp; &nbsp;at /app/index.js:5:9<br> &nbsp; &nbsp;at Layer.handle [as handle_request]"
        " (/app/node_modules/express/lib/router/layer.js:95:5)</pre>\n</body></html>\n",
    ),
    (
        "ASP.NET error page",
        "debug_page",
        "<title>Runtime Error</title><body><h1>Server Error in '/' Application.<hr></h1>",
    ),
]

NEGATIVE = [
    "<!DOCTYPE html><html><body><pre>Cannot GET /nope</pre></body></html>",  # Express 404
    "<pre>Internal Server Error</pre>",  # Express in production
    '{"error": "not found"}',
    "<html><head><title>404 Not Found</title></head><body><center><h1>404 Not Found</h1>"
    "</center><hr><center>nginx</center></body></html>",
    # documentation mentioning a single frame is not a leak
    "<p>Errors look like <code>at foo (/app/x.js:1:2)</code> in the log.</p>",
    "<h1>Internal Server Error</h1><p>The server encountered an internal error.</p>",
    "Exception: file not found",
]


@pytest.mark.parametrize(("name", "code", "body"), POSITIVE, ids=[p[0] for p in POSITIVE])
def test_signature_matches(name: str, code: str, body: str) -> None:
    assert {"code": code, "name": name} in scan_body(body)


@pytest.mark.parametrize("body", NEGATIVE)
def test_clean_bodies(body: str) -> None:
    assert scan_body(body) == []


def test_debug_page_hides_its_own_trace() -> None:
    body = (
        next(b for n, _, b in POSITIVE if n == "Werkzeug debugger")
        + "\nTraceback (most recent call last):\n"
    )
    assert [s["code"] for s in scan_body(body)] == ["debug_page"]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([("Server", "nginx/1.25.3")], ["nginx/1.25.3"]),
        ([("Server", "Apache/2.4.41 (Ubuntu)")], ["Apache/2.4.41 (Ubuntu)"]),
        ([("X-Powered-By", "PHP/8.1.2")], ["PHP/8.1.2"]),
        ([("X-AspNet-Version", "4.0.30319")], ["4.0.30319"]),
        ([("Server", "Microsoft-IIS/10.0")], ["Microsoft-IIS/10.0"]),
        ([("Server", "nginx")], []),
        ([("X-Powered-By", "Express")], []),
        ([("Server", "cloudflare")], []),
        ([("Via", "1.1 varnish")], []),
    ],
)
def test_version_banners(headers: list[tuple[str, str]], expected: list[str]) -> None:
    assert [b["value"] for b in version_banners(headers)] == expected


def test_rate_limit_headers() -> None:
    headers = [
        ("RateLimit-Limit", "10"),
        ("X-RateLimit-Remaining", "3"),
        ("RateLimit", "limit=10, remaining=3, reset=1"),
        ("Retry-After", "5"),
        ("X-Rate", "1"),
    ]
    assert rate_limit_headers(headers) == [
        "ratelimit",
        "ratelimit-limit",
        "retry-after",
        "x-ratelimit-remaining",
    ]


VALID = [
    "# HELP up Up.\n# TYPE up gauge\nup 1\n",
    'http_requests_total{method="get",code="200"} 1027 1395066363000\n',
    'x{le="+Inf"} 3\nx_sum -1.5e3\nx_count NaN\n',
    '# TYPE a counter\na_total{path="/a\\"b"} 1 # {trace_id="abc"} 1.0\n# EOF\n',
]
INVALID = [
    "",
    "# only comments\n",
    "<!doctype html><html><body>metrics</body></html>",
    '{"up": 1}',
    "OK",
    "up one\n",
    "# TYPE up thing\nup 1\n",
]


@pytest.mark.parametrize("text", VALID)
def test_valid_exposition(text: str) -> None:
    assert check_exposition(text)[0] is True


@pytest.mark.parametrize("text", INVALID)
def test_invalid_exposition(text: str) -> None:
    assert check_exposition(text)[0] is False


@pytest.mark.parametrize(
    ("headers", "framework", "versioned"),
    [
        ([("X-Powered-By", "Express")], ["Express"], []),
        ([("X-Powered-By", "PHP/8.2.7")], [], ["PHP/8.2.7"]),
        ([("Server", "nginx")], [], []),  # what server_tokens off sends: no finding
        ([("Server", "nginx/1.22.1")], [], ["nginx/1.22.1"]),
        ([("Server", "Caddy"), ("X-Powered-By", "Next.js")], ["Next.js"], []),
    ],
)
def test_framework_banners(
    headers: list[tuple[str, str]], framework: list[str], versioned: list[str]
) -> None:
    from checks.exposure.signatures import framework_banners

    assert [b["value"] for b in framework_banners(headers)] == framework
    assert [b["value"] for b in version_banners(headers)] == versioned


def test_live_debuggers_replace_the_debug_page_hit() -> None:
    werkzeug = (
        '<div class="debugger"><h1>ValueError</h1><script>var CONSOLE_MODE = false,'
        " EVALEX = true, EVALEX_TRUSTED = false,</script>"
    )
    assert scan_body(werkzeug) == [
        {"code": "interactive_debugger", "name": "Werkzeug debugger with EVALEX"}
    ]
    assert scan_body(werkzeug.replace("EVALEX = true", "EVALEX = false")) == [
        {"code": "debug_page", "name": "Werkzeug debugger"}
    ]
    django404 = (
        "<p>Using the URLconf defined in <code>djsite.urls</code>, Django tried these URL "
        "patterns, in this order:</p> ... You’re seeing this error because you have "
        "<code>DEBUG = True</code> in your Django settings file."
    )
    assert scan_body(django404) == [{"code": "url_patterns", "name": "Django technical 404"}]
