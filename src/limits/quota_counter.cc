#include "limits/quota_counter.h"

#include <algorithm>

namespace tollgate {

std::int64_t QuotaCounter::try_take(std::int64_t window_id, std::int64_t limit) {
  std::uint64_t word = word_.load(std::memory_order_relaxed);
  for (;;) {
    // A word from an older window counts as empty: the window rolled over.
    // One from a newer window (the clock stepped back) keeps its count.
    const std::int64_t w = std::max(window_of(word), window_id);
    const std::uint64_t used = window_of(word) < window_id ? 0 : used_of(word);
    if (limit <= 0 || used >= static_cast<std::uint64_t>(limit) || used >= kMaxUsed) return -1;
    if (word_.compare_exchange_weak(word, pack(w, used + 1), std::memory_order_relaxed))
      return limit - static_cast<std::int64_t>(used) - 1;
  }
}

void QuotaCounter::give_back(std::int64_t window_id) {
  std::uint64_t word = word_.load(std::memory_order_relaxed);
  for (;;) {
    if (window_of(word) != window_id || used_of(word) == 0) return;
    if (word_.compare_exchange_weak(word, word - 1, std::memory_order_relaxed)) return;
  }
}

std::int64_t QuotaCounter::used(std::int64_t window_id) const {
  const std::uint64_t word = word_.load(std::memory_order_relaxed);
  return window_of(word) < window_id ? 0 : static_cast<std::int64_t>(used_of(word));
}

void QuotaCounter::set_used(std::int64_t window_id, std::int64_t used) {
  const auto clamped = static_cast<std::uint64_t>(std::clamp<std::int64_t>(used, 0, kMaxUsed));
  word_.store(pack(window_id, clamped), std::memory_order_relaxed);
}

}  // namespace tollgate
