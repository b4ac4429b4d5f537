#include "limits/quota_counter.h"

#include <algorithm>

namespace tollgate {

std::uint64_t QuotaCounter::pack(std::int64_t window_id, std::int64_t used) {
  const std::int64_t clamped = std::clamp(used, kMinUsed, kMaxUsed);
  return (static_cast<std::uint64_t>(window_id) << kUsedBits) |
         static_cast<std::uint64_t>(clamped + kBias);
}

std::int64_t QuotaCounter::try_take(std::int64_t window_id, std::int64_t limit) {
  std::uint64_t word = word_.load(std::memory_order_relaxed);
  for (;;) {
    const std::int64_t w = std::max(window_of(word), window_id);
    const std::int64_t used = used_in(word, window_id);
    if (used >= limit || used >= kMaxUsed) return -1;
    if (word_.compare_exchange_weak(word, pack(w, used + 1), std::memory_order_relaxed))
      return limit - used - 1;
  }
}

void QuotaCounter::give_back(std::int64_t window_id) {
  std::uint64_t word = word_.load(std::memory_order_relaxed);
  for (;;) {
    if (window_of(word) != window_id) return;
    if (word_.compare_exchange_weak(word, pack(window_id, used_in(word, window_id) - 1),
                                    std::memory_order_relaxed))
      return;
  }
}

std::int64_t QuotaCounter::used(std::int64_t window_id) const {
  return used_in(word_.load(std::memory_order_relaxed), window_id);
}

void QuotaCounter::set_used(std::int64_t window_id, std::int64_t used) {
  word_.store(pack(window_id, used), std::memory_order_relaxed);
}

void QuotaCounter::adjust(std::int64_t window_id, std::int64_t delta) {
  std::uint64_t word = word_.load(std::memory_order_relaxed);
  for (;;) {
    const std::int64_t w = std::max(window_of(word), window_id);
    if (word_.compare_exchange_weak(word, pack(w, used_in(word, window_id) + delta),
                                    std::memory_order_relaxed))
      return;
  }
}

void QuotaCounter::add_lease(std::int64_t window_id, std::int64_t units) {
  std::uint64_t word = word_.load(std::memory_order_relaxed);
  for (;;) {
    const std::int64_t w = std::max(window_of(word), window_id);
    const std::int64_t left = std::max<std::int64_t>(0, -used_in(word, window_id));
    if (word_.compare_exchange_weak(word, pack(w, -(left + units)), std::memory_order_relaxed))
      return;
  }
}

void QuotaCounter::mark_spent(std::int64_t window_id) {
  std::uint64_t word = word_.load(std::memory_order_relaxed);
  for (;;) {
    // A lease that arrived meanwhile is served first; a mark stays as it is.
    if (window_of(word) > window_id ||
        (window_of(word) == window_id && used_in(word, window_id) != 0))
      return;
    if (word_.compare_exchange_weak(word, pack(window_id, 1), std::memory_order_relaxed)) return;
  }
}

void QuotaCounter::count_refusal(std::int64_t window_id) {
  std::uint64_t word = word_.load(std::memory_order_relaxed);
  for (;;) {
    const std::int64_t used = used_in(word, window_id);
    if (window_of(word) != window_id || used <= 0 || used >= kMaxUsed) return;
    if (word_.compare_exchange_weak(word, pack(window_id, used + 1), std::memory_order_relaxed))
      return;
  }
}

void QuotaCounter::forget_spent(std::int64_t window_id) {
  std::uint64_t word = word_.load(std::memory_order_relaxed);
  while (window_of(word) == window_id && used_in(word, window_id) > 0) {
    if (word_.compare_exchange_weak(word, pack(window_id, 0), std::memory_order_relaxed)) return;
  }
}

std::int64_t QuotaCounter::withdraw_lease(std::int64_t window_id) {
  std::uint64_t word = word_.load(std::memory_order_relaxed);
  for (;;) {
    if (window_of(word) != window_id || used_in(word, window_id) >= 0) return 0;
    if (word_.compare_exchange_weak(word, pack(window_id, 0), std::memory_order_relaxed))
      return -used_in(word, window_id);
  }
}

}  // namespace tollgate
