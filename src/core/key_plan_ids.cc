#include "core/key_plan_ids.h"

#include <functional>

namespace tollgate {

std::uint64_t KeyPlanIds::hash(std::uint32_t plan, std::string_view key_id) {
  // The plan's number folded in with an odd multiplier: pairs of one key
  // under different plans land apart.
  return std::hash<std::string_view>{}(key_id) ^ (std::uint64_t{plan} * 0x9E3779B97F4A7C15ull);
}

std::optional<std::uint32_t> KeyPlanIds::find_plan(std::string_view plan_id) const {
  for (std::uint32_t i = 0; i < plans_.size(); ++i)
    if (plans_[i] == plan_id) return i;
  return std::nullopt;
}

std::optional<std::uint32_t> KeyPlanIds::find_locked(std::uint32_t plan, std::uint64_t hash,
                                                     std::string_view key_id) const {
  return index_.find(
      hash, [&](std::uint32_t id) { return pairs_[id].plan == plan && key_of(id) == key_id; });
}

std::optional<std::uint32_t> KeyPlanIds::find(std::string_view plan_id,
                                              std::string_view key_id) const {
  std::lock_guard lock(mutex_);
  const auto plan = find_plan(plan_id);
  if (!plan) return std::nullopt;
  return find_locked(*plan, hash(*plan, key_id), key_id);
}

KeyPlanIds::Interned KeyPlanIds::intern(std::string_view plan_id, std::string_view key_id) {
  std::lock_guard lock(mutex_);
  std::uint32_t plan = 0;
  if (const auto known = find_plan(plan_id)) {
    plan = *known;
  } else {
    plan = static_cast<std::uint32_t>(plans_.size());
    plans_.emplace_back(plan_id);
  }
  const std::uint64_t h = hash(plan, key_id);
  if (const auto id = find_locked(plan, h, key_id)) return {*id, false};
  const auto id = static_cast<std::uint32_t>(pairs_.size());
  pairs_.push_back({plan, static_cast<std::uint32_t>(key_text_.size()),
                    static_cast<std::uint32_t>(key_id.size())});
  key_text_.append(key_id);
  index_.insert(h, id, hash_of());
  return {id, true};
}

void KeyPlanIds::reserve(std::size_t n) {
  std::lock_guard lock(mutex_);
  pairs_.reserve(n);
  index_.reserve(n, hash_of());
}

std::string KeyPlanIds::plan_id(std::uint32_t id) const {
  std::lock_guard lock(mutex_);
  return plans_[pairs_[id].plan];
}

std::string KeyPlanIds::key_id(std::uint32_t id) const {
  std::lock_guard lock(mutex_);
  return std::string(key_of(id));
}

std::size_t KeyPlanIds::size() const {
  std::lock_guard lock(mutex_);
  return pairs_.size();
}

}  // namespace tollgate
