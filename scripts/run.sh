#!/usr/bin/env bash
# Runs Xeno on this machine: starts PostgreSQL and Redis if needed, builds, and serves.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_services
cargo build --release --bin xeno
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
exec target/release/xeno "${@:-all}"
