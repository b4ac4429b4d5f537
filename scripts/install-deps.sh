#!/usr/bin/env bash
# Installs, from Debian's archive, every package tollgate needs to build, test
# and run. Installs only what is missing; safe to run again.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libsqlite3-dev libssl-dev libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev libbenchmark-dev
  # A worker's sends of one turn in one system call (src/http/send_batch.h).
  liburing-dev
  # Several nodes on one Redis: the client library, and the server the tests start.
  libhiredis-dev redis-server
  python3 curl awscli
  # An AWS SDK that keeps its connection, for bench/control_plane.py (whose
  # smoke run is a test).
  python3-boto3
  # Moves the UTC day under a running gateway in the billing tests
  # (tests/integration/test_billing.py).
  faketime
  # Certificates for the TLS tests.
  openssl
  # The benchmarks' contenders and load generator (bench/side_by_side.py,
  # whose smoke run is a test).
  nginx haproxy wrk
  # Instructions per proxied request (bench/instructions.sh), CPU time per
  # request (bench/cpu_share.sh) and profiles.
  valgrind linux-perf
  # The fuzz targets (scripts/fuzz.sh): clang with libFuzzer; the format
  # check (scripts/format.sh).
  clang libclang-rt-14-dev clang-format
  # The console's pages are built with Node (web/build.mjs), and tested in
  # headless Chromium (tests/web/pages_e2e.mjs).
  nodejs chromium
)
if [ "$#" -gt 0 ]; then packages+=("$@"); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Debian's nodejs comes without npm; a nodejs that bundles it (NodeSource's)
# conflicts with Debian's npm package.
if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

echo "installing: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
# nginx and haproxy would start system services from their default configs
# (nginx on port 80); the benchmarks run their own. Debian's policy-rc.d
# hook keeps the packages from starting anything while they install.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod 755 "$policy"
  own_policy=1
fi
status=0
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}" || status=$?
if [ "$own_policy" -eq 1 ]; then $sudo rm -f "$policy"; fi
exit "$status"
