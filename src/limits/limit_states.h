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

// A key/plan state found or made by LimitStates::key_plan.
struct KeyPlanHandle {
  KeyPlanState* state = nullptr;
  // The quota period the counters were last seeded for; none while the plan
  // has no quota (its requests are not charged to any counter then). Under
  // the seed mutex; never read on the request path.
  std::optional<QuotaPeriod>* counted_period = nullptr;
  // Seeding a counter from the store (catalog builder) and adjusting it
  // (UpdateUsage, admin thread) take this, so neither misses the other.
  std::mutex* seed_mutex = nullptr;
  bool created = false;  // new: its quota is still to be loaded
};

// The mutable limit state that outlives catalog snapshots: token buckets and
// per key/plan counters. Lookups and inserts take a mutex and happen only
// while a catalog is built or by the admin API; the returned objects live as
// long as this registry and are used lock-free on the request path.
class LimitStates {
 public:
  // Key/plan pairs are numbered by `ids`, shared with the meter, or by ids
  // of its own.
  explicit LimitStates(KeyPlanIds* ids = nullptr)
      : own_ids_(ids ? nullptr : std::make_unique<KeyPlanIds>()),
        key_plan_ids_(ids ? *ids : *own_ids_) {}

  // The bucket for `scope`, enforcing `params`. A bucket whose throttle
  // changed starts again full, so a raised limit takes effect at once.
  TokenBucket& bucket(const std::string& scope, const BucketParams& params);
  KeyPlanHandle key_plan(std::string_view plan_id, std::string_view key_id);
  // The same, for a pair the shared ids already number.
  KeyPlanHandle key_plan_at(std::uint32_t pair_id);
  // Records the throttle a usage plan's keys are under, and tells whether it
  // differs from the one last recorded: then every key's bucket under the
  // plan starts again full. Catalog builder only.
  bool plan_throttle_changed(const std::string& plan_id,
                             const std::optional<BucketParams>& throttle);
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
    std::array<std::optional<QuotaPeriod>, kChunk> counted_periods;
    std::array<bool, kChunk> made;
  };
  struct ScopedBucket {
    TokenBucket bucket;
    BucketParams params;
  };

  std::mutex mutex_;
  std::unordered_map<std::string, std::unique_ptr<ScopedBucket>> buckets_;
  struct Throttled {
    std::int64_t interval_ns;
    std::int64_t capacity_ns;
  };
  std::unordered_map<std::string, std::optional<Throttled>> plan_throttles_;
  std::unique_ptr<KeyPlanIds> own_ids_;
  KeyPlanIds& key_plan_ids_;
  std::vector<std::unique_ptr<Chunk>> chunks_;  // by pair id; a pair may be known to the meter only
  std::size_t key_plan_count_ = 0;
  std::array<std::mutex, 64> seed_mutexes_;
};

}  // namespace tollgate
