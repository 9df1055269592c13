#!/usr/bin/env bash
# Compatibility tests: stock ZooKeeper clients against Apache ZooKeeper 3.8 (the reference)
# and corral. Installs what it needs on a fresh Debian 12 machine; safe to re-run.
#
#   compat-tests/run.sh [--targets zookeeper,corral] [--scenarios kazoo,zkcli,curator,cclient] [-- pytest args]
#
# Environment:
#   CORRAL_BIN        corral binary; when set and executable, corral is a default target
#   COMPAT_TARGETS    same as --targets (default: zookeeper, plus corral if CORRAL_BIN)
#   COMPAT_SCENARIOS  same as --scenarios (default: every <dir>/scenario here)
#   COMPAT_RESULTS    where logs/junit/outcomes go (default: compat-tests/.cache/results)
#   COMPAT_STRICT_BASELINE=1  fail when Apache ZooKeeper differs from the recorded baseline
#   COMPAT_KEEP=1     keep the servers' temp directories (configs, data, logs)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

# zookeeper: the reference server and zkCli; libservlet-api-java: its AdminServer's servlet
# API (zookeeper.jar's manifest leaves it out); the curator, slf4j and JDK packages: the curator
# scenario (compiled with javac); libzookeeper-mt-dev, gcc, libc6-dev: the cclient scenario.
APT_PACKAGES=(zookeeper zookeeper-bin libservlet-api-java python3 python3-venv
  libcurator-client-java libcurator-framework-java libcurator-recipes-java libslf4j-java
  openjdk-17-jdk-headless libzookeeper-mt-dev gcc libc6-dev)
venv=$here/.venv
py=$venv/bin/python
targets=${COMPAT_TARGETS:-}
scenarios=${COMPAT_SCENARIOS:-}
results=${COMPAT_RESULTS:-$here/.cache/results}

while (($#)); do
  case $1 in
    --targets) targets=$2; shift 2 ;;
    --scenarios) scenarios=$2; shift 2 ;;
    --) shift; break ;;
    -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

step() { printf '\n==> %s\n' "$*"; }

ensure_apt_packages() {
  local missing=() p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  step "installing ${missing[*]}"
  local sudo=()
  ((EUID == 0)) || sudo=(sudo)
  "${sudo[@]}" apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
}

# The venv is rebuilt whenever the requirement files change (their hash is stamped in it).
ensure_venv() {
  local want
  want=$(cat "$here"/requirements.txt "$here"/requirements-nodeps.txt | sha256sum | cut -d' ' -f1)
  [[ -x $py && "$(cat "$venv/.requirements.sha256" 2>/dev/null)" == "$want" ]] && return 0
  step "creating $venv"
  rm -rf "$venv"
  /usr/bin/python3 -m venv "$venv"
  "$py" -m pip install --disable-pip-version-check -q -r "$here/requirements.txt"
  "$py" -m pip install --disable-pip-version-check -q --no-deps -r "$here/requirements-nodeps.txt"
  echo "$want" >"$venv/.requirements.sha256"
}

pick_targets() {
  if [[ -z $targets ]]; then
    if [[ -n ${CORRAL_BIN:-} && -x ${CORRAL_BIN:-} && ! -d ${CORRAL_BIN:-} ]]; then
      targets=zookeeper,corral,zookeeper-ensemble,corral-ensemble
    else
      targets=zookeeper
      local why="CORRAL_BIN is not set"
      [[ -n ${CORRAL_BIN:-} ]] && why="CORRAL_BIN=$CORRAL_BIN is not an executable file"
      echo "corral: SKIPPED ($why); testing Apache ZooKeeper only"
    fi
  fi
  if [[ ,$targets, =~ ,corral(-ensemble)?, && ! -x ${CORRAL_BIN:-} ]]; then
    echo "run.sh: target corral needs CORRAL_BIN to be an executable" >&2
    exit 2
  fi
  if [[ -z $scenarios ]]; then
    scenarios=$(cd "$here" && for s in */scenario; do printf '%s,' "${s%/scenario}"; done)
  fi
}

work=
scenario_pid=
cleanup() {
  local d i
  if [[ -n $scenario_pid ]] && kill -TERM -- "-$scenario_pid" 2>/dev/null; then
    for ((i = 0; i < 100; i++)); do kill -0 "$scenario_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  [[ -n $work && -d $work ]] || return 0
  for d in "$work"/*/; do
    [[ -f $d/server.json ]] && "$py" "$here/lib/zkserver.py" stop --dir "$d" || true
  done
  if [[ ${COMPAT_KEEP:-0} == 1 ]]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ensure_apt_packages
ensure_venv
pick_targets
work=$(mktemp -d "${TMPDIR:-/tmp}/corral-compat.XXXXXX")

status=0
summary=()
for target in ${targets//,/ }; do
  for scenario in ${scenarios//,/ }; do
    sdir=$work/$target-$scenario
    out=$results/$target/$scenario
    rm -rf "$out" && mkdir -p "$out"
    step "$scenario against $target"
    started=$SECONDS
    # zookeeper-ensemble / corral-ensemble: three servers, all in the connect string.
    base=${target%-ensemble} members=1
    [[ $target == *-ensemble ]] && members=3
    if ! hosts=$("$py" "$here/lib/zkserver.py" start --target "$base" --dir "$sdir" --members "$members"); then
      cp "$sdir/server.log" "$out/" 2>/dev/null || true
      summary+=("FAIL  $target  $scenario  (server did not start; see $out/server.log)")
      status=1
      continue
    fi
    echo "$target serving on $hosts"
    # Behaviour that differs between ZooKeeper versions, decided once from the server's version.
    exists_checks_read=$("$py" "$here/lib/zkserver.py" exists-checks-read "${hosts%%,*}")
    # In its own process group (setsid), so the exit trap can stop it and its children at once;
    # in the background, so a TERM to run.sh is handled while the scenario runs.
    rc=0
    COMPAT_TARGET=$target COMPAT_HOSTS=$hosts COMPAT_SERVER_DIR=$sdir COMPAT_RESULTS=$out \
      COMPAT_PYTHON=$py COMPAT_REFERENCE=$([[ $base == zookeeper ]] && echo 1 || echo 0) \
      COMPAT_ENSEMBLE=$((members > 1 ? 1 : 0)) \
      COMPAT_EXISTS_CHECKS_READ=$exists_checks_read \
      setsid "$here/$scenario/scenario" "$@" &
    scenario_pid=$!
    wait "$scenario_pid" || rc=$?
    scenario_pid=
    "$py" "$here/lib/zkserver.py" stop --dir "$sdir"
    cp "$sdir/server.log" "$out/" 2>/dev/null || true
    # An ensemble's members keep their logs in m1/, m2/, ...: keep each, to explain a failure.
    for member in "$sdir"/m*/; do
      if [[ -f $member/server.log ]]; then
        cp "$member/server.log" "$out/server-$(basename "$member").log"
      fi
    done
    if ((rc == 0)); then
      summary+=("PASS  $target  $scenario  ($((SECONDS - started))s)")
    else
      summary+=("FAIL  $target  $scenario  ($((SECONDS - started))s; see $out)")
      status=1
    fi
  done
done

step "summary"
printf '%s\n' "${summary[@]}"
[[ ,$targets, =~ ,corral(-ensemble)?, ]] || echo "corral: SKIPPED (not a target in this run)"
passed=$(printf '%s\n' "${summary[@]}" | grep -c '^PASS' || true)
failed=$(printf '%s\n' "${summary[@]}" | grep -c '^FAIL' || true)
echo "compat: $passed passed, $failed failed"
exit $status
