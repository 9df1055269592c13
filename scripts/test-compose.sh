#!/usr/bin/env bash
# The docker-compose ensemble, end to end (docker/compose_check.py): builds the images, brings
# up three corral servers and Prometheus, writes through each with kazoo, checks Prometheus's
# targets and a write counter, stops the leader, checks that nothing acknowledged was lost,
# and removes everything it created. kazoo comes from the compat tests' venv.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null; then
  apt-get install -y --no-install-recommends docker-compose || { apt-get update -q && apt-get install -y --no-install-recommends docker-compose; }
fi
py=compat-tests/.venv/bin/python
[[ -x $py ]] || { echo "test-compose: $py is missing; compat-tests/run.sh creates it" >&2; exit 1; }
exec "$py" docker/compose_check.py
