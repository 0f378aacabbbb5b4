"""Well-known paths judged on what they answer (pure), with bodies as the real software
serves them: Spring Boot's actuator, Go's net/http/pprof, Swagger UI / ReDoc / OpenAPI,
Apache mod_status and mod_info, nginx stub_status, Werkzeug's console."""

from __future__ import annotations

import json

import pytest

from checks.exposure import paths
from checks.exposure.paths import PROBES, judge_path, judge_root

BY_PATH = {p.path: p for p in PROBES}

ACTUATOR_DEFAULT = json.dumps(
    {
        "_links": {
            "self": {"href": "http://localhost:8080/actuator", "templated": False},
            "health": {"href": "http://localhost:8080/actuator/health", "templated": False},
            "health-path": {"href": "http://localhost:8080/actuator/health/{*path}"},
        }
    }
)
ACTUATOR_ALL = json.dumps(
    {
        "_links": {
            "self": {"href": "http://localhost:8080/actuator"},
            "beans": {"href": "http://localhost:8080/actuator/beans"},
            "env": {"href": "http://localhost:8080/actuator/env"},
            "env-toMatch": {"href": "http://localhost:8080/actuator/env/{toMatch}"},
            "heapdump": {"href": "http://localhost:8080/actuator/heapdump"},
            "health": {"href": "http://localhost:8080/actuator/health"},
            "info": {"href": "http://localhost:8080/actuator/info"},
        }
    }
)
ENV = '{"activeProfiles":[],"defaultProfiles":["default"],"propertySources":[{"name":"server.ports"'
PPROF = """<html>
<head>
<title>/debug/pprof/</title>
</head>
<body>
/debug/pprof/
<br>
Types of profiles available:
<table>
<thead><td>Count</td><td>Profile</td></thead>
<tr><td>7</td><td><a href='goroutine?debug=1'>goroutine</a></td></tr>
</table>
</body>
</html>"""
SWAGGER = """<!DOCTYPE html><html><head><title>items - Swagger UI</title>
<link type="text/css" rel="stylesheet" href="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css">
</head><body><div id="swagger-ui"></div>
<script src="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>const ui = SwaggerUIBundle({url: '/openapi.json', dom_id: '#swagger-ui'})</script>"""
REDOC = '<redoc spec-url="/openapi.json"></redoc><script src="https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js"></script>'
OPENAPI = '{"openapi":"3.1.0","info":{"title":"items","version":"0.1.0"},"paths":{"/":{}}}'
SWAGGER2 = '{"swagger":"2.0","info":{"title":"x"},"paths":{}}'
STATUS = "<html><head>\n<title>Apache Status</title>\n</head><body>\n<h1>Apache Server Status for 127.0.0.1 (via 127.0.0.1)</h1>"
INFO = '<body><h1 style="text-align: center">Apache Server Information</h1>'
STUB = "Active connections: 1 \nserver accepts handled requests\n 5 5 5 \nReading: 0 Writing: 1 Waiting: 0 \n"
CONSOLE = "<script>\n      var CONSOLE_MODE = true,\n          EVALEX = true,\n          EVALEX_TRUSTED = false,"
SPA = "<!doctype html><html><head><title>Shop</title></head><body><div id=root></div></body></html>"


@pytest.mark.parametrize(
    ("path", "status", "body", "expected"),
    [
        ("/actuator", 200, ACTUATOR_ALL, ["beans", "env", "heapdump"]),
        ("/actuator", 200, ACTUATOR_DEFAULT, None),  # Spring Boot's default: health only
        ("/actuator/env", 200, ENV, ["env"]),
        ("/actuator/env", 401, ENV, None),
        ("/debug/pprof/", 200, PPROF, []),
        ("/docs", 200, SWAGGER, []),
        ("/redoc", 200, REDOC, []),
        ("/openapi.json", 200, OPENAPI, []),
        ("/api-docs", 200, SWAGGER2, []),
        ("/server-status", 200, STATUS, []),
        ("/server-status", 200, STUB, []),
        ("/server-info", 200, INFO, []),
        ("/console", 200, CONSOLE, []),
        # what a healthy service answers on the same paths
        ("/docs", 200, SPA, None),  # an SPA answers every path with its index.html
        ("/openapi.json", 200, '{"detail": "Not Found"}', None),
        ("/server-status", 403, STATUS, None),
        ("/console", 200, SPA, None),
        ("/debug/pprof/", 404, "404 page not found", None),
        ("/actuator", 200, '{"status": "UP"}', None),
    ],
)
def test_judge_path(path: str, status: int, body: str, expected: list[str] | None) -> None:
    assert judge_path(BY_PATH[path], status, body) == expected


def test_every_code_has_a_fix() -> None:
    assert {p.code for p in PROBES} | {paths.DEFAULT_PAGE} == set(paths.REMEDIATION)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>", "nginx welcome page"),
        ("<title>Apache2 Debian Default Page: It works</title>", "Apache default page"),
        ("<html><body><h1>It works!</h1></body></html>\n", "Apache default page"),
        (
            '<title>IIS Windows Server</title></head><body><img src="iisstart.png"',
            "IIS welcome page",
        ),
        ("<title>Caddy works!</title>", "Caddy welcome page"),
        ("<title>It works - shop</title><h1>Welcome to our shop</h1>", None),
        (SPA, None),
    ],
)
def test_default_pages(body: str, expected: str | None) -> None:
    assert judge_root(200, body) == expected
    assert judge_root(404, body) is None
