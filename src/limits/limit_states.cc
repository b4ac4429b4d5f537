#include "limits/limit_states.h"

namespace tollgate {

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
  return key_plan_at(key_plan_ids_.intern(plan_id, key_id).id);
}

KeyPlanHandle LimitStates::key_plan_at(std::uint32_t id) {
  std::lock_guard lock(mutex_);
  while (id / kChunk >= chunks_.size()) chunks_.push_back(std::make_unique<Chunk>());
  Chunk& chunk = *chunks_[id / kChunk];
  const bool created = !chunk.made[id % kChunk];
  if (created) {
    chunk.made[id % kChunk] = true;
    ++key_plan_count_;
  }
  return {&chunk.states[id % kChunk], &chunk.counted_periods[id % kChunk],
          &seed_mutexes_[id % seed_mutexes_.size()], created};
}

bool LimitStates::plan_throttle_changed(const std::string& plan_id,
                                        const std::optional<BucketParams>& throttle) {
  std::lock_guard lock(mutex_);
  std::optional<Throttled> now;
  if (throttle) now = Throttled{throttle->interval_ns, throttle->capacity_ns};
  auto [it, inserted] = plan_throttles_.try_emplace(plan_id, now);
  if (inserted) return false;
  const bool changed = it->second.has_value() != now.has_value() ||
                       (now && (it->second->interval_ns != now->interval_ns ||
                                it->second->capacity_ns != now->capacity_ns));
  it->second = now;
  return changed;
}

void LimitStates::reserve_key_plans(std::size_t n) { key_plan_ids_.reserve(n); }

std::size_t LimitStates::bucket_count() {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

std::size_t LimitStates::key_plan_count() {
  std::lock_guard lock(mutex_);
  return key_plan_count_;
}

}  // namespace tollgate
