#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

#include <csignal>
#include <memory>
#include <optional>
#include <vector>

#include "admin/admin_api.h"
#include "app/reloader.h"
#include "catalog/catalog_holder.h"
#include "core/clock.h"
#include "core/key_plan_ids.h"
#include "core/metrics.h"
#include "core/stats.h"
#include "http/access_log.h"
#include "http/client_limits.h"
#include "http/listener.h"
#include "http/tls_context.h"
#include "http/upstream_pool.h"
#include "http/usage_page.h"
#include "limits/limit_states.h"
#include "metering/counter_file.h"
#include "metering/meter.h"
#include "store/key_hashing.h"
#include "store/lease_keeper.h"
#include "store/redis_change_listener.h"
#include "store/redis_client.h"
#include "store/store.h"
#include "store/store_address.h"

namespace tollgate {

struct ServeOptions {
  std::filesystem::path data_dir = "tollgate-data";
  // Where control state and usage live, as StoreAddress reads it: "" or
  // "sqlite" for DATA_DIR's SQLite file, a redis:// URL for a Redis shared
  // by several nodes.
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

// The gateway of one process: its parts, as members in the order each
// depends on those before it, and their life. The constructor opens them
// (nothing serves yet, but the listeners are bound); start() starts their
// threads; run() serves on the calling thread until the gateway is stopped,
// then stops the parts in reverse.
//
// SIGTERM (or SIGINT) drains: the listeners close, idle connections close,
// and each request in flight is answered (with Connection: close) before the
// process stops, for up to drain_timeout; a second signal stops at once.
// SIGHUP reopens the access log, reads the admin credentials and the TLS
// files again and checks the store for a new catalog, without touching a
// connection.
class Gateway {
 public:
  explicit Gateway(ServeOptions options);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  void start();
  void run();
  // Both may be called from any thread.
  void drain();
  void stop();

 private:
  struct Worker;
  void open_workers();
  void open_admin();
  void on_reload_signal();
  void stop_when_drained(std::chrono::steady_clock::time_point deadline);
  void handle_signals();
  // Stops the parts in the reverse of their start, once: after run(), or
  // from the destructor when the start failed half-way.
  void shut_down();

  const ServeOptions options_;
  // Read first: a bad address stops the start before anything is opened.
  const tcp::endpoint data_listen_;
  const tcp::endpoint admin_listen_;
  RedisMetrics redis_metrics_;
  const StoreAddress address_;
  const std::string node_;
  // The store's connection for the management API and the meter's flushes;
  // the reloader and the lease keeper have their own.
  const std::unique_ptr<Store> store_;
  const KeyHashing key_hashing_;
  SystemClock clock_;
  Stats stats_;
  KeyPlanIds key_plan_ids_;  // numbers each key under each plan once, for the limits and the meter
  LimitStates limits_;
  CatalogHolder catalogs_;
  CounterFile counters_;
  std::optional<Meter> meter_;
  MetricsRegistry metrics_;
  const std::unique_ptr<Store> reload_store_;
  // On Redis every node serves keys' quotas from leases taken there.
  std::unique_ptr<Store> lease_store_;
  std::unique_ptr<LeaseKeeper> leases_;
  std::optional<Reloader> reloader_;
  std::unique_ptr<RedisChangeListener> change_listener_;
  std::unique_ptr<AccessLog> access_log_;
  std::unique_ptr<ServerTls> data_tls_;
  std::unique_ptr<ServerTls> admin_tls_;
  // The admin thread's: the management API and the signals.
  asio::io_context admin_io_{1};
  // The customer usage page, whose store reads have a connection and a
  // thread of their own.
  struct UsagePageReads;
  std::unique_ptr<UsagePageReads> usage_page_reads_;
  std::unique_ptr<UsagePage> usage_page_;
  std::vector<std::unique_ptr<Worker>> workers_;
  tcp::endpoint data_endpoint_;  // as bound
  std::optional<tcp::acceptor> admin_acceptor_;
  std::optional<AdminApi> admin_;
  RequestHandler admin_handler_;
  const ConnectionLimits admin_limits_;
  asio::signal_set stop_signals_{admin_io_, SIGINT, SIGTERM};
  asio::signal_set reload_signal_{admin_io_, SIGHUP};
  asio::steady_timer drain_timer_{admin_io_};
  bool shut_down_ = false;
};

// Serves until SIGINT or SIGTERM (see Gateway); returns the exit code.
int serve(const ServeOptions& options);

}  // namespace tollgate
