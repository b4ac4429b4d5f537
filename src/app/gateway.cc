#include "app/gateway.h"

#include <spdlog/spdlog.h>

#include <malloc.h>
#include <sys/resource.h>

#include <cstdio>
#include <future>
#include <thread>
#include <utility>

#include "admin/admin_credentials.h"
#include "core/thread_name.h"
#include "http/data_plane.h"
#include "limits/quota_window.h"

namespace tollgate {
namespace {

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
  const std::uint64_t wanted =
      2 * std::uint64_t{limits.max_connections} * static_cast<std::uint64_t>(workers) + 256;
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < wanted)
    spdlog::warn("open file limit is {}; {} workers at {} connections each may need {}",
                 limit.rlim_cur, workers, limits.max_connections, wanted);
}

// The counter file's directory, claimed for the store first: a file that
// counted for another store is moved aside, not counted into this one.
std::filesystem::path claimed_counters(const std::filesystem::path& data_dir, Store& store) {
  const std::filesystem::path dir = data_dir / "counters";
  if (const std::optional<std::int64_t> owner = store.identity()) {
    if (const std::optional<std::filesystem::path> moved = claim_counters(dir, *owner))
      spdlog::warn("the counter file counted for another store; its counts were moved to {}",
                   moved->string());
  }
  return dir;
}

// A fixed threshold: blocks of 1 MiB and more (a large catalog's tables,
// the control state read to build it) are mapped on their own and go back
// to the system when freed. glibc would otherwise raise the threshold
// after the first such free and keep the next ones in its heaps, resident.
// Set before any part allocates.
const ServeOptions& with_fixed_mmap_threshold(const ServeOptions& options) {
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  // A file that reaches its size limit is a failed write for the store and
  // the meter to handle, as on a full disk, not a reason to die.
  std::signal(SIGXFSZ, SIG_IGN);
  return options;
}

}  // namespace

struct Gateway::Worker {
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

struct Gateway::UsagePageReads {
  explicit UsagePageReads(std::unique_ptr<Store> s) : store(std::move(s)) {
    thread = std::thread([this] {
      name_this_thread("usage-page");
      io.run();
    });
  }
  ~UsagePageReads() {
    work.reset();
    io.stop();
    thread.join();
  }

