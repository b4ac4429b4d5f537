#pragma once

// An immutable, indexed snapshot of the control state, built off the request
// path and published whole (catalog_holder.h). Readers never lock; the limit
// state it points at lives in LimitStates and outlives every snapshot.

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "catalog/key_table.h"
#include "catalog/limit_ref.h"
#include "catalog/route_tree.h"
#include "core/clock.h"
#include "core/key_hasher.h"
#include "core/metrics.h"
#include "limits/limit_states.h"
#include "limits/token_bucket.h"
#include "model/key_id_index.h"
#include "model/request_parameters.h"
#include "model/types.h"
#include "store/control_reads.h"

namespace tollgate {

struct MockResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Where an HTTP/HTTP_PROXY integration sends requests. `target` may hold
// {param} placeholders filled from the matched path.
struct Backend {
  std::string host;
  std::string port;
  std::string host_header;  // host[:port] as written in the URI
  std::string target;       // path and optional query
  std::string pool_key;     // "host:port": which idle connections can serve it
};

// One method of one resource in a deployed stage.
struct RouteMethod {
  std::string resource_path;  // "/pets/{petId}"
  std::string http_method;    // as declared, "ANY" included
  bool api_key_required = false;
  IntegrationType type = IntegrationType::kMock;
  std::string backend_method;  // empty: the request's own method
  Backend backend;
  std::int64_t timeout_ms = 29000;
  // What goes into the backend request besides the client's own; mostly none.
  std::vector<RequestParameter> request_parameters;
  MockResponse mock;
  std::optional<LimitRef> stage_limit;  // from the stage's methodSettings
  RouteCounters* counters = nullptr;    // requests by outcome, for /metrics
};

struct StageEntry {
  std::string api_id;
  std::string stage_name;
  ApiKeySource key_source = ApiKeySource::kHeader;
  std::vector<RouteMethod> methods;
  RouteTree routes;
};

struct PlanEntry;

class Catalog {
 public:
  // A key as the catalog has it: a record of one of its key tables.
  struct Key {
    const KeyTable* table = nullptr;
    const KeyTable::Record* record = nullptr;
    explicit operator bool() const { return record != nullptr; }
    std::string_view id() const { return table->id(*record); }
    bool enabled() const { return table->enabled(*record); }
    KeyBinding binding(const StageEntry* stage) const { return table->binding(*record, stage); }
    std::vector<KeyBinding> bindings() const { return table->bindings(*record); }
  };

  const StageEntry* stage(std::string_view api_id, std::string_view stage_name) const;
  bool has_api(std::string_view api_id) const { return routes_->find(api_id) != routes_->end(); }
  // The key whose value is `stored_value` as the store keeps it (hashed
  // when key_hasher() says so). Keys changed since the table of all keys
  // was built are in a few small tables, newest first, looked at first.
  Key find_key(std::string_view stored_value) const {
    for (std::size_t i = 0; i < recent_count_; ++i) {
      if (const KeyTable::Record* r = recent_[i]->find(stored_value))
        return KeyTable::removed(*r) ? Key{} : Key{recent_[i].get(), r};
    }
    if (const KeyTable::Record* r = keys_->find(stored_value)) return {keys_.get(), r};
    return {};
  }
  // How many small tables of recent keys a catalog holds at most: each
  // delta adds one, and past this many they are merged into one.
  static constexpr std::size_t kRecentTables = 4;
  // What a presented key value is hashed with before it is looked up; null
  // when the keys are kept as given.
  const KeyHasher* key_hasher() const { return key_hasher_.get(); }
  const LimitRef& account_limit() const { return account_; }
  std::uint64_t version() const { return version_; }
  std::size_t key_count() const { return key_count_; }
  // Keys changed since the table of all keys was built (removals included,
  // a key changed twice counted twice).
  std::size_t recent_key_count() const {
    std::size_t n = 0;
    for (std::size_t i = 0; i < recent_count_; ++i) n += recent_[i]->size();
    return n;
  }
  // Whether keys' quotas are served from leases taken from a shared store
  // (see QuotaCounter::add_lease) rather than counted against the limit.
  bool quota_leased() const { return quota_leased_; }
  // The share of every throttle this node enforces (the nodes sharing a
  // store split them).
  double throttle_share() const { return throttle_share_; }

