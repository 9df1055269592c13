#!/usr/bin/env bash
# Runs every test of the project: formatting, lints, the Rust test suites, and the compatibility
# tests with stock clients against corral and Apache ZooKeeper. Installs what it needs
# (idempotently) on a fresh Debian machine.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --all-targets -- -D warnings

step "cargo test (workspace)"
cargo test --workspace

step "cargo build --release (the binary the compatibility tests run)"
cargo build --release

step "the README's first command, as written, in a fresh clone"
scripts/check-readme-start.sh

step "compatibility tests: stock clients against Apache ZooKeeper 3.8 and corral"
CORRAL_BIN="$PWD/target/release/corral" compat-tests/run.sh

step "fault tests: checkers fed wrong histories; every workload under the nemesis (seed 1207), both targets"
CORRAL_BIN="$PWD/target/release/corral" \
  compat-tests/.venv/bin/python -m pytest -q -p no:cacheprovider compat-tests/faults

step "fault tests: two more short seeded runs on corral, 3 and 5 members"
rm -rf compat-tests/.cache/campaign-ci
CORRAL_BIN="$PWD/target/release/corral" compat-tests/.venv/bin/python \
  compat-tests/faults/campaign.py --runs 2 --seconds 15 --first-seed 2001 \
  --out compat-tests/.cache/campaign-ci

step "migration: Apache ZooKeeper 3.8 -> corral import -> corral export -> ZooKeeper"
CORRAL_BIN="$PWD/target/release/corral" compat-tests/migrate/run.sh

step "the docker-compose ensemble with Prometheus (images built here, no registry)"
scripts/test-compose.sh
