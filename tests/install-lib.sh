# Shared by tests/realtools/install.sh, tests/realapps/install.sh and benchmarks/ensure-tools.sh
# (sourced, not run): install missing Debian packages as root, or name them; npm once per change.

# apt_need WHO PACKAGE...: install the packages (as root) or say WHO needs them. Not root:
# returns 1, or 0 with APT_OPTIONAL=1 (the tests that need them skip). An apt-get failure
# stops the calling script (set -e): call it as a plain command, not after `||` or `if`.
apt_need() {
  local who=$1
  shift
  [ $# -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "$who needs: $* (apt-get install them as root)" >&2
    [ "${APT_OPTIONAL:-0}" = 1 ]
    return
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# npm_once DIR [COMMAND...]: `npm install` in DIR (then COMMAND there) when its package.json
# changed since the last install; nothing when npm is absent (the tests that need it skip).
npm_once() {
  local dir=$1
  shift
  command -v npm >/dev/null 2>&1 || return 0
  local stamp=$dir/node_modules/.installed
  if [ ! -f "$stamp" ] || [ "$dir/package.json" -nt "$stamp" ]; then
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error && { [ $# -eq 0 ] || "$@"; })
    touch "$stamp"
  fi
}
