#!/usr/bin/env bash
# The real web servers and frameworks tests/realapps runs: Debian packages (as root, when
# missing) and npm packages (into tests/realapps/node); Flask, Django, FastAPI, uvicorn and
# gunicorn come with '.[test]'. Idempotent and quick when everything is present; `make test`
# runs it.
set -euo pipefail
cd "$(dirname "$0")"
need=()
[ -x /usr/sbin/nginx ] || need+=(nginx)
[ -x /usr/sbin/apache2 ] || need+=(apache2)
command -v caddy >/dev/null 2>&1 || need+=(caddy)
command -v go >/dev/null 2>&1 || need+=(golang-go)
command -v node >/dev/null 2>&1 || need+=(nodejs npm)
. ../install-lib.sh
APT_OPTIONAL=1 apt_need "tests/realapps (their tests skip)" ${need[@]+"${need[@]}"}
npm_once node
