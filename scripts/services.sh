#!/usr/bin/env bash
# Starts PostgreSQL and Redis when they are not answering. Sourced by run.sh and test.sh.
set -euo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

ensure_services() {
  if ! pg_up; then
    echo "starting PostgreSQL…"
    if command -v pg_ctlcluster >/dev/null; then
      local version
      version=$(ls /etc/postgresql | sort -V | tail -n1)
      pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    fi
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
    pg_up || { echo "PostgreSQL is not reachable on 127.0.0.1:5432; start it and retry" >&2; exit 1; }
  fi
  if ! redis_up; then
    echo "starting Redis…"
    if command -v redis-server >/dev/null; then
      redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
    fi
    for _ in $(seq 1 10); do redis_up && break; sleep 1; done
    redis_up || { echo "Redis is not reachable on 127.0.0.1:6379; start it and retry" >&2; exit 1; }
  fi
}

# Headless Chromium for the dashboard's browser tests, from Debian's packages.
ensure_chromium() {
  if [[ -x "${CHROMIUM:-/usr/bin/chromium}" ]]; then return; fi
  echo "installing Chromium…"
  if [[ $(id -u) -eq 0 ]]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
}

# A command from Debian packages, installed when missing: `ensure_tool promtool prometheus`
# (to check the alert rules), `ensure_tool haproxy haproxy` (the scale-out test's balancer).
ensure_tool() {
  local command="$1"
  shift
  if command -v "$command" >/dev/null || [[ -x "/usr/sbin/$command" ]]; then return; fi
  echo "installing $*…"
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# The dashboard's packages and its static build.
build_web() {
  (cd web && npm ci --no-audit --no-fund --silent && npm run --silent build)
}