  std::unique_ptr<Store> store;
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  std::thread thread;
};

Gateway::Gateway(ServeOptions options)
    : options_(with_fixed_mmap_threshold(options)),
      data_listen_(parse_listen_address(options_.listen)),
      admin_listen_(parse_listen_address(options_.admin_listen)),
      address_(StoreAddress::parse(options_.store, options_.data_dir)),
      // database_path() makes the data directory, where the name is kept.
      node_(node_name(database_path(options_.data_dir).parent_path())),
      store_(open_store(address_, node_, &redis_metrics_)),
      key_hashing_(options_.data_dir),
      limits_(&key_plan_ids_),
      counters_(claimed_counters(options_.data_dir, *store_)),
      reload_store_(open_store(address_, node_, &redis_metrics_)) {
  if (options_.hash_keys) {
    if (const std::size_t hashed = hash_stored_keys(*store_, key_hashing_))
      spdlog::info(
          "{} API key values replaced by their digests; keys are stored hashed from now on",
          hashed);
  }
  // The meter reads its slots on a thread of its own while this one reads
  // the control state through the reloader's connection: with a million
  // keys each takes half a second. The control state, hundreds of
  // megabytes read and soon dropped, is read here: what a thread that
  // ends allocates stays resident in its arena after it is freed.
  std::future<void> meter_read = std::async(std::launch::async, [this] {
    meter_.emplace(*store_, counters_, clock_,
                   Meter::Options{options_.flush_interval, options_.usage_retention_days, node_},
                   &key_plan_ids_);
  });
  Reloader::Snapshot first_read = Reloader::read(*reload_store_);
  meter_read.get();
  // Whatever a previous run counted but did not flush (a crash) goes to the
  // store before the first catalog seeds quotas from it.
  meter_->flush();
  meter_->start();
  if (address_.on_redis) {
    lease_store_ = open_store(address_, node_, &redis_metrics_);
    LeaseKeeper::Options lease_options;
    lease_options.lease = options_.quota_lease;
    lease_options.fail_closed = options_.fail_closed;
    leases_ = std::make_unique<LeaseKeeper>(
        address_.redis, node_,
        [store = lease_store_.get()](const std::string& plan, const std::string& key,
                                     QuotaPeriod period, std::int64_t first, std::int64_t last) {
          return quota_used_between(*store, plan, key, period, first, last);
        },
        clock_, lease_options, &redis_metrics_);
    leases_->start();
  }
  reloader_.emplace(*reload_store_, *meter_, limits_, metrics_, catalogs_, clock_, key_hashing_,
                    Reloader::Options{options_.reload_interval}, leases_.get());
  // With its share of the throttles already: a node joining others would
  // otherwise build its first catalog twice.
  reloader_->publish(std::move(first_read), reload_store_->live_nodes());
  // Other nodes' changes are loaded when they are published, not at the next poll.
  if (address_.on_redis)
    change_listener_ =
        std::make_unique<RedisChangeListener>(address_.redis, [this] { reloader_->wake(); });

  if (options_.access_log != "off")
    access_log_ = std::make_unique<AccessLog>(options_.access_log.empty()
                                                  ? (options_.data_dir / "access.log").string()
                                                  : options_.access_log);
  // Read before anything listens: a bad certificate stops the start.
  if (options_.tls.enabled()) data_tls_ = std::make_unique<ServerTls>(options_.tls);
  if (options_.admin_tls.enabled()) admin_tls_ = std::make_unique<ServerTls>(options_.admin_tls);
  if (!options_.usage_page.path.empty()) {
    usage_page_reads_ =
        std::make_unique<UsagePageReads>(open_store(address_, node_, &redis_metrics_));
    usage_page_ = std::make_unique<UsagePage>(options_.usage_page, *usage_page_reads_->store,
                                              usage_page_reads_->io.get_executor(), clock_);
  }
  data_endpoint_ = data_listen_;
  open_workers();
  admin_acceptor_.emplace(admin_io_, admin_listen_);
  open_admin();
}

Gateway::~Gateway() {
  stop();
  shut_down();
}

void Gateway::open_workers() {
  const int count = options_.workers > 0
                        ? options_.workers
                        : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  raise_descriptor_limit(count, options_.client_limits);
  for (int i = 0; i < count; ++i) {
    auto w = std::make_unique<Worker>();
    // Port 0 picks a free port once; the other workers join it.
    w->acceptor = std::make_unique<Acceptor>(bind_reuseport(w->io, data_endpoint_));
    data_endpoint_ = w->acceptor->local_endpoint();
    w->plane = std::make_unique<DataPlane>(
        w->io.get_executor(), w->deadlines, catalogs_, clock_, stats_, metrics_, access_log_.get(),
        static_cast<unsigned>(i), options_.upstream_limits, leases_.get(), usage_page_.get());
    workers_.push_back(std::move(w));
  }
}

void Gateway::open_admin() {
  AdminApi::Gauges gauges{metrics_,
                          [this] {
                            std::size_t idle = 0;
                            for (const auto& w : workers_)
                              idle += w->plane->upstreams().idle_count();
                            return idle;
                          },
                          [this] {
                            std::size_t open = 0;
                            for (const auto& w : workers_) open += w->plane->open_connections();
                            return open;
                          },
                          [this](std::string& out) {
                            if (address_.on_redis) redis_metrics_.render(out);
                            if (leases_) leases_->render(out);
                            reloader_->render(out);
                          },
                          [this](std::string& out) {
                            SendBatch::Counts total;
                            for (const auto& w : workers_) total.add(w->plane->sends().counts());
                            SendBatch::render(total, out);
                          }};
  AdminContext context{*store_, *meter_, limits_, clock_, &key_hashing_};
  context.leases = leases_.get();
  context.changed = [this] { reloader_->wake(); };
  admin_.emplace(std::move(context), load_admin_credentials(options_.data_dir), catalogs_, stats_,
                 std::move(gauges), admin_tls_ != nullptr);
  admin_handler_ = [this](HttpRequest& r, const asio::ip::address& peer) {
    return admin_->handle(r, peer);
  };
}

void Gateway::start() {
  asio::co_spawn(admin_io_,
                 accept_loop(*admin_acceptor_, admin_handler_, admin_limits_, admin_tls_.get()),
                 asio::detached);
  handle_signals();
  on_reload_signal();
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    Worker& w = *workers_[i];
    auto serve_one = [plane = w.plane.get(), &limits = options_.client_limits,
                      tls = data_tls_.get()](Socket socket) {
      return plane->serve_connection(std::move(socket), limits, tls ? tls->current() : nullptr);
    };
    asio::co_spawn(w.io, accept_each(*w.acceptor, serve_one), asio::detached);
    asio::co_spawn(w.io, w.deadlines.run(), asio::detached);
    if (access_log_)
      asio::co_spawn(w.io, flush_access_log_every(*w.plane, std::chrono::milliseconds(200)),
                     asio::detached);
    w.thread = std::thread([io = &w.io, name = "worker-" + std::to_string(i)] {
      name_this_thread(name.c_str());
      io->run();
    });
  }
  reloader_->start();

