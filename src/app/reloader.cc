#include "app/reloader.h"

#include <malloc.h>
#include <spdlog/spdlog.h>

#include <future>
#include <stdexcept>
#include <utility>
#include <vector>

#include "limits/quota_window.h"
#include "model/key_id_index.h"
#include "model/validate.h"
#include "core/thread_name.h"

namespace tollgate {
namespace {

std::int64_t ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t)
      .count();
}

}  // namespace

Reloader::Reloader(Store& store, Meter& meter, LimitStates& limits, MetricsRegistry& metrics,
                   CatalogHolder& catalogs, const Clock& clock, const KeyHashing& key_hashing,
                   Options options, LeaseKeeper* leases)
    : store_(store),
      meter_(meter),
      limits_(limits),
      metrics_(metrics),
      catalogs_(catalogs),
      clock_(clock),
      key_hashing_(key_hashing),
      options_(options),
      leases_(leases) {}

Reloader::Snapshot Reloader::read(Store& store) {
  const auto started = std::chrono::steady_clock::now();
  Snapshot s;
  s.version = store.control_version();
  s.state = store.load_serving_state();
  s.read_ms = ms_since(started);
  return s;
}

void Reloader::reload_now() {
  const std::size_t nodes = store_.live_nodes();
  const std::shared_ptr<const Catalog> current = catalogs_.current();
  if (current) {
    const std::uint64_t version = store_.control_version();
    // A store that lost its data (a Redis restarted without persistence)
    // must not empty every node's catalog.
    if (version < loaded_version_)
      throw std::runtime_error(
          "the store's control version went back from " + std::to_string(loaded_version_) + " to " +
          std::to_string(version) +
          " (did it lose its data?); restart this node to serve what it holds now");
    if (version == loaded_version_ && nodes == nodes_) return;
    if (nodes == nodes_ && apply_delta(*current)) return;
  }
  publish(read(store_), nodes);
}

bool Reloader::apply_delta(const Catalog& current) {
  const auto started = std::chrono::steady_clock::now();
  const ControlDelta delta = store_.control_delta(loaded_version_);
  if (!delta.keys_only) return false;
  if (delta.version == loaded_version_) return true;
  // Each membership counts for the customer its key has now.
  const std::vector<UsagePlanKey> memberships = memberships_of(delta.keys);
  std::vector<std::string_view> customers;
  for (const ChangedKey& c : delta.keys)
    if (c.now) customers.insert(customers.end(), c.now->memberships.size(), c.now->customer_id);
  const std::vector<Meter::Member> found =
      meter_.members(memberships, [&customers](std::size_t i) { return customers[i]; });
  const MemberProvider members = [&found](std::size_t i) {
    return MemberRefs{found[i].slot, found[i].pair_id};
  };
  // A counter new to this process has no count of it unflushed: its quota
  // is seeded from the store as it is.
  const PlanUsage none;
  const UsageLoader loader = usage_loader(none);
  publish_catalog(apply_key_changes(current, delta.keys, limits_, loader, members, clock_.now(),
                                    delta.version, options_.max_recent_keys));
  loaded_version_ = delta.version;
  deltas_.fetch_add(1, std::memory_order_relaxed);
  spdlog::debug("catalog version {}: {} key(s) changed, applied in {} ms", delta.version,
                delta.keys.size(), ms_since(started));
  return true;
}

void Reloader::publish(Snapshot snapshot, std::size_t nodes) {
  load(snapshot, nodes);
  snapshot = {};
  // The control state just read is garbage now; for a million keys it is
  // hundreds of megabytes the allocator would otherwise keep.
  malloc_trim(0);
}

void Reloader::publish_catalog(std::shared_ptr<const Catalog> catalog) {
  // The one before last goes here, on this thread, once the workers have
  // moved on (they do at their next request): a worker that let go of a
  // catalog last would free its tables between two requests.
  std::shared_ptr<const Catalog> retiring = std::exchange(retired_, catalogs_.current());
  catalogs_.publish(std::move(catalog));
  retiring.reset();
}

void Reloader::start() {
  thread_ = std::thread([this] {
    name_this_thread("reloader");
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      wake_.wait_for(lock, options_.interval, [this] { return stopping_ || woken_; });
      if (stopping_) break;
      wake_.wait_until(lock, last_check_ + options_.spacing, [this] { return stopping_; });
      if (stopping_) break;
      woken_ = false;
      last_check_ = std::chrono::steady_clock::now();
      lock.unlock();
      try {
        reload_now();
        outage_.succeeded();
      } catch (const std::exception& e) {
        outage_.failed(e);
      }
      lock.lock();
    }
  });
}

void Reloader::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Reloader::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wake_.notify_all();
}

