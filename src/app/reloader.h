#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include "catalog/catalog_holder.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "core/outage_log.h"
#include "limits/limit_states.h"
#include "metering/meter.h"
#include "store/key_hashing.h"
#include "store/lease_keeper.h"
#include "store/store.h"

namespace tollgate {

// Keeps the data plane's catalog at the store's control version, off the
// request path. A change to keys and memberships is read from the store's
// change log and applied as a delta to a catalog that shares everything
// else; a change to APIs, stages, plans or the account, a node too far
// behind to tell, or a change in how many nodes share the store rebuilds
// the catalog from the whole control state. Polls every interval, so that
// writes from other processes (`tollgate apply`) are seen, and checks at
// once when woken.
class Reloader {
 public:
  struct Options {
    std::chrono::milliseconds interval{250};
    // Checks at least this far apart, however often woken: a burst of
    // changes (sign-ups) is applied as a few deltas rather than one per
    // commit, each of which copies the table of recent keys.
    std::chrono::milliseconds spacing{100};
    // Keys changed since the last whole table before the keys are compacted
    // into one again: a lookup of a recent key costs one more probe.
    std::size_t max_recent_keys = 16384;
  };

  // With `leases`, the nodes sharing the store lease quotas from it.
  Reloader(Store& store, Meter& meter, LimitStates& limits, MetricsRegistry& metrics,
           CatalogHolder& catalogs, const Clock& clock, const KeyHashing& key_hashing,
           Options options, LeaseKeeper* leases);
  ~Reloader() { stop(); }
  Reloader(const Reloader&) = delete;
  Reloader& operator=(const Reloader&) = delete;

  // A whole control state and the version it is at (or after: the version
  // is read first, so a write in between only causes one more load).
  struct Snapshot {
    std::uint64_t version = 0;
    ControlState state;
    std::int64_t read_ms = 0;
  };
  static Snapshot read(Store& store);

  // Builds and publishes the catalog of a snapshot; the first is read
  // ahead, beside the meter's start. `nodes`: how many nodes serve from
  // the store, splitting its throttles.
  void publish(Snapshot snapshot, std::size_t nodes = 1);
  // Brings the catalog to the store's version now, on the calling thread.
  void reload_now();

  void start();
  void stop();
  // Checks the store now rather than at the end of the interval.
  void wake();
  // tollgate_catalog_* lines in Prometheus's text format: catalogs made by
  // delta and by rebuild, and the keys changed since the last whole table.
  void render(std::string& out) const;

 private:
  void load(const Snapshot& snapshot, std::size_t nodes);
  // Applies what changed after the catalog's version; false when only a
  // rebuild can bring it up to date.
  bool apply_delta(const Catalog& current);
  void requote_changed_plans(const ControlState& state);
  void publish_catalog(std::shared_ptr<const Catalog> catalog);

  // The first load seeds every key's quota: one grouped query per plan
  // rather than one per key. Later loads seed only keys new to the process,
  // one at a time under the key's seeding lock (an UpdateUsage may race
  // them; at the first load the admin API is not yet listening).
  struct WindowUsage {
    std::int64_t first_day = 0;
    std::int64_t last_day = 0;
    std::unordered_map<std::string, std::int64_t> used;
  };
  using PlanUsage = std::unordered_map<std::string, WindowUsage>;
  PlanUsage quota_used_by_plan(const ControlState& state);
  UsageLoader usage_loader(const PlanUsage& bulk);

  Store& store_;
  Meter& meter_;
  LimitStates& limits_;
  MetricsRegistry& metrics_;
  CatalogHolder& catalogs_;
  const Clock& clock_;
  const KeyHashing& key_hashing_;
  Options options_;
  LeaseKeeper* leases_;
  std::unordered_map<std::string, std::optional<Quota>> quotas_;  // by plan, as last loaded
  std::shared_ptr<const Catalog> retired_;  // the catalog before the current one
  std::uint64_t loaded_version_ = 0;
  std::size_t nodes_ = 1;  // serving from the store, this one included
  std::atomic<std::uint64_t> deltas_{0};
  std::atomic<std::uint64_t> rebuilds_{0};
  OutageLog outage_{"catalog reload (serving the previous catalog meanwhile)"};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool woken_ = false;
  std::chrono::steady_clock::time_point last_check_{};
  std::thread thread_;
};

}  // namespace tollgate
