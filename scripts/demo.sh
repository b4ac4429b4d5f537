#!/usr/bin/env bash
# Installs what is missing, builds tollgate, starts a sample backend, loads
# examples/petstore.yaml into an embedded SQLite store under .demo/ and serves
# it until Ctrl-C.
#   PORT (default 8080) and ADMIN_PORT (default 9180) choose the listeners.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
# The server alone: the tests and benchmarks are built by scripts/test.sh.
TARGETS=tollgate scripts/build.sh build >/dev/null

port="${PORT:-8080}"
admin_port="${ADMIN_PORT:-9180}"
demo_dir=".demo"
mkdir -p "$demo_dir"

python3 tests/integration/echo_backend.py --port 0 --port-file "$demo_dir/backend.port" \
  >"$demo_dir/backend.log" 2>&1 &
backend_pid=$!
trap 'kill "$backend_pid" 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s "$demo_dir/backend.port" ] && break; sleep 0.1; done
backend="127.0.0.1:$(cat "$demo_dir/backend.port")"

sed "s/BACKEND/$backend/g" examples/petstore.yaml >"$demo_dir/petstore.yaml"
build/tollgate apply -f "$demo_dir/petstore.yaml" --data-dir "$demo_dir/data"

base="http://127.0.0.1:$port/restapis/petstore01/prod/_user_request_"
cat <<TXT

Sample backend on http://$backend; tollgate on http://127.0.0.1:$port (admin on 127.0.0.1:$admin_port).
Invoke URL: $base
Demo key:   demo-key-0123456789abcdef   (plan "basic": 2 req/s, burst 5, 20 requests a day)

  curl -i $base/pets -H 'x-api-key: demo-key-0123456789abcdef'     # 200, proxied
  curl -i $base/pets                                                # 403 Forbidden: no key
  curl -i $base/health                                              # 200 from a MOCK, no key needed
  for i in \$(seq 8); do curl -s -o /dev/null -w '%{http_code} ' $base/pets -H 'x-api-key: demo-key-0123456789abcdef'; done; echo   # 429 past the burst
  curl -i -H 'Host: petstore01.execute-api.localhost' http://127.0.0.1:$port/prod/pets/7 -H 'x-api-key: trial-key-0123456789abcdef'

Ctrl-C stops it.
TXT
build/tollgate serve --data-dir "$demo_dir/data" --listen "127.0.0.1:$port" \
  --admin-listen "127.0.0.1:$admin_port"