void Reloader::render(std::string& out) const {
  out +=
      "# HELP tollgate_catalog_loads_total Catalogs published: by applying what changed, or by "
      "rebuilding.\n"
      "# TYPE tollgate_catalog_loads_total counter\n";
  out += "tollgate_catalog_loads_total{kind=\"delta\"} " + std::to_string(deltas_.load()) + "\n";
  out +=
      "tollgate_catalog_loads_total{kind=\"rebuild\"} " + std::to_string(rebuilds_.load()) + "\n";
  const std::shared_ptr<const Catalog> catalog = catalogs_.current();
  out +=
      "# HELP tollgate_catalog_recent_keys Keys changed since the catalog's table of all keys was "
      "made.\n"
      "# TYPE tollgate_catalog_recent_keys gauge\n";
  out += "tollgate_catalog_recent_keys " +
         std::to_string(catalog ? catalog->recent_key_count() : 0) + "\n";
}

UsageLoader Reloader::usage_loader(const PlanUsage& bulk) {
  // Quota used = requests served + UpdateUsage adjustments in the window.
  return [this, &bulk](const std::string& plan, const std::string& key, QuotaPeriod period,
                       std::int64_t first, std::int64_t last) {
    if (auto p = bulk.find(plan);
        p != bulk.end() && p->second.first_day == first && p->second.last_day == last) {
      auto k = p->second.used.find(key);
      return k == p->second.used.end() ? std::int64_t{0} : k->second;
    }
    return quota_used_between(store_, plan, key, period, first, last);
  };
}

void Reloader::load(const Snapshot& snapshot, std::size_t nodes) {
  const auto started = std::chrono::steady_clock::now();
  const std::uint64_t version = snapshot.version;
  const ControlState& state = snapshot.state;
  // The rules are checked on the other core while this one builds: with a
  // million keys each takes a good part of a second. Both only read state.
  std::future<void> checked =
      std::async(std::launch::async, [&state] { validate_control_state(state); });
  // New quota counters are seeded from the store: flush first so that it
  // holds every request counted so far.
  meter_.flush();
  const PlanUsage bulk = catalogs_.current() ? PlanUsage{} : quota_used_by_plan(state);
  const UsageLoader loader = usage_loader(bulk);
  // The meter and the limit states number pairs alike (one KeyPlanIds).
  // Each membership counts for the customer its key has in this state.
  const std::vector<MemberKey> member_keys = tollgate::member_keys(state);
  const std::vector<Meter::Member> found = meter_.members(
      state.usage_plan_keys, [&member_keys](std::size_t i) { return member_keys[i].customer_id; });
  const auto prepared_ms = ms_since(started);
  const MemberProvider members = [&found](std::size_t i) {
    return MemberRefs{found[i].slot, found[i].pair_id};
  };
  publish_catalog(build_catalog(state, limits_, loader, members,
                                CatalogBuild{.now = clock_.now(),
                                             .version = version,
                                             .metrics = &metrics_,
                                             .key_hasher = key_hashing_.hasher_for(state),
                                             .throttle_share = 1.0 / static_cast<double>(nodes),
                                             .quota_leased = leases_ != nullptr,
                                             .member_keys = &member_keys}));
  if (leases_) requote_changed_plans(state);
  loaded_version_ = version;
  rebuilds_.fetch_add(1, std::memory_order_relaxed);
  // Logged once the catalog with the new share serves (at a start too, on
  // a node joining others).
  if (nodes != nodes_)
    spdlog::info("{} node(s) serve from the store: each enforces 1/{} of every throttle", nodes,
                 nodes);
  nodes_ = nodes;
  try {
    checked.get();
  } catch (const std::exception& e) {
    spdlog::warn("control state version {} breaks a rule ({}); serving it anyway", version,
                 e.what());
  }
  spdlog::info(
      "catalog version {} read in {} ms, built in {} ms (usage read and slots assigned by {} ms): "
      "{} apis, {} api keys",
      version, snapshot.read_ms, ms_since(started), prepared_ms, state.apis.size(),
      state.api_keys.size());
}

// Leases taken under a plan's old quota are not served from once the
// catalog with its new quota is.
void Reloader::requote_changed_plans(const ControlState& state) {
  for (const UsagePlan& plan : state.usage_plans) {
    auto [it, added] = quotas_.try_emplace(plan.id, plan.quota);
    if (added || it->second == plan.quota) continue;
    it->second = plan.quota;
    leases_->requote(plan.id);
  }
}

Reloader::PlanUsage Reloader::quota_used_by_plan(const ControlState& state) {
  PlanUsage out;
  const std::int64_t now_s = clock_.now() / kNanosPerSecond;
  for (const auto& plan : state.usage_plans) {
    if (!plan.quota) continue;
    const QuotaWindow w = quota_window(plan.quota->period, now_s);
    out[plan.id] = {w.first_day, w.last_day,
                    store_.quota_used_by_key(plan.id, plan.quota->period, w.first_day, w.last_day)};
  }
  return out;
}

}  // namespace tollgate
