#!/usr/bin/env bash
# Instructions tollgate executes in user space per proxied request, counted
# by callgrind: a figure that does not move with the machine's load, for
# comparing builds where requests/s on a shared VM differ by 10-20 % from one
# run to the next. The kernel's share (about 70 % of the CPU per request) is
# not counted: use bench/side_by_side.py for the whole cost.
#
#   bench/instructions.sh [BINARY ...]     default: build/tollgate
#   ACCESS_LOG=on bench/instructions.sh    each request's access log line counted too
#
# Each binary serves the proxy benchmark's job (one key in a usage plan with
# throttle, quota and metering, one worker, access log off) in front of an
# nginx backend, under callgrind. wrk warms it up for 3 s, the counters are
# zeroed, wrk runs 10 s (1 thread, 16 connections), and the instructions
# counted then are divided by the requests wrk completed. Prints a line per
# binary; ~40 s each.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
# shellcheck source=bench/proxy_job.sh
source bench/proxy_job.sh

if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
binaries=("$@")
[ "${#binaries[@]}" -gt 0 ] || binaries=("$root/build/tollgate")

fail() {
  echo "instructions: FAIL: $*" >&2
  exit 1
}

missing=()
command -v valgrind >/dev/null || missing+=(valgrind)
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "instructions: installing ${missing[*]}"
  scripts/install-deps.sh "${missing[@]}" >/dev/null
fi
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"

work="$(mktemp -d "${TMPDIR:-/tmp}/tollgate-instructions.XXXXXX")"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

read -r backend_port data_port admin_port < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')

write_backend_conf "$work/nginx" "$backend_port"
"$nginx_bin" -p "$work/nginx/" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" &
pids+=($!)

api_key="bench-key-0123456789abcdef"
write_job_declaration "$work/bench.yaml" "http://127.0.0.1:$backend_port" "$api_key" 1
cat >"$work/bench.lua" <<LUA
wrk.headers["x-api-key"] = "$api_key"
LUA
url="http://127.0.0.1:$data_port/restapis/bench01/prod/_user_request_/pets"

for binary in "${binaries[@]}"; do
  [ -x "$binary" ] || fail "$binary is not an executable"
  run="$work/run-$(date +%s%N)"
  mkdir -p "$run"
  "$binary" apply -f "$work/bench.yaml" --data-dir "$run/data" >"$run/apply.log" 2>&1 ||
    fail "$binary apply (see $run/apply.log)"
  access_log=off
  [ "${ACCESS_LOG:-off}" = on ] && access_log="$run/access.log"
  valgrind --tool=callgrind --callgrind-out-file="$run/callgrind.%p" "$binary" serve --data-dir "$run/data" \
    --listen "127.0.0.1:$data_port" --admin-listen "127.0.0.1:$admin_port" --workers 1 --access-log "$access_log" \
    >"$run/serve.log" 2>&1 &
  serve_pid=$!
  pids+=("$serve_pid")
  for _ in $(seq 300); do
    curl -fsS -o /dev/null "http://127.0.0.1:$admin_port/health" 2>/dev/null && break
    kill -0 "$serve_pid" 2>/dev/null || fail "$binary exited under valgrind (see $run/serve.log)"
    sleep 0.2
  done
  [ "$(curl -sS -H "x-api-key: $api_key" "$url")" = '{"ok":true}' ] || fail "$binary did not proxy"
  wrk -t1 -c16 -d3s -s "$work/bench.lua" "$url" >/dev/null
  callgrind_control --zero "$serve_pid" >/dev/null 2>&1
  out="$(wrk -t1 -c16 -d10s -s "$work/bench.lua" "$url")"
  callgrind_control --dump "$serve_pid" >/dev/null 2>&1
  requests="$(awk '/requests in/ {print $1}' <<<"$out")"
  grep -q "Non-2xx\|Socket errors" <<<"$out" && fail "wrk reported errors: $out"
  kill -INT "$serve_pid"
  wait "$serve_pid" 2>/dev/null || true
  dump="$(ls "$run"/callgrind.*.1 | head -1)"
  instructions="$(awk '/^(summary|totals):/ {print $2; exit}' "$dump")"
  [ -n "$instructions" ] && [ "${requests:-0}" -gt 0 ] || fail "no count for $binary"
  echo "$binary: $((instructions / requests)) instructions per request ($requests requests)"
done
