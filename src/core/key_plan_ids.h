#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/flat_index.h"

namespace tollgate {

// Dense ids 0, 1, 2, ... for (usage plan id, API key id) pairs, in the order
// first seen. The limit states and the meter share one, each keeping its own
// per-pair data in an array by id, so a million pairs are known once: about
// 40 bytes each, with the key ids in one character buffer, the few plan ids
// stored once and a flat index. Thread-safe; control plane.
class KeyPlanIds {
 public:
  struct Interned {
    std::uint32_t id = 0;
    bool created = false;
  };

  std::optional<std::uint32_t> find(std::string_view plan_id, std::string_view key_id) const;
  // Finds the pairs at(0), ..., at(n - 1), each a {plan id, key id}, under
  // one lock, and calls found(i, id or nullopt) for each in order. It starts
  // fetching each pair's index slot several pairs ahead, so that with a
  // million pairs the cache misses overlap instead of queueing. `found`
  // runs under the lock, so it must not call back into this object.
  template <typename At, typename Found>
  void find_each(std::size_t n, At&& at, Found&& found) const;
  Interned intern(std::string_view plan_id, std::string_view key_id);
  void reserve(std::size_t n);

  std::string plan_id(std::uint32_t id) const;
  std::string key_id(std::uint32_t id) const;
  std::size_t size() const;

 private:
  struct Pair {
    std::uint32_t plan;
    std::uint32_t key_offset;
    std::uint32_t key_size;
  };
  static std::uint64_t hash(std::uint32_t plan, std::string_view key_id);
  std::optional<std::uint32_t> find_plan(std::string_view plan_id) const;
  std::optional<std::uint32_t> find_locked(std::uint32_t plan, std::uint64_t hash,
                                           std::string_view key_id) const;
  std::string_view key_of(std::uint32_t id) const {
    return std::string_view(key_text_).substr(pairs_[id].key_offset, pairs_[id].key_size);
  }
  auto hash_of() const {
    return [this](std::uint32_t id) { return hash(pairs_[id].plan, key_of(id)); };
  }

  mutable std::mutex mutex_;
  std::vector<std::string> plans_;  // usage plans are few: a scan finds one
  std::vector<Pair> pairs_;
  std::string key_text_;
  FlatIndex index_;
};

template <typename At, typename Found>
void KeyPlanIds::find_each(std::size_t n, At&& at, Found&& found) const {
  constexpr std::size_t kAhead = 8;
  struct Started {
    std::optional<std::uint32_t> plan;
    std::uint64_t hash = 0;
  };
  std::array<Started, kAhead> ahead;
  const auto start = [&](std::size_t i) {
    const auto [plan_id, key_id] = at(i);
    Started& s = ahead[i % kAhead];
    s.plan = find_plan(plan_id);
    if (!s.plan) return;
    s.hash = hash(*s.plan, key_id);
    index_.prefetch(s.hash);
  };
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < n && i < kAhead; ++i) start(i);
  for (std::size_t i = 0; i < n; ++i) {
    const Started s = ahead[i % kAhead];
    if (i + kAhead < n) start(i + kAhead);
    found(i, s.plan ? find_locked(*s.plan, s.hash, at(i).second) : std::nullopt);
  }
}

}  // namespace tollgate
