#!/usr/bin/env bash
# Builds the libFuzzer targets in tests/fuzz with clang (ASan + UBSan) and runs
# each for a bounded time, starting from its seed inputs in
# tests/fuzz/corpus/<target>/ (which it does not change).
#   scripts/fuzz.sh [SECONDS]     default 60 per target
#   FUZZ_TARGETS="http_message" scripts/fuzz.sh 30
# A crash stops the run with the input that caused it saved under
# build-fuzz/artifacts/; copy it into the target's corpus once fixed, so every
# later run replays it.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
targets="${FUZZ_TARGETS:-http_message whole_message admin_api key_import yaml_apply openapi_import export_cursor access_log_events change_log_entry serving_bucket}"

scripts/install-deps.sh
CC=clang CXX=clang++ scripts/build.sh build-fuzz -DTOLLGATE_FUZZ=ON -DTOLLGATE_WERROR=OFF \
  -DTOLLGATE_BENCH=OFF -DBUILD_TESTING=OFF

work="$(mktemp -d -t tollgate-fuzz-XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir -p build-fuzz/artifacts
for target in $targets; do
  mkdir -p "$work/$target"
  cp tests/fuzz/corpus/"$target"/* "$work/$target/"
  echo "== fuzz $target for ${seconds}s"
  # -rss_limit_mb bounds memory; a leak or a runaway allocation is a finding too.
  if ! build-fuzz/tests/fuzz/fuzz_"$target" -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="build-fuzz/artifacts/$target-" "$work/$target" > "$work/$target.log" 2>&1; then
    tail -60 "$work/$target.log"
    echo "fuzz: $target found a crash; the input is in build-fuzz/artifacts/" >&2
    exit 1
  fi
  grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb|^Done' "$work/$target.log" || true
done
echo "== fuzzing found nothing"
