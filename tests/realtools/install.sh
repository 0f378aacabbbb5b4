#!/usr/bin/env bash
# The real migration and backup tools tests/realtools runs: Debian packages (as root, when missing), npm
# packages (into tests/realtools/node), PyPI ones come with '.[test]'. Idempotent and quick when
# everything is present; `make test` runs it.
set -euo pipefail
cd "$(dirname "$0")"
need=()
command -v sqitch >/dev/null 2>&1 || need+=(sqitch libdbd-pg-perl libdbd-sqlite3-perl libdbd-mysql-perl)
command -v java >/dev/null 2>&1 || need+=(default-jre-headless)
command -v restic >/dev/null 2>&1 || need+=(restic)
command -v pgbackrest >/dev/null 2>&1 || need+=(pgbackrest)
command -v psql >/dev/null 2>&1 || need+=(postgresql-client)
command -v mysql >/dev/null 2>&1 || need+=(mariadb-client)
ruby -e 'require "active_record"; require "sqlite3"; require "pg"; require "mysql2"' >/dev/null 2>&1 \
  || need+=(ruby ruby-activerecord ruby-sqlite3 ruby-pg ruby-mysql2)
command -v node >/dev/null 2>&1 || need+=(nodejs npm)
. ../install-lib.sh
APT_OPTIONAL=1 apt_need "tests/realtools (their tests skip)" ${need[@]+"${need[@]}"}
npm_once node npm rebuild better-sqlite3 --foreground-scripts --loglevel=error
