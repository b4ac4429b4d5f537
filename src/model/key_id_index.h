#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "core/flat_index.h"
#include "model/types.h"

namespace tollgate {

// Positions of API keys by id, for joining usage plan keys to their keys: a
// flat index rather than a map node per key, for a million of them. The keys
// must outlive it and not move. The first of two keys with one id wins.
class KeyIdIndex {
 public:
  explicit KeyIdIndex(const std::vector<ApiKey>& keys) : keys_(keys) {
    const auto hash_of = [this](std::uint32_t i) { return hash(keys_[i].id); };
    index_.reserve(keys.size(), hash_of);
    constexpr std::uint32_t kAhead = 8;  // inserts land at random: overlap their misses
    for (std::uint32_t i = 0; i < keys.size(); ++i) {
      if (i + kAhead < keys.size()) prefetch(keys[i + kAhead].id);
      const std::uint64_t h = hash(keys[i].id);
      if (!index_.find(h, [&](std::uint32_t j) { return keys_[j].id == keys[i].id; }))
        index_.insert(h, i, hash_of);
    }
  }

  void prefetch(std::string_view id) const { index_.prefetch(hash(id)); }

  std::optional<std::uint32_t> find(std::string_view id) const {
    return index_.find(hash(id), [&](std::uint32_t i) { return keys_[i].id == id; });
  }

 private:
  static std::uint64_t hash(std::string_view id) { return std::hash<std::string_view>{}(id); }

  const std::vector<ApiKey>& keys_;
  FlatIndex index_;
};

// The key of a usage plan key (a membership), as found in a control state.
struct MemberKey {
  static constexpr std::uint32_t kNone = UINT32_MAX;
  std::uint32_t position = kNone;  // in state.api_keys; kNone: no such key
  std::string_view customer_id;    // the key's, into state.api_keys
};

// The key of each of `state`'s usage plan keys when each follows its key's
// (a node on Redis reads each key with its plans, in one order): found by
// walking both lists once, in order. None when they are not in that order.
inline std::optional<std::vector<MemberKey>> member_keys_in_key_order(const ControlState& state) {
  const std::vector<UsagePlanKey>& members = state.usage_plan_keys;
  const std::vector<ApiKey>& keys = state.api_keys;
  std::vector<MemberKey> out(members.size());
  std::size_t k = 0;
  for (std::size_t i = 0; i < members.size(); ++i) {
    while (k < keys.size() && keys[k].id != members[i].key_id) ++k;
    if (k == keys.size()) return std::nullopt;
    out[i] = {static_cast<std::uint32_t>(k), keys[k].customer_id};
  }
  return out;
}

// The key of each of `state`'s usage plan keys, in their order. A million
// memberships each find their key in two random places, the id index and
// then the key: both are fetched ahead, the index eight memberships before
// use and the key four, so that the misses overlap.
inline std::vector<MemberKey> member_keys(const ControlState& state) {
  if (std::optional<std::vector<MemberKey>> in_order = member_keys_in_key_order(state))
    return std::move(*in_order);
  const std::vector<UsagePlanKey>& members = state.usage_plan_keys;
  const KeyIdIndex by_id(state.api_keys);
  std::vector<MemberKey> out(members.size());
  constexpr std::size_t kAhead = 8;
  constexpr std::size_t kFound = kAhead / 2;
  std::array<std::optional<std::uint32_t>, kFound> found;
  const auto find = [&](std::size_t j) {
    std::optional<std::uint32_t>& key = found[j % kFound];
    key = by_id.find(members[j].key_id);
    if (key) __builtin_prefetch(&state.api_keys[*key]);
  };
  for (std::size_t j = 0; j < members.size() && j < kAhead; ++j) by_id.prefetch(members[j].key_id);
  for (std::size_t j = 0; j < members.size() && j < kFound; ++j) find(j);
  for (std::size_t i = 0; i < members.size(); ++i) {
    const std::optional<std::uint32_t> key = found[i % kFound];
    if (i + kFound < members.size()) find(i + kFound);
    if (i + kAhead < members.size()) by_id.prefetch(members[i + kAhead].key_id);
    if (key) out[i] = {*key, state.api_keys[*key].customer_id};
  }
  return out;
}

}  // namespace tollgate
