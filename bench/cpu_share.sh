#!/usr/bin/env bash
# CPU time per proxied request of tollgate, wrk and the backend, counted by
# perf, for comparing builds on a host whose speed moves from one
# minute to the next: all three processes move with it, so a build's figure
# is tollgate's time per request divided by the backend's, which does the
# same work in every run.
#
#   bench/cpu_share.sh [--workers W] [--keys K] [--runs N] [BINARY ...]
#                                          default: 2 workers, 10 keys, 3 runs,
#                                          build/tollgate
#
# Each run is `bench/side_by_side.py --contenders tollgate` with the binary
# as TOLLGATE_BIN; 7 s in, `perf stat -e task-clock` counts the three
# processes' time on a CPU for 5 s, and tollgate's /metrics the requests
# served meanwhile. The binaries alternate, run after run. Prints a line
# per run and the median ratio per binary.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

workers=2 keys=10 runs=3
binaries=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help)
      sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    --workers) workers="${2:?--workers needs a count}"; shift 2 ;;
    --keys) keys="${2:?--keys needs a count}"; shift 2 ;;
    --runs) runs="${2:?--runs needs a count}"; shift 2 ;;
    -*) echo "cpu_share: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) binaries+=("$(realpath "$1")"); shift ;;
  esac
done
for count in "$workers" "$keys" "$runs"; do
  [[ "$count" =~ ^[1-9][0-9]*$ ]] || { echo "cpu_share: '$count' is not a positive count (see --help)" >&2; exit 2; }
done
[ "${#binaries[@]}" -gt 0 ] || binaries=("$root/build/tollgate")
for b in "${binaries[@]}"; do
  [ -x "$b" ] || { echo "cpu_share: $b is not an executable" >&2; exit 2; }
done

fail() {
  echo "cpu_share: FAIL: $*" >&2
  exit 1
}

missing=()
command -v perf >/dev/null || missing+=(linux-perf)
command -v curl >/dev/null || missing+=(curl)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "cpu_share: installing ${missing[*]}"
  scripts/install-deps.sh "${missing[@]}" >/dev/null
fi

# Starts counting the on-CPU time of a process's threads for 5 s into
# `file`; the counter's pid is added to `counters`.
count_task_clock() {
  perf stat -x, -e task-clock -p "$1" -o "$2" -- sleep 5 >/dev/null 2>&1 &
  counters+=($!)
}

# The milliseconds perf counted into `file`.
task_clock_ms() {
  awk -F, '/task-clock/ {print $1}' "$1"
}

requests_served() {
  curl -sf "http://$1/metrics" | awk '/^tollgate_requests_total/ {s += $NF} END {printf "%.0f\n", s}'
}

# One run of `binary`: prints "tollgate wrk backend" µs per request and req/s.
measure() {
  local binary="$1" log pid admin wrk backend
  log="$(mktemp)"
  TOLLGATE_BIN="$binary" python3 bench/side_by_side.py --workers "$workers" --keys "$keys" \
    --contenders tollgate --rounds 1 --duration 14 >"$log" 2>&1 &
  local runner=$!
  sleep 7
  pid="$(pgrep -f "^$binary serve" | head -1 || true)"
  wrk="$(pgrep -x wrk | head -1 || true)"
  backend="$(pgrep -f 'nginx: worker' | head -1 || true)"
  [ -n "$pid" ] && [ -n "$wrk" ] && [ -n "$backend" ] || { wait "$runner" || true; cat "$log" >&2; fail "no run to measure"; }
  admin="$(tr '\0' ' ' </proc/"$pid"/cmdline | grep -o 'admin-listen [^ ]*' | cut -d' ' -f2)"
  local n0 n1 counts counters=()
  counts="$(mktemp -d)"
  n0="$(requests_served "$admin")"
  count_task_clock "$pid" "$counts/tollgate"
  count_task_clock "$wrk" "$counts/wrk"
  count_task_clock "$backend" "$counts/backend"
  wait "${counters[@]}"
  n1="$(requests_served "$admin")"
  wait "$runner" || { cat "$log" >&2; fail "bench/side_by_side.py failed"; }
  awk -v n=$((n1 - n0)) -v t="$(task_clock_ms "$counts/tollgate")" -v w="$(task_clock_ms "$counts/wrk")" \
    -v b="$(task_clock_ms "$counts/backend")" \
    'BEGIN { if (n <= 0) exit 1; printf "%.2f %.2f %.2f %.0f\n", t * 1000 / n, w * 1000 / n, b * 1000 / n, n / 5 }' ||
    fail "no requests counted"
  rm -rf "$log" "$counts"
}

declare -A ratios
for ((run = 1; run <= runs; run++)); do
  for binary in "${binaries[@]}"; do
    read -r t w b rate < <(measure "$binary")
    ratio="$(awk -v t="$t" -v b="$b" 'BEGIN { printf "%.3f", t / b }')"
    ratios[$binary]+="$ratio "
    printf '%s run %d: %s req/s; µs per request: tollgate %s, wrk %s, backend %s; tollgate / backend %s\n' \
      "$binary" "$run" "$rate" "$t" "$w" "$b" "$ratio"
  done
done
for binary in "${binaries[@]}"; do
  # shellcheck disable=SC2086
  median="$(printf '%s\n' ${ratios[$binary]} | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}')"
  printf '%s: tollgate / backend, median of %d: %s\n' "$binary" "$runs" "$median"
done
