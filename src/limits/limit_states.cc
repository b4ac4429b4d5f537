#include "limits/limit_states.h"

namespace tollgate {

TokenBucket& KeyPlanHandle::bucket_for(const BucketParams& p) const {
  if (setup->bucket_interval_ns != p.interval_ns || setup->bucket_capacity_ns != p.capacity_ns) {
    if (setup->bucket_interval_ns != -1) state->bucket.reset();
    setup->bucket_interval_ns = p.interval_ns;
    setup->bucket_capacity_ns = p.capacity_ns;
  }
  return state->bucket;
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

KeyPlanHandle LimitStates::key_plan(std::string_view plan_id, std::string_view key_id) {
  std::lock_guard lock(mutex_);
  const KeyPlanIds::Interned k = key_plan_ids_.intern(plan_id, key_id);
  if (k.id / kChunk == chunks_.size()) chunks_.push_back(std::make_unique<Chunk>());
  Chunk& chunk = *chunks_[k.id / kChunk];
  return {&chunk.states[k.id % kChunk], &chunk.setups[k.id % kChunk], &seed_mutexes_[k.id % seed_mutexes_.size()],
          k.created};
}

void LimitStates::reserve_key_plans(std::size_t n) {
  std::lock_guard lock(mutex_);
  key_plan_ids_.reserve(n);
}

std::size_t LimitStates::bucket_count() {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

std::size_t LimitStates::key_plan_count() {
  std::lock_guard lock(mutex_);
  return key_plan_ids_.size();
}

}  // namespace tollgate
