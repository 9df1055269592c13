#!/usr/bin/env bash
# The README's first command, run as written in a fresh clone of this repository's HEAD:
# `cargo run --release` must start a standalone server on 127.0.0.1:2181 (and on no other
# address) with its data in ./data. Registry crates are shared with this checkout's release
# build through CARGO_TARGET_DIR, so only corral itself is compiled again.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
server=
cleanup() {
  [[ -n $server ]] && kill -TERM -- "-$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

srvr() { # host: the srvr answer from host:2181, or nothing
  python3 - "$1" <<'EOF'
import socket, sys
try:
    with socket.create_connection((sys.argv[1], 2181), timeout=2) as s:
        s.sendall(b"srvr")
        out = b""
        while chunk := s.recv(4096):
            out += chunk
        print(out.decode(errors="replace"))
except OSError:
    pass
EOF
}

if [[ -n $(srvr 127.0.0.1) ]]; then
  echo "check-readme-start: something already serves 127.0.0.1:2181; stop it first" >&2
  exit 1
fi
git clone -q "$repo" "$work/corral"
cd "$work/corral"
# setsid: the server runs in its own process group, so cargo and corral stop together.
CARGO_TARGET_DIR="$repo/target" setsid cargo run --release >"$work/log" 2>&1 &
server=$!
for _ in $(seq 1200); do
  grep -q "corral serving" "$work/log" && break
  kill -0 "$server" 2>/dev/null || { cat "$work/log"; echo "cargo run --release exited" >&2; exit 1; }
  sleep 0.5
done
answer=$(srvr 127.0.0.1)
grep -q "Mode: standalone" <<<"$answer" || { cat "$work/log"; echo "no srvr answer on 127.0.0.1:2181" >&2; exit 1; }
[[ -d data/corral ]] || { echo "no ./data/corral in the clone" >&2; exit 1; }
[[ -z $(srvr 127.0.0.2) ]] || { echo "corral with no config answered on 127.0.0.2" >&2; exit 1; }
# Its AdminServer: on 127.0.0.1:8080 unless something else holds that port (then it says so).
if grep -q "AdminServer serving" "$work/log"; then
  ruok=$(python3 -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:8080/commands/ruok", timeout=5).read().decode())')
  grep -q '"command" : "ruok"' <<<"$ruok" || { echo "no AdminServer answer on 127.0.0.1:8080: $ruok" >&2; exit 1; }
else
  grep -q "AdminServer not started" "$work/log" || { cat "$work/log"; echo "no word of the AdminServer" >&2; exit 1; }
fi
echo "check-readme-start: cargo run --release serves 127.0.0.1:2181 only, data in ./data"
