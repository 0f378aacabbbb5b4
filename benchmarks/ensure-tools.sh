#!/usr/bin/env bash
# The peers and load generator `make bench` measures against, from Debian (installed when missing;
# apt-get works as root on the project machine, otherwise the missing commands are named).
set -euo pipefail
need=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v prometheus-blackbox-exporter >/dev/null 2>&1 || need+=(prometheus-blackbox-exporter)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v curl >/dev/null 2>&1 || need+=(curl)
. "$(dirname "$0")/../tests/install-lib.sh"
apt_need "make bench" ${need[@]+"${need[@]}"}