  const tcp::endpoint admin = admin_acceptor_->local_endpoint();
  std::printf("tollgate: data plane on %s://%s:%u (%zu workers), admin on %s://%s:%u, data in %s\n",
              data_tls_ ? "https" : "http", data_endpoint_.address().to_string().c_str(),
              data_endpoint_.port(), workers_.size(), admin_tls_ ? "https" : "http",
              admin.address().to_string().c_str(), admin.port(), options_.data_dir.c_str());
  std::fflush(stdout);
}

void Gateway::run() {
  admin_io_.run();
  shut_down();
  spdlog::info("stopped; usage flushed");
}

void Gateway::shut_down() {
  if (shut_down_) return;
  shut_down_ = true;
  for (auto& w : workers_)
    if (w->thread.joinable()) w->thread.join();
  for (auto& w : workers_) w->plane->flush_access_log();
  // Before the workers go: a request waiting for its usage page read is a
  // coroutine the read's queue holds, and it unlinks from its worker's
  // deadlines when that queue is destroyed.
  usage_page_reads_.reset();
  // Every lease goes back to Redis for the other nodes; after the workers,
  // whose requests may still be waiting for one, and before their
  // io_contexts go, which the answers to those requests are posted to.
  if (leases_) leases_->stop();
  if (reloader_) reloader_->stop();
  if (meter_) meter_->stop();
}

void Gateway::drain() {
  asio::post(admin_io_, [this] {
    beast::error_code ignored;
    admin_acceptor_->close(ignored);
    for (auto& w : workers_) {
      asio::post(w->io, [worker = w.get()] {
        beast::error_code ignored;
        worker->acceptor->close(ignored);
        worker->plane->drain();
      });
    }
    stop_when_drained(std::chrono::steady_clock::now() + options_.drain_timeout);
  });
}

void Gateway::stop() {
  for (auto& w : workers_) w->io.stop();
  admin_io_.stop();
}

// Stops the workers and the admin thread once every worker has answered its
// last request, or at `deadline`.
void Gateway::stop_when_drained(std::chrono::steady_clock::time_point deadline) {
  std::uint64_t open = 0;
  for (const auto& w : workers_) open += w->plane->open_connections();
  if (open == 0 || std::chrono::steady_clock::now() >= deadline) {
    if (open != 0) spdlog::warn("drain deadline passed with {} connections open; stopping", open);
    stop();
    return;
  }
  drain_timer_.expires_after(std::chrono::milliseconds(20));
  drain_timer_.async_wait([this, deadline](const beast::error_code& ec) {
    if (!ec) stop_when_drained(deadline);
  });
}

void Gateway::handle_signals() {
  stop_signals_.async_wait([this](const beast::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("signal {}: draining connections for up to {} ms", signal,
                 options_.drain_timeout.count());
    drain();
    stop_signals_.async_wait([this](const beast::error_code& again, int) {
      if (again) return;
      spdlog::info("second signal: stopping now");
      stop();
    });
  });
}

void Gateway::on_reload_signal() {
  reload_signal_.async_wait([this](const beast::error_code& ec, int) {
    if (ec) return;
    spdlog::info(
        "SIGHUP: reopening the access log, reading admin credentials and TLS files, checking the "
        "store");
    if (access_log_) access_log_->reopen();
    try {
      admin_->set_credentials(load_admin_credentials(options_.data_dir));
    } catch (const std::exception& e) {
      spdlog::error("admin credentials not reloaded, keeping the previous ones: {}", e.what());
    }
    for (const auto& [tls, listener] :
         {std::pair{data_tls_.get(), "data"}, std::pair{admin_tls_.get(), "admin"}}) {
      try {
        if (tls) tls->reload();
      } catch (const std::exception& e) {
        spdlog::error("{} listener keeps its previous certificate: {}", listener, e.what());
      }
    }
    reloader_->wake();
    on_reload_signal();
  });
}

int serve(const ServeOptions& options) {
  Gateway gateway(options);
  gateway.start();
  gateway.run();
  return 0;
}

}  // namespace tollgate
