#!/usr/bin/env bash
# Macro benchmark: wrk against an nginx backend directly, then through
# `tollgate serve` proxying to it (one API key, limits far above the load), and
# the ratio of the two. Prints a table and writes it as JSON to
# bench/results/proxy_bench-<timestamp>.json.
#
#   bench/proxy_bench.sh [--smoke]
#
# Environment: WORKERS (tollgate workers, default 1), CONNECTIONS (default 64),
# DURATION (default 10s), THREADS (wrk threads, default 2), TOLLGATE_BIN (the
# binary, default build/tollgate), ACCESS_LOG (on or off, default on),
# KEY_REQUIRED (1: key, plan, throttle, quota and metering on, the default;
# 0: the same route without a key, so none of them apply), TLS (1: clients
# reach tollgate over HTTPS with a certificate made for the run; default 0).
# --smoke runs 2 s with no warm-up, to prove the script still works.
#
# wrk, nginx and tollgate share this machine's cores, so the ratio measures
# tollgate's cost under CPU contention, not on a dedicated host.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
# shellcheck source=bench/proxy_job.sh
source bench/proxy_job.sh

smoke=0
for arg in "$@"; do
  case "$arg" in
    --smoke) smoke=1 ;;
    -h | --help)
      sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "proxy_bench: unknown argument '$arg' (try --help)" >&2
      exit 2
      ;;
  esac
done

workers="${WORKERS:-1}"
access_log="${ACCESS_LOG:-on}"
key_required="${KEY_REQUIRED:-1}"
tls="${TLS:-0}"
connections="${CONNECTIONS:-64}"
duration="${DURATION:-10s}"
wrk_threads="${THREADS:-2}"
warmup="2s"
if [ "$smoke" -eq 1 ]; then
  duration="2s"
  warmup=""
fi

api_key="bench-key-0123456789abcdef"
tollgate="${TOLLGATE_BIN:-$root/build/tollgate}"

fail() {
  echo "proxy_bench: FAIL: $*" >&2
  exit 1
}

# --- what the benchmark needs -------------------------------------------------

install_missing() {
  local missing=()
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
  command -v wrk >/dev/null || missing+=(wrk)
  [ "${#missing[@]}" -eq 0 ] && return
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "proxy_bench: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q "${missing[@]}"
  # Debian's package may start a system nginx on port 80 from its default
  # config; ours runs from its own config, so stop that one.
  if [[ " ${missing[*]} " == *" nginx "* ]] && [ -s /run/nginx.pid ] &&
    $sudo kill -0 "$(cat /run/nginx.pid)" 2>/dev/null; then
    $sudo "$(command -v nginx || echo /usr/sbin/nginx)" -s stop || true
  fi
}

install_missing
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
command -v python3 >/dev/null || fail "python3 is needed to find free ports and read JSON"
command -v curl >/dev/null || fail "curl is needed"

if [ ! -x "$tollgate" ]; then
  # The build directory may be shared with other builds: take the same lock.
  lock=()
  if command -v flock >/dev/null; then lock=(flock /tmp/tollgate-build.lock); fi
  "${lock[@]}" cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
  "${lock[@]}" ninja -C build -j2 tollgate
fi

# --- processes, and their cleanup whatever happens -----------------------------

work="$(mktemp -d "${TMPDIR:-/tmp}/tollgate-bench.XXXXXX")"
nginx_pid=""
tollgate_pid=""
ok=0

