#include "limits/limit_states.h"

namespace tollgate {

TokenBucket& KeyPlanState::bucket_for(const BucketParams& p) {
  if (bucket_interval_ns != p.interval_ns || bucket_capacity_ns != p.capacity_ns) {
    if (bucket_interval_ns != -1) bucket.reset();
    bucket_interval_ns = p.interval_ns;
    bucket_capacity_ns = p.capacity_ns;
  }
  return bucket;
}

TokenBucket& LimitStates::bucket(const std::string& scope, const BucketParams& params) {
  std::lock_guard lock(mutex_);
  auto& slot = buckets_[scope];
  if (!slot) {
    slot = std::make_unique<ScopedBucket>();
    slot->params = params;
  } else if (slot->params.interval_ns != params.interval_ns ||
             slot->params.capacity_ns != params.capacity_ns) {
    slot->bucket.reset();
    slot->params = params;
  }
  return slot->bucket;
}

KeyPlanState& LimitStates::key_plan(const std::string& plan_id, const std::string& key_id,
                                    bool& created) {
  std::lock_guard lock(mutex_);
  auto& slot = key_plans_[plan_id + '\n' + key_id];
  created = !slot;
  if (!slot) slot = std::make_unique<KeyPlanState>();
  return *slot;
}

std::size_t LimitStates::bucket_count() {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

std::size_t LimitStates::key_plan_count() {
  std::lock_guard lock(mutex_);
  return key_plans_.size();
}

}  // namespace tollgate
