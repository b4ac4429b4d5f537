# Sourced by bench/proxy_bench.sh and bench/instructions.sh: the job both
# measure, written into a work directory.

# write_backend_conf DIR PORT: an nginx config under DIR (DIR/nginx.conf,
# temp and log paths inside DIR) answering every path on 127.0.0.1:PORT with
# {"ok":true}, keep-alive, and counting requests at /__nginx_status.
write_backend_conf() {
  local dir="$1" port="$2"
  mkdir -p "$dir/tmp"
  cat >"$dir/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$port;
    location / { default_type application/json; return 200 '{"ok":true}'; }
    # Counts requests nginx handled: proof that tollgate reached the backend.
    location = /__nginx_status { stub_status; }
  }
}
CONF
}

# write_job_declaration FILE BACKEND_URL API_KEY KEY_REQUIRED: the tollgate
# declaration of the job: GET /pets on API bench01, stage prod, proxied to
# BACKEND_URL/pets; with KEY_REQUIRED=1 it needs API_KEY, whose usage plan
# has a throttle and a quota far above any load (metering is always on).
write_job_declaration() {
  local file="$1" backend="$2" key="$3" key_required="$4"
  cat >"$file" <<YAML
account:
  throttle: {rateLimit: 1000000000, burstLimit: 1000000000}
apis:
  - id: bench01
    name: bench
    resources:
      /pets:
        GET:
          apiKeyRequired: $([ "$key_required" = 1 ] && echo true || echo false)
          integration: {type: HTTP_PROXY, uri: "$backend/pets"}
    stages:
      - stageName: prod
apiKeys:
  - name: bench
    value: $key
usagePlans:
  - name: bench
    throttle: {rateLimit: 1000000000, burstLimit: 1000000000}
    quota: {limit: 1000000000000, period: MONTH}
    apiStages: [{apiId: bench01, stage: prod}]
    apiKeys: [bench]
YAML
}
