#!/usr/bin/env bash
# Configures and builds tollgate into a build directory.
#   scripts/build.sh [BUILD_DIR] [extra cmake args...]
#   TARGETS="tollgate" scripts/build.sh build    only those targets (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${1:-build}"
shift || true
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" "$@" >/dev/null
# shellcheck disable=SC2086 # a list of target names
ninja -C "$build_dir" -j"${JOBS:-2}" ${TARGETS:-}