 private:
  friend class CatalogBuilder;
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  template <typename V>
  using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;
  using Routes = StringMap<StringMap<StageEntry>>;
  using Plans = std::unordered_map<std::string, PlanEntry>;

  // Shared by the catalogs that deltas make of this one: they change keys only.
  std::shared_ptr<const Routes> routes_;
  std::shared_ptr<const Plans> plans_;
  std::shared_ptr<const KeyTable> keys_;
  std::array<std::shared_ptr<const KeyTable>, kRecentTables> recent_{};  // newest first
  std::size_t recent_count_ = 0;
  std::size_t key_count_ = 0;
  std::shared_ptr<const KeyHasher> key_hasher_;
  LimitRef account_;
  std::uint64_t version_ = 0;
  double throttle_share_ = 1.0;
  bool quota_leased_ = false;
};

// Reads a key's quota used under a plan over a range of days (served
// requests and adjustments), to seed quota counters new to this process.
using UsageLoader =
    std::function<std::int64_t(const std::string& plan_id, const std::string& key_id,
                               QuotaPeriod period, std::int64_t first_day, std::int64_t last_day)>;

// What the caller keeps for the i-th of the state's usage plan keys (a key
// under a plan): the usage slot it counts its served requests into and, when
// known, its number in the limit states' pair ids, which saves a lookup.
// For a delta, the i-th membership of the changed keys, in their order.
struct MemberRefs {
  UsageSlot* usage = nullptr;
  std::optional<std::uint32_t> pair_id;
};
using MemberProvider = std::function<MemberRefs(std::size_t usage_plan_key)>;

// What a catalog is built as, beyond the state it serves.
struct CatalogBuild {
  UnixNanos now = 0;
  std::uint64_t version = 0;
  // Each route gets its request counters here, when given.
  MetricsRegistry* metrics = nullptr;
  // A state whose keys are hashed needs the hasher they were made with.
  std::shared_ptr<const KeyHasher> key_hasher = nullptr;
  // Every throttle is enforced at this share of its rate and burst (burst
  // at least 1): the nodes sharing a store split them.
  double throttle_share = 1.0;
  // Quotas are served from leases, and no counter is seeded.
  bool quota_leased = false;
  // member_keys(state), when the caller found it already.
  const std::vector<MemberKey>* member_keys = nullptr;
};

// Builds a catalog from a validated control state: quota counters seeded
// from `load_usage`, each membership's usage slot from `members`. Control
// plane: may throw.
std::shared_ptr<const Catalog> build_catalog(const ControlState& state, LimitStates& limits,
                                             const UsageLoader& load_usage,
                                             const MemberProvider& members,
                                             const CatalogBuild& build);

// A catalog at `version` that is `current` with the keys changed as
// `changes` say, sharing everything else with it. Requests holding
// `current` keep it. The changed keys go into a small table of their own,
// laid over the tables before it; once more than Catalog::kRecentTables
// are laid, they are merged into one, and once they hold more than
// `max_recent` keys, the keys are compacted
// into one table again (the cost of a rebuild of the keys, without reading
// the store). Control plane: may throw.
std::shared_ptr<const Catalog> apply_key_changes(const Catalog& current,
                                                 const std::vector<ChangedKey>& changes,
                                                 LimitStates& limits, const UsageLoader& load_usage,
                                                 const MemberProvider& members, UnixNanos now,
                                                 std::uint64_t version, std::size_t max_recent);
// The memberships of `changes` in the order apply_key_changes asks a
// MemberProvider for them.
std::vector<UsagePlanKey> memberships_of(const std::vector<ChangedKey>& changes);

}  // namespace tollgate
