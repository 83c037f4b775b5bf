#!/usr/bin/env bash
# Runs Xeno on this machine: starts PostgreSQL and Redis if needed, builds the dashboard and
# the service, and serves.
# Without Shopify credentials it runs `xeno demo`: a simulated shop connected through the
# real OAuth flow, backfilled, and kept busy with live webhooks.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_services
build_web
cargo build --release --bin xeno
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
if [[ $# -gt 0 ]]; then
  exec target/release/xeno "$@"
elif [[ -z "${SHOPIFY_API_KEY:-}" ]]; then
  # The demo prints its URL and login; per-request logs would bury them (RUST_LOG overrides).
  RUST_LOG="${RUST_LOG:-warn}" exec target/release/xeno demo
else
  exec target/release/xeno all
fi
