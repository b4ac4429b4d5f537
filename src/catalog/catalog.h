#pragma once

// An immutable, indexed snapshot of the control state, built off the request
// path and published whole (catalog_holder.h). Readers never lock; the limit
// state it points at lives in LimitStates and outlives every snapshot.

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
#include "model/types.h"

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

class Catalog {
 public:
  const StageEntry* stage(std::string_view api_id, std::string_view stage_name) const;
  bool has_api(std::string_view api_id) const { return apis_.find(api_id) != apis_.end(); }
  const KeyTable& keys() const { return keys_; }
  // What a presented key value is hashed with before it is looked up; null
  // when the keys are kept as given.
  const KeyHasher* key_hasher() const { return key_hasher_.get(); }
  const LimitRef& account_limit() const { return account_; }
  std::uint64_t version() const { return version_; }
  std::size_t key_count() const { return keys_.size(); }
  // Whether keys' quotas are served from leases taken from a shared store
  // (see QuotaCounter::add_lease) rather than counted against the limit.
  bool quota_leased() const { return quota_leased_; }

 private:
  friend class CatalogBuilder;
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  template <typename V>
  using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

  StringMap<StringMap<StageEntry>> apis_;
  KeyTable keys_;
  std::shared_ptr<const KeyHasher> key_hasher_;
  LimitRef account_;
  std::uint64_t version_ = 0;
  bool quota_leased_ = false;
};

// Reads a key's quota used under a plan over a range of days (served
// requests and adjustments), to seed quota counters new to this process.
using UsageLoader = std::function<std::int64_t(const std::string& plan_id, const std::string& key_id,
                                               QuotaPeriod period, std::int64_t first_day, std::int64_t last_day)>;

// What the caller keeps for the i-th of the state's usage plan keys (a key
// under a plan): the usage slot it counts its served requests into and, when
// known, its number in the limit states' pair ids, which saves a lookup.
struct MemberRefs {
  UsageSlot* usage = nullptr;
  std::optional<std::uint32_t> pair_id;
};
using MemberProvider = std::function<MemberRefs(std::size_t usage_plan_key)>;

// Builds a catalog from a validated control state. `member_keys`, when
// given, is member_keys(state), found once for the caller and the build.
// With `metrics`, each route gets its request counters. A state whose keys are hashed needs the
// hasher they were made with. Every throttle is enforced at
// `throttle_share` of its rate and burst (burst at least 1): the nodes
// sharing a store split them. With `quota_leased`, quotas are served from
// leases and no counter is seeded. Control plane: may throw.
std::shared_ptr<const Catalog> build_catalog(const ControlState& state, LimitStates& limits,
                                             const UsageLoader& load_usage,
                                             const MemberProvider& members, UnixNanos now,
                                             std::uint64_t version, MetricsRegistry* metrics = nullptr,
                                             std::shared_ptr<const KeyHasher> key_hasher = nullptr,
                                             double throttle_share = 1.0, bool quota_leased = false,
                                             const std::vector<MemberKey>* member_keys = nullptr);

}  // namespace tollgate
