#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

#include "http/client_limits.h"
#include "http/tls_context.h"
#include "http/upstream_pool.h"
#include "http/usage_page.h"
#include "store/redis_client.h"
#include "store/store.h"

namespace tollgate {

struct ServeOptions {
  std::filesystem::path data_dir = "tollgate-data";
  // Where control state and usage live: "" or "sqlite" for DATA_DIR's SQLite
  // file, redis://HOST:PORT[/DB] for a Redis shared by several nodes.
  std::string store;
  std::string listen = "127.0.0.1:8080";
  std::string admin_listen = "127.0.0.1:9180";
  int workers = 0;  // 0: one per core
  std::chrono::milliseconds reload_interval{250};
  std::chrono::milliseconds flush_interval{1000};
  std::int64_t usage_retention_days = 90;
  std::string access_log = "";  // a path, "-" for stdout, "off"; empty: DATA_DIR/access.log
  ClientLimits client_limits;
  UpstreamPool::Limits upstream_limits;
  // TLS on the data listener and on the admin listener, when given.
  TlsFiles tls;
  TlsFiles admin_tls;
  // Store key values hashed from now on (HMAC-SHA256 under DATA_DIR/key-secret);
  // a store already hashed stays so either way.
  bool hash_keys = false;
  // On Redis: how long a node's quota leases last unless renewed (a killed
  // node's come back after this), and whether keyed requests are refused
  // rather than served from the leases held while Redis is unreachable.
  std::chrono::milliseconds quota_lease{5000};
  bool fail_closed = false;
  // The customer usage page on the data listener (an empty path: none).
  UsagePage::Options usage_page;
  // How long SIGTERM waits for requests in flight before stopping anyway.
  std::chrono::milliseconds drain_timeout{30'000};
};

// Wires the parts together and serves until SIGINT or SIGTERM: the store, the
// catalog reloader, the meter, one io_context per worker on the data port,
// and the admin listener. Returns the process exit code.
//
// SIGTERM (or SIGINT) drains: the listeners close, idle connections close,
// and each request in flight is answered (with Connection: close) before the
// process stops, for up to drain_timeout; a second signal stops at once.
// SIGHUP reopens the access log, reads the admin credentials and the TLS
// files again and checks the store for a new catalog, without touching a
// connection.
int serve(const ServeOptions& options);

// The SQLite file under a data directory, created owner-only if missing.
std::filesystem::path database_path(const std::filesystem::path& data_dir);

// This node's name among those sharing a Redis: made once, kept in
// DATA_DIR/node-id, since the node's usage counter file is in DATA_DIR too.
std::string node_name(const std::filesystem::path& data_dir);

// The store `store` names (see ServeOptions::store), for a node whose data
// directory is `data_dir`; a Redis store counts its traffic in
// `redis_metrics`, when given.
std::unique_ptr<Store> open_store(const std::string& store, const std::filesystem::path& data_dir,
                                  RedisMetrics* redis_metrics = nullptr);

}  // namespace tollgate
