#include "app/gateway.h"

#include <spdlog/spdlog.h>

#include <malloc.h>
#include <sys/resource.h>

#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "admin/admin_api.h"
#include "admin/admin_credentials.h"
#include "app/reloader.h"
#include "catalog/catalog_holder.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/outage_log.h"
#include "core/stats.h"
#include "http/data_plane.h"
#include "http/listener.h"
#include "limits/limit_states.h"
#include "limits/quota_window.h"
#include "metering/meter.h"
#include "model/key_id_index.h"
#include "model/validate.h"
#include "store/key_hashing.h"
#include "store/lease_keeper.h"
#include "store/redis_change_listener.h"
#include "store/redis_store.h"
#include "store/sqlite_store.h"
#include "core/thread_name.h"

namespace tollgate {
namespace {

struct Worker {
  // Sockets must go before the io_context; the coroutines it destroys give
  // their upstream connections back to the plane's pool, closed.
  ~Worker() {
    if (plane) plane->close_idle_upstreams();
  }

  // Declared before the io_context so that they outlive the coroutines it
  // destroys: a connection's deadline entry unlinks from `deadlines`, and a
  // request gives its upstream connection back to the plane's pool.
  Deadlines deadlines;
  std::unique_ptr<DataPlane> plane;  // made once `io` exists
  // One thread runs it and no other thread touches its sockets, so the
  // reactor's per-descriptor locks are off.
  asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  std::unique_ptr<Acceptor> acceptor;
  std::thread thread;
};

// Hands a worker's access-log lines to the writer at least this often.
asio::awaitable<void> flush_access_log_every(DataPlane& plane, std::chrono::milliseconds interval) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(interval);
    beast::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    plane.flush_access_log();
  }
}

// Each connection is a descriptor, and one proxied is two: the soft limit
// (often 1,024) would refuse connections long before the workers' limit.
void raise_descriptor_limit(int workers, const ClientLimits& limits) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  const std::uint64_t wanted = 2 * std::uint64_t{limits.max_connections} * static_cast<std::uint64_t>(workers) + 256;
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < wanted)
    spdlog::warn("open file limit is {}; {} workers at {} connections each may need {}", limit.rlim_cur, workers,
                 limits.max_connections, wanted);
}

// Stops the workers and the admin thread once every worker has answered its
// last request, or at `deadline`.
void stop_when_drained(asio::steady_timer& timer, std::vector<std::unique_ptr<Worker>>& pool,
                       asio::io_context& admin_io, std::chrono::steady_clock::time_point deadline) {
  std::uint64_t open = 0;
  for (const auto& w : pool) open += w->plane->open_connections();
  if (open == 0 || std::chrono::steady_clock::now() >= deadline) {
    if (open != 0) spdlog::warn("drain deadline passed with {} connections open; stopping", open);
    for (auto& w : pool) w->io.stop();
    admin_io.stop();
    return;
  }
  timer.expires_after(std::chrono::milliseconds(20));
  timer.async_wait([&timer, &pool, &admin_io, deadline](const beast::error_code& ec) {
    if (!ec) stop_when_drained(timer, pool, admin_io, deadline);
  });
}

}  // namespace

std::string node_name(const std::filesystem::path& data_dir) {
  const std::filesystem::path file = data_dir / "node-id";
  std::string name;
  std::ifstream(file) >> name;
  if (!name.empty()) return name;
  name = random_id(12);
  std::ofstream out(file);
  out << name << '\n';
  if (!out) throw std::runtime_error("cannot write " + file.string());
  return name;
}

std::unique_ptr<Store> open_store(const std::string& store, const std::filesystem::path& data_dir,
                                  RedisMetrics* redis_metrics) {
  const std::filesystem::path database = database_path(data_dir);
  if (store.empty() || store == "sqlite") return std::make_unique<SqliteStore>(database);
  if (is_redis_url(store))
    return std::make_unique<RedisStore>(RedisAddress::parse(store), node_name(data_dir), redis_metrics);
  throw std::invalid_argument("store '" + store +
                              "' must be sqlite, redis://HOST:PORT[/DB] or redis-sentinel://HOST:PORT[,...]/MASTER[/DB]");
}

std::filesystem::path database_path(const std::filesystem::path& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (!ec)
    std::filesystem::permissions(data_dir, std::filesystem::perms::owner_all, std::filesystem::perm_options::replace,
                                 ec);
  if (ec)
    throw std::runtime_error("data directory " + data_dir.string() + " cannot be made owner-only: " + ec.message() +
                             " (it must be this user's, or creatable by it)");
  return data_dir / "tollgate.db";
}

