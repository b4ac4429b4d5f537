#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
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
      if (!index_.find(h, [&](std::uint32_t j) { return keys_[j].id == keys[i].id; })) index_.insert(h, i, hash_of);
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

}  // namespace tollgate
