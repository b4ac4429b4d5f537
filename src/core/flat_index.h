#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/huge_pages.h"

namespace tollgate {

// Dense ids by 64-bit hash in one open-addressed array: 8 bytes a slot and no
// allocation per entry, where a node-based map of a million strings costs
// about a hundred bytes and two allocations each. The caller keeps what the
// ids stand for, and answers whether id i is the thing hashed (a slot keeps
// only 32 bits of the hash) and, when the index grows, what id i's hash is.
// Not thread-safe; control plane.
class FlatIndex {
 public:
  template <typename IsId>
  std::optional<std::uint32_t> find(std::uint64_t hash, IsId&& is_id) const {
    if (slots_.empty()) return std::nullopt;
    const std::uint32_t tag = tag_of(hash);
    for (std::size_t i = home(hash);; i = next(i)) {
      const Slot& s = slots_[i];
      if (s.tag == 0) return std::nullopt;
      if (s.tag == tag && is_id(s.id)) return s.id;
    }
  }

  // Starts fetching the slot `hash` probes first, for a find soon after:
  // lookups of many ids issued a few apart overlap their cache misses.
  void prefetch(std::uint64_t hash) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[home(hash)]);
  }

  // Adds `id` under `hash`, which must not be present yet.
  template <typename HashOf>
  void insert(std::uint64_t hash, std::uint32_t id, HashOf&& hash_of) {
    if ((size_ + 1) * 4 > slots_.size() * 3)
      grow(std::max<std::size_t>(64, slots_.size() * 2), hash_of);
    place(hash, id);
    ++size_;
  }

  // Room for `n` ids without growing.
  template <typename HashOf>
  void reserve(std::size_t n, HashOf&& hash_of) {
    std::size_t capacity = 64;
    while (n * 4 > capacity * 3) capacity *= 2;
    if (capacity > slots_.size()) grow(capacity, hash_of);
  }

  std::size_t size() const { return size_; }

 private:
  struct Slot {
    std::uint32_t tag = 0;  // 0: empty
    std::uint32_t id = 0;
  };

  static std::uint32_t tag_of(std::uint64_t hash) {
    return static_cast<std::uint32_t>(hash >> 32) | 1u;
  }
  std::size_t home(std::uint64_t hash) const {
    return static_cast<std::size_t>(hash) & (slots_.size() - 1);
  }
  std::size_t next(std::size_t i) const { return (i + 1) & (slots_.size() - 1); }

  void place(std::uint64_t hash, std::uint32_t id) {
    std::size_t i = home(hash);
    while (slots_[i].tag != 0) i = next(i);
    slots_[i] = {tag_of(hash), id};
  }

  template <typename HashOf>
  void grow(std::size_t capacity, HashOf& hash_of) {
    // Probes land anywhere in the array: without huge pages, each would miss
    // the TLB as well as the cache once it spans more than a few MiB.
    std::vector<Slot> old;
    assign_on_huge_pages(old, capacity, Slot{});
    old.swap(slots_);
    for (const Slot& s : old)
      if (s.tag != 0) place(hash_of(s.id), s.id);
  }

  std::vector<Slot> slots_;
  std::size_t size_ = 0;
};

}  // namespace tollgate
