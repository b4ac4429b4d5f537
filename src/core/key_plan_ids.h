#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/flat_index.h"

namespace tollgate {

// Dense ids 0, 1, 2, ... for (usage plan id, API key id) pairs, in the order
// first seen. A million keys cost about 40 bytes each here: the key ids
// share one character buffer, the few plan ids are stored once, and the
// index is flat. Not thread-safe; control plane.
class KeyPlanIds {
 public:
  struct Interned {
    std::uint32_t id = 0;
    bool created = false;
  };

  std::optional<std::uint32_t> find(std::string_view plan_id, std::string_view key_id) const;
  Interned intern(std::string_view plan_id, std::string_view key_id);
  void reserve(std::size_t n);

  std::string_view plan_id(std::uint32_t id) const { return plans_[pairs_[id].plan]; }
  std::string_view key_id(std::uint32_t id) const {
    return std::string_view(key_text_).substr(pairs_[id].key_offset, pairs_[id].key_size);
  }
  std::size_t size() const { return pairs_.size(); }

 private:
  struct Pair {
    std::uint32_t plan;
    std::uint32_t key_offset;
    std::uint32_t key_size;
  };
  static std::uint64_t hash(std::uint32_t plan, std::string_view key_id);
  std::optional<std::uint32_t> find_plan(std::string_view plan_id) const;
  bool is(std::uint32_t id, std::uint32_t plan, std::string_view key_id) const {
    return pairs_[id].plan == plan && this->key_id(id) == key_id;
  }
  auto hash_of() const {
    return [this](std::uint32_t id) { return hash(pairs_[id].plan, key_id(id)); };
  }

  std::vector<std::string> plans_;  // usage plans are few: a scan finds one
  std::vector<Pair> pairs_;
  std::string key_text_;
  FlatIndex index_;
};

}  // namespace tollgate
