#!/usr/bin/env bash
# Migration, differentially: Apache ZooKeeper 3.8 -> corral import -> corral export -> ZooKeeper,
# comparing full dumps at each step (see migrate_check.py). Uses what compat-tests/run.sh
# installs (the zookeeper package, the venv with kazoo): run it after that.
#
#   CORRAL_BIN=target/release/corral compat-tests/migrate/run.sh [--save-fixture DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
py=$here/../.venv/bin/python
if [[ ! -x $py ]]; then
  echo "migrate: $py is missing: run compat-tests/run.sh first (it installs ZooKeeper and kazoo)" >&2
  exit 2
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/corral-migrate.XXXXXX")
trap 'rm -rf "$work"' EXIT
timeout --foreground -k 10 600 \
  "$py" "$here/migrate_check.py" --corral-bin "${CORRAL_BIN:?set CORRAL_BIN to the corral binary}" \
  --work "$work" "$@"
