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
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "tests/realapps needs: ${need[*]} (apt-get install them as root); their tests skip" >&2
  else
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
fi
if command -v npm >/dev/null 2>&1; then
  stamp=node/node_modules/.installed
  if [ ! -f "$stamp" ] || [ node/package.json -nt "$stamp" ]; then
    (cd node && npm install --no-audit --no-fund --loglevel=error)
    touch "$stamp"
  fi
fi
