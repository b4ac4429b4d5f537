#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace tollgate {

// The first eight bytes of `text` as a big-endian number: numbers compare
// as the texts' starts do.
inline std::uint64_t prefix_of(std::string_view text) {
  std::uint64_t prefix = 0;
  for (std::size_t i = 0; i < 8; ++i)
    prefix = (prefix << 8) | (i < text.size() ? static_cast<unsigned char>(text[i]) : 0u);
  return prefix;
}

// Sorts `items` by the texts `key(item)` gives, a pair of string_views
// compared first then second. With a million keys the sort compares the
// texts' first eight bytes, held next to each item's place, and moves each
// item once: sorting the items themselves chased every string and moved
// each item some twenty times.
template <typename T, typename Key>
void sort_by_texts(std::vector<T>& items, Key key) {
  struct Place {
    std::uint64_t first;
    std::uint64_t second;
    std::uint32_t index;
  };
  std::vector<Place> places;
  places.reserve(items.size());
  for (std::uint32_t i = 0; i < items.size(); ++i) {
    const auto [first, second] = key(items[i]);
    places.push_back({prefix_of(first), prefix_of(second), i});
  }
  std::sort(places.begin(), places.end(), [&](const Place& a, const Place& b) {
    if (a.first != b.first) return a.first < b.first;
    if (a.second != b.second) return a.second < b.second;
    return key(items[a.index]) < key(items[b.index]);
  });
  std::vector<T> sorted;
  sorted.reserve(items.size());
  for (const Place& p : places) sorted.push_back(std::move(items[p.index]));
  items = std::move(sorted);
}

}  // namespace tollgate