# TERM, then KILL after 5 s; a killed nginx master would orphan its worker,
# so its children are killed by id too.
stop_process() {
  local pid="$1" children
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  children="$(ps -o pid= --ppid "$pid" 2>/dev/null || true)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    for child in $children; do kill -KILL "$child" 2>/dev/null || true; done
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  stop_process "$tollgate_pid"
  stop_process "$nginx_pid"
  if [ "$ok" -eq 1 ]; then
    rm -rf "$work"
  else
    for log in "$work/tollgate.log" "$work/nginx/error.log"; do
      [ -s "$log" ] && { echo "--- tail of $log" >&2; tail -n 20 "$log" >&2; }
    done
    echo "proxy_bench: logs kept in $work" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Held open together so the three ports differ.
read -r backend_port data_port admin_port < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
for s in socks:
    s.close()
')
[ -n "${admin_port:-}" ] || fail "could not find free ports"

wait_for_http() {
  local url="$1" pid="$2" what="$3"
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || fail "$what exited during startup"
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "$what did not answer $url within 10 s"
}

# --- backend: nginx answering a fixed JSON body --------------------------------

write_backend_conf "$work/nginx" "$backend_port"
"$nginx_bin" -p "$work/nginx/" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" &
nginx_pid=$!
backend="http://127.0.0.1:$backend_port"
wait_for_http "$backend/" "$nginx_pid" "nginx"

# --- tollgate in front of it --------------------------------------------------

write_job_declaration "$work/bench.yaml" "$backend" "$api_key" "$key_required"
"$tollgate" apply -f "$work/bench.yaml" --data-dir "$work/data" >"$work/apply.log" 2>&1 ||
  { cat "$work/apply.log" >&2; fail "tollgate apply"; }

scheme=http
tls_args=()
if [ "$tls" = 1 ]; then
  command -v openssl >/dev/null || fail "openssl is needed for TLS=1"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 \
    -keyout "$work/tls.key" -out "$work/tls.pem" 2>/dev/null || fail "openssl could not make a certificate"
  scheme=https
  tls_args=(--tls-cert "$work/tls.pem" --tls-key "$work/tls.key")
fi
"$tollgate" serve --data-dir "$work/data" --listen "127.0.0.1:$data_port" \
  --admin-listen "127.0.0.1:$admin_port" --workers "$workers" "${tls_args[@]}" \
  $([ "$access_log" = off ] && echo "--access-log off") >"$work/tollgate.log" 2>&1 &
tollgate_pid=$!
admin="http://127.0.0.1:$admin_port"
wait_for_http "$admin/health" "$tollgate_pid" "tollgate"
grep -q "data plane on $scheme://127.0.0.1:$data_port" "$work/tollgate.log" ||
  fail "tollgate did not report its data plane on port $data_port"
via_url="$scheme://127.0.0.1:$data_port/restapis/bench01/prod/_user_request_/pets"

probe="$(curl -sS -k -H "x-api-key: $api_key" -w ' %{http_code}' "$via_url")"
[ "$probe" = '{"ok":true} 200' ] || fail "a request through tollgate answered '$probe'"

# --- load ---------------------------------------------------------------------

cat >"$work/bench.lua" <<LUA
wrk.headers["x-api-key"] = "$api_key"

-- One line the script parses; latencies in microseconds.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d non2xx=%d socket_errors=%d p50_us=%d p99_us=%d p999_us=%d\n",
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
LUA

declare -A R # "<target>.<field>": wrk's RESULT fields and what is derived from them

# Runs wrk against $2 for $3; records the result under target $1 unless it is
# empty (a warm-up).
run_wrk() {
  local target="$1" url="$2" length="$3" out line field
  out="$(wrk -t "$wrk_threads" -c "$connections" -d "$length" --latency -s "$work/bench.lua" "$url")" ||
    fail "wrk against $url"
  line="$(grep '^RESULT ' <<<"$out")" || fail "wrk printed no RESULT line for $url"
  [ -n "$target" ] || return 0
  for field in ${line#RESULT }; do R["$target.${field%%=*}"]="${field#*=}"; done
  R["$target.url"]="$url"
}

# "requests" in stub_status: the third number on its third line.
backend_requests() { curl -fsS "$backend/__nginx_status" | awk 'NR == 3 { print $3 }'; }
allowed_count() {
  curl -fsS "$admin/health" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["outcomes"]["allowed"])'
}

echo "proxy_bench: wrk -t $wrk_threads -c $connections -d $duration" \
  "(warm-up ${warmup:-none}); tollgate workers $workers; $(nproc) cores" >&2
if [ -n "$warmup" ]; then run_wrk "" "$backend/pets" "$warmup"; fi
run_wrk direct "$backend/pets" "$duration"

if [ -n "$warmup" ]; then run_wrk "" "$via_url" "$warmup"; fi
backend_before="$(backend_requests)"
allowed_before="$(allowed_count)"
run_wrk tollgate "$via_url" "$duration"
backend_after="$(backend_requests)"
allowed_after="$(allowed_count)"
# The status request that read backend_after counted itself.
backend_reached=$((backend_after - backend_before - 1))
allowed=$((allowed_after - allowed_before))

# --- report -------------------------------------------------------------------

for t in direct tollgate; do
  R[$t.rps]="$(awk -v n="${R[$t.requests]}" -v us="${R[$t.duration_us]}" \
    'BEGIN { printf "%.0f", (us > 0 ? n / (us / 1e6) : 0) }')"
  for p in p50 p99 p999; do
    R[$t.${p}_ms]="$(awk -v us="${R[$t.${p}_us]}" 'BEGIN { printf "%.3f", us / 1000 }')"
  done
done
ratio="$(awk -v a="${R[tollgate.rps]}" -v b="${R[direct.rps]}" \
  'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')"

echo
row() { printf '%-9s %12s %10s %10s %10s %9s %9s\n' "$@"; }
row target "requests/s" "p50 ms" "p99 ms" "p99.9 ms" "non-2xx" "sock err"
for t in direct tollgate; do
  row "$t" "${R[$t.rps]}" "${R[$t.p50_ms]}" "${R[$t.p99_ms]}" "${R[$t.p999_ms]}" \
    "${R[$t.non2xx]}" "${R[$t.socket_errors]}"
done
echo "ratio tollgate/direct: $ratio   (during the tollgate run: backend reached $backend_reached" \
  "times, tollgate counted $allowed allowed, wrk completed ${R[tollgate.requests]})"

problems=()
via_requests="${R[tollgate.requests]}"
[ "$via_requests" -gt 0 ] || problems+=("no request completed through tollgate")
[ "${R[tollgate.non2xx]}" -eq 0 ] ||
  problems+=("tollgate answered ${R[tollgate.non2xx]} non-2xx/3xx responses")
[ "${R[tollgate.socket_errors]}" -eq 0 ] ||
  problems+=("${R[tollgate.socket_errors]} socket errors through tollgate")
[ "${R[direct.non2xx]}" -eq 0 ] ||
  problems+=("the backend answered ${R[direct.non2xx]} non-2xx/3xx responses")
[ "$backend_reached" -ge "$via_requests" ] ||
  problems+=("backend saw $backend_reached requests but wrk completed $via_requests through tollgate")
[ "$allowed" -ge "$via_requests" ] ||
  problems+=("tollgate counted $allowed allowed but wrk completed $via_requests")

target_json() {
  local t="$1"
  printf '{"url": "%s", "requests": %s, "duration_us": %s, "requests_per_sec": %s, ' \
    "${R[$t.url]}" "${R[$t.requests]}" "${R[$t.duration_us]}" "${R[$t.rps]}"
  printf '"p50_ms": %s, "p99_ms": %s, "p999_ms": %s, "non_2xx": %s, "socket_errors": %s}' \
    "${R[$t.p50_ms]}" "${R[$t.p99_ms]}" "${R[$t.p999_ms]}" "${R[$t.non2xx]}" "${R[$t.socket_errors]}"
}
problems_json="$(printf '%s\n' "${problems[@]+"${problems[@]}"}" |
  python3 -c 'import json, sys; print(json.dumps([l for l in sys.stdin.read().splitlines() if l]))')"
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
git diff --quiet HEAD 2>/dev/null || commit+="-dirty"

mkdir -p bench/results
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
result_file="bench/results/proxy_bench-$stamp.json"
cat >"$result_file" <<JSON
{
  "timestamp": "$stamp",
  "commit": "$commit",
  "cores": $(nproc),
  "smoke": $([ "$smoke" -eq 1 ] && echo true || echo false),
  "tollgate_workers": $workers,
  "access_log": "$access_log",
  "key_required": $key_required,
  "tls": $([ "$tls" = 1 ] && echo true || echo false),
  "wrk": {"threads": $wrk_threads, "connections": $connections, "duration": "$duration", "warmup": "${warmup:-none}"},
  "direct": $(target_json direct),
  "tollgate": $(target_json tollgate),
  "ratio_tollgate_to_direct": $ratio,
  "backend_requests_during_tollgate_run": $backend_reached,
  "tollgate_allowed_during_run": $allowed,
  "problems": $problems_json
}
JSON
echo "results: $result_file"

if [ "${#problems[@]}" -gt 0 ]; then
  for p in "${problems[@]}"; do echo "proxy_bench: FAIL: $p" >&2; done
  exit 1
fi
ok=1
