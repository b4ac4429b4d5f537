#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/key_plan_ids.h"
#include "limits/quota_counter.h"
#include "limits/token_bucket.h"
#include "model/types.h"

namespace tollgate {

// Live counters of one key under one usage plan, shared by every stage of the
// plan: the quota used in the current window and the key's own bucket under
// the plan's throttle. Two fit in a cache line; with a million keys these 32
// bytes are what a decision touches of the key's limits.
struct KeyPlanState {
  // One counter per quota period, so that a catalog still serving a plan's
  // old period never disturbs the counter of its new one.
  QuotaCounter quota[3];
  TokenBucket bucket;

  QuotaCounter& quota_for(QuotaPeriod p) { return quota[static_cast<int>(p)]; }
};

// What the catalog builder and UpdateUsage know of a key/plan state beyond
// its counters; never read on the request path.
struct KeyPlanSetup {
  // The quota period the counters were last seeded for; none while the plan
  // has no quota (its requests are not charged to any counter then).
  std::optional<QuotaPeriod> counted_period;
  // The throttle the bucket was last set up for; none yet at -1.
  std::int64_t bucket_interval_ns = -1;
  std::int64_t bucket_capacity_ns = -1;
};

// A key/plan state found or made by LimitStates::key_plan.
struct KeyPlanHandle {
  KeyPlanState* state = nullptr;
  KeyPlanSetup* setup = nullptr;
  // Seeding a counter from the store (catalog builder) and adjusting it
  // (UpdateUsage, admin thread) take this, so neither misses the other.
  std::mutex* seed_mutex = nullptr;
  bool created = false;  // new: its quota is still to be loaded

  // The key's bucket, set up for `p`; one whose throttle changed starts
  // again full. Catalog builder only.
  TokenBucket& bucket_for(const BucketParams& p) const;
};

// The mutable limit state that outlives catalog snapshots: token buckets and
// per key/plan counters. Lookups and inserts take a mutex and happen only
// while a catalog is built or by the admin API; the returned objects live as
// long as this registry and are used lock-free on the request path.
class LimitStates {
 public:
  // The bucket for `scope`, enforcing `params`. A bucket whose throttle
  // changed starts again full, so a raised limit takes effect at once.
  TokenBucket& bucket(const std::string& scope, const BucketParams& params);
  KeyPlanHandle key_plan(std::string_view plan_id, std::string_view key_id);
  // Room for `n` key/plan states in all, made ahead of a large catalog.
  void reserve_key_plans(std::size_t n);

  std::size_t bucket_count();
  std::size_t key_plan_count();

 private:
  // States live in fixed-size chunks: they never move, and a million cost
  // no allocation each.
  static constexpr std::size_t kChunk = 4096;
  struct Chunk {
    std::array<KeyPlanState, kChunk> states;
    std::array<KeyPlanSetup, kChunk> setups;
  };
  struct ScopedBucket {
    TokenBucket bucket;
    BucketParams params;
  };

  std::mutex mutex_;
  std::unordered_map<std::string, std::unique_ptr<ScopedBucket>> buckets_;
  KeyPlanIds key_plan_ids_;
  std::vector<std::unique_ptr<Chunk>> chunks_;
  std::array<std::mutex, 64> seed_mutexes_;
};

}  // namespace tollgate