int serve(const ServeOptions& options) {
  const tcp::endpoint data_endpoint = parse_listen_address(options.listen);
  const tcp::endpoint admin_endpoint = parse_listen_address(options.admin_listen);
  const int workers = options.workers > 0 ? options.workers
                                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  // A file that reaches its size limit is a failed write for the store and
  // the meter to handle, as on a full disk, not a reason to die.
  std::signal(SIGXFSZ, SIG_IGN);

  // A fixed threshold: blocks of 1 MiB and more (a large catalog's tables,
  // the control state read to build it) are mapped on their own and go back
  // to the system when freed. glibc would otherwise raise the threshold
  // after the first such free and keep the next ones in its heaps, resident.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  RedisMetrics redis_metrics;
  const bool on_redis = is_redis_url(options.store);
  const std::unique_ptr<Store> store = open_store(options.store, options.data_dir, &redis_metrics);
  const KeyHashing key_hashing(options.data_dir);
  if (options.hash_keys) {
    if (const std::size_t hashed = hash_stored_keys(*store, key_hashing))
      spdlog::info("{} API key values replaced by their digests; keys are stored hashed from now on", hashed);
  }
  SystemClock clock;
  Stats stats;
  KeyPlanIds key_plan_ids;  // numbers each key under each plan once, for the limits and the meter
  LimitStates limits(&key_plan_ids);
  CatalogHolder catalogs;
  const std::filesystem::path counters_dir = options.data_dir / "counters";
  if (const std::optional<std::int64_t> owner = store->identity()) {
    if (const std::optional<std::filesystem::path> moved = claim_counters(counters_dir, *owner))
      spdlog::warn("the counter file counted for another store; its counts were moved to {}", moved->string());
  }
  CounterFile counters(counters_dir);
  // The meter reads its slots on a thread of its own while this one reads
  // the control state through the reloader's connection: with a million
  // keys each takes half a second. The control state, hundreds of
  // megabytes read and soon dropped, is read here: what a thread that
  // ends allocates stays resident in its arena after it is freed.
  std::optional<Meter> meter_slot;
  std::future<void> meter_read = std::async(std::launch::async, [&] {
    meter_slot.emplace(*store, counters, clock,
                       Meter::Options{options.flush_interval, options.usage_retention_days,
                                      node_name(options.data_dir)},
                       &key_plan_ids);
  });
  const std::unique_ptr<Store> reload_store = open_store(options.store, options.data_dir, &redis_metrics);
  Reloader::Snapshot first_read = Reloader::read(*reload_store);
  meter_read.get();
  Meter& meter = *meter_slot;
  // Whatever a previous run counted but did not flush (a crash) goes to the
  // store before the first catalog seeds quotas from it.
  meter.flush();
  meter.start();
  MetricsRegistry metrics;
  // On Redis every node serves keys' quotas from leases taken there.
  std::unique_ptr<Store> lease_store;
  std::unique_ptr<LeaseKeeper> leases;
  if (on_redis) {
    lease_store = open_store(options.store, options.data_dir, &redis_metrics);
    LeaseKeeper::Options lease_options;
    lease_options.lease = options.quota_lease;
    lease_options.fail_closed = options.fail_closed;
    leases = std::make_unique<LeaseKeeper>(
        RedisAddress::parse(options.store), node_name(options.data_dir),
        [&lease_store](const std::string& plan, const std::string& key, QuotaPeriod period, std::int64_t first,
                       std::int64_t last) { return quota_used_between(*lease_store, plan, key, period, first, last); },
        clock, lease_options, &redis_metrics);
    leases->start();
  }
  Reloader reloader(*reload_store, meter, limits, metrics, catalogs, clock, key_hashing,
                    Reloader::Options{options.reload_interval}, leases.get());
  // With its share of the throttles already: a node joining others would
  // otherwise build its first catalog twice.
  reloader.publish(std::move(first_read), reload_store->live_nodes());
  // Other nodes' changes are loaded when they are published, not at the next poll.
  std::unique_ptr<RedisChangeListener> change_listener;
  if (on_redis)
    change_listener =
        std::make_unique<RedisChangeListener>(RedisAddress::parse(options.store), [&reloader] { reloader.wake(); });

  std::unique_ptr<AccessLog> access_log;
  if (options.access_log != "off")
    access_log = std::make_unique<AccessLog>(options.access_log.empty() ? (options.data_dir / "access.log").string()
                                                                       : options.access_log);
  // Read before anything listens: a bad certificate stops the start.
  const std::unique_ptr<ServerTls> data_tls =
      options.tls.enabled() ? std::make_unique<ServerTls>(options.tls) : nullptr;
  const std::unique_ptr<ServerTls> admin_tls =
      options.admin_tls.enabled() ? std::make_unique<ServerTls>(options.admin_tls) : nullptr;
  raise_descriptor_limit(workers, options.client_limits);
  const ConnectionLimits admin_limits;
  // The admin thread also reads the store for the customer usage page.
  asio::io_context admin_io{1};
  std::unique_ptr<UsagePage> usage_page;
  if (!options.usage_page.path.empty())
    usage_page = std::make_unique<UsagePage>(options.usage_page, *store, admin_io.get_executor(), clock);
  std::vector<std::unique_ptr<Worker>> pool;
  tcp::endpoint bound = data_endpoint;
  for (int i = 0; i < workers; ++i) {
    auto w = std::make_unique<Worker>();
    // Port 0 picks a free port once; the other workers join it.
    w->acceptor = std::make_unique<Acceptor>(bind_reuseport(w->io, bound));
    bound = w->acceptor->local_endpoint();
    w->plane = std::make_unique<DataPlane>(w->io.get_executor(), w->deadlines, catalogs, clock, stats, metrics,
                                           access_log.get(), static_cast<unsigned>(i), options.upstream_limits,
                                           leases.get(), usage_page.get());
    pool.push_back(std::move(w));
  }

  tcp::acceptor admin_acceptor(admin_io, admin_endpoint);
  AdminApi::Gauges gauges{metrics,
                          [&pool] {
                            std::size_t idle = 0;
                            for (const auto& w : pool) idle += w->plane->upstreams().idle_count();
                            return idle;
                          },
                          [&pool] {
                            std::size_t open = 0;
                            for (const auto& w : pool) open += w->plane->open_connections();
                            return open;
                          },
                          [&redis_metrics, on_redis, &leases, &reloader](std::string& out) {
                            if (on_redis) redis_metrics.render(out);
                            if (leases) leases->render(out);
                            reloader.render(out);
                          },
                          [&pool](std::string& out) {
                            SendBatch::Counts total;
                            for (const auto& w : pool) total.add(w->plane->sends().counts());
                            SendBatch::render(total, out);
                          }};
  AdminContext admin_context{*store, meter, limits, clock, &key_hashing};
  admin_context.leases = leases.get();
  admin_context.changed = [&reloader] { reloader.wake(); };
  AdminApi admin(std::move(admin_context), load_admin_credentials(options.data_dir), catalogs, stats,
                 std::move(gauges), admin_tls != nullptr);
  const RequestHandler admin_handler = [&admin](HttpRequest& r, const asio::ip::address& peer) {
    return admin.handle(r, peer);
  };
  asio::co_spawn(admin_io, accept_loop(admin_acceptor, admin_handler, admin_limits, admin_tls.get()), asio::detached);

  asio::signal_set stop_signals(admin_io, SIGINT, SIGTERM);
  asio::steady_timer drain_timer(admin_io);
  stop_signals.async_wait([&](const beast::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("signal {}: draining connections for up to {} ms", signal, options.drain_timeout.count());
    admin_acceptor.close();
    for (auto& w : pool) {
      asio::post(w->io, [worker = w.get()] {
        beast::error_code ignored;
        worker->acceptor->close(ignored);
        worker->plane->drain();
      });
    }
    stop_when_drained(drain_timer, pool, admin_io, std::chrono::steady_clock::now() + options.drain_timeout);
    stop_signals.async_wait([&](const beast::error_code& again, int) {
      if (again) return;
      spdlog::info("second signal: stopping now");
      for (auto& w : pool) w->io.stop();
      admin_io.stop();
    });
  });

  asio::signal_set reload_signal(admin_io, SIGHUP);
  std::function<void()> on_reload_signal = [&] {
    reload_signal.async_wait([&](const beast::error_code& ec, int) {
      if (ec) return;
      spdlog::info("SIGHUP: reopening the access log, reading admin credentials and TLS files, checking the store");
      if (access_log) access_log->reopen();
      try {
        admin.set_credentials(load_admin_credentials(options.data_dir));
      } catch (const std::exception& e) {
        spdlog::error("admin credentials not reloaded, keeping the previous ones: {}", e.what());
      }
      for (const auto& [tls, listener] : {std::pair{data_tls.get(), "data"}, std::pair{admin_tls.get(), "admin"}}) {
        try {
          if (tls) tls->reload();
        } catch (const std::exception& e) {
          spdlog::error("{} listener keeps its previous certificate: {}", listener, e.what());
        }
      }
      reloader.wake();
      on_reload_signal();
    });
  };
  on_reload_signal();

  for (auto& w : pool) {
    auto serve_one = [plane = w->plane.get(), &limits = options.client_limits, tls = data_tls.get()](Socket socket) {
      return plane->serve_connection(std::move(socket), limits, tls ? tls->current() : nullptr);
    };
    asio::co_spawn(w->io, accept_each(*w->acceptor, serve_one), asio::detached);
    asio::co_spawn(w->io, w->deadlines.run(), asio::detached);
    if (access_log) asio::co_spawn(w->io, flush_access_log_every(*w->plane, std::chrono::milliseconds(200)), asio::detached);
    w->thread = std::thread([io = &w->io, name = "worker-" + std::to_string(&w - pool.data())] {
      name_this_thread(name.c_str());
      io->run();
    });
  }
  reloader.start();

  std::printf("tollgate: data plane on %s://%s:%u (%d workers), admin on %s://%s:%u, data in %s\n",
              data_tls ? "https" : "http", bound.address().to_string().c_str(), bound.port(), workers,
              admin_tls ? "https" : "http",
              admin_acceptor.local_endpoint().address().to_string().c_str(),
              admin_acceptor.local_endpoint().port(), options.data_dir.c_str());
  std::fflush(stdout);

  admin_io.run();
  for (auto& w : pool) w->thread.join();
  for (auto& w : pool) w->plane->flush_access_log();
  // Every lease goes back to Redis for the other nodes.
  if (leases) leases->stop();
  reloader.stop();
  meter.stop();
  spdlog::info("stopped; usage flushed");
  return 0;
}

}  // namespace tollgate
