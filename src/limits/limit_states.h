#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "limits/quota_counter.h"
#include "limits/token_bucket.h"
#include "metering/usage_slot.h"
#include "model/types.h"

namespace tollgate {

// Live counters of one key under one usage plan, shared by every stage of the
// plan: the quota used in the current window, and the usage slot (in the
// crash-safe counter file) the gate counts served requests into.
struct alignas(64) KeyPlanState {
  // One counter per quota period, so that a catalog still serving a plan's
  // old period never disturbs the counter of its new one.
  QuotaCounter quota[3];
  UsageSlot* usage = nullptr;  // set by the catalog builder before first use
  // The key's own bucket under the plan's throttle, next to its quota: one
  // cache line holds what a decision writes for the key.
  TokenBucket bucket;

  QuotaCounter& quota_for(QuotaPeriod p) { return quota[static_cast<int>(p)]; }
  // The bucket, set up for `p`; one whose throttle changed starts again full.
  // Catalog builder only.
  TokenBucket& bucket_for(const BucketParams& p);

  // Seeding a counter from the store (catalog builder) and adjusting it
  // (UpdateUsage, admin thread) take this, so neither misses the other.
  std::mutex seed_mutex;
  // The quota period the counters were last seeded for; none while the plan
  // has no quota (its requests are not charged to any counter then).
  std::optional<QuotaPeriod> counted_period;
  // The throttle the bucket was last set up for; none yet at -1.
  std::int64_t bucket_interval_ns = -1;
  std::int64_t bucket_capacity_ns = -1;
};

// The mutable limit state that outlives catalog snapshots: token buckets and
// per key/plan counters, keyed by scope. Lookups and inserts take a mutex and
// happen only while a catalog is built; the returned objects live as long as
// this registry and are used lock-free on the request path.
class LimitStates {
 public:
  // The bucket for `scope`, enforcing `params`. A bucket whose throttle
  // changed starts again full, so a raised limit takes effect at once.
  TokenBucket& bucket(const std::string& scope, const BucketParams& params);
  // `created` tells whether the state is new (its quota still to be loaded).
  KeyPlanState& key_plan(const std::string& plan_id, const std::string& key_id, bool& created);

  std::size_t bucket_count();
  std::size_t key_plan_count();

 private:
  std::mutex mutex_;
  struct ScopedBucket {
    TokenBucket bucket;
    BucketParams params;
  };
  std::unordered_map<std::string, std::unique_ptr<ScopedBucket>> buckets_;
  std::unordered_map<std::string, std::unique_ptr<KeyPlanState>> key_plans_;
};

}  // namespace tollgate
