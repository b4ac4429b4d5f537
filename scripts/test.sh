#!/usr/bin/env bash
# Installs what is missing, checks the sources' format, builds, and runs every
# test: the unit tests and the integration tests (real `tollgate serve`
# processes and a real backend on loopback), first in a normal build, then
# again under ASan + UBSan; then each fuzz target for FUZZ_SECONDS (default 60).
#   scripts/test.sh            both builds and the fuzz targets
#   scripts/test.sh --quick    the normal build only
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
echo "== format"
scripts/format.sh --check

run_suite() {
  local dir="$1"
  shift
  echo "== build $dir"
  scripts/build.sh "$dir" "$@"
  echo "== test $dir"
  ctest --test-dir "$dir" --output-on-failure --timeout 600 -j2
}

run_suite build
if [ "${1:-}" != "--quick" ]; then
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    run_suite build-asan -DTOLLGATE_SANITIZE=ON -DTOLLGATE_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug
  scripts/fuzz.sh "${FUZZ_SECONDS:-60}"
fi
echo "== all tests passed"
