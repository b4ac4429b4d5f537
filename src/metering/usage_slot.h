#pragma once

#include <atomic>
#include <cstdint>

namespace tollgate {

// Requests served on one UTC day, as the meter sees one parity word.
struct DayCount {
  std::int64_t day = -1;  // days since the epoch; -1: never counted
  std::int64_t count = 0;
};

// The served-request counter of one key under one plan, per UTC day. Two
// words, one for even and one for odd days, each packing (day, count): the
// gate counts into today's word, resetting it when it still holds the day
// before yesterday, which the meter flushed long ago. So a day's count is
// exact whatever the flush timing. Lives in a memory-mapped file
// (counter_file.h) so that a crash loses no count. Lock-free.
class alignas(64) UsageSlot {
 public:
  static constexpr int kCountBits = 40;

  void count(std::int64_t day) {
    std::atomic<std::uint64_t>& w = words_[day & 1];
    std::uint64_t word = w.load(std::memory_order_relaxed);
    for (;;) {
      const std::uint64_t next = day_of(word) == day ? word + 1 : pack(day, 1);
      if (w.compare_exchange_weak(word, next, std::memory_order_relaxed)) return;
    }
  }
  DayCount read(int parity) const {
    const std::uint64_t word = words_[parity].load(std::memory_order_relaxed);
    if (word == 0) return {};
    return {day_of(word), static_cast<std::int64_t>(word & kCountMask)};
  }
  // Served on `day`, according to this slot (0 if the word moved on).
  std::int64_t served_on(std::int64_t day) const {
    const DayCount c = read(static_cast<int>(day & 1));
    return c.day == day ? c.count : 0;
  }

 private:
  static constexpr std::uint64_t kCountMask = (std::uint64_t{1} << kCountBits) - 1;
  // Stored day is day + 1 so that an all-zero (fresh) word means "never".
  static std::uint64_t pack(std::int64_t day, std::uint64_t count) {
    return (static_cast<std::uint64_t>(day + 1) << kCountBits) | count;
  }
  static std::int64_t day_of(std::uint64_t word) {
    return static_cast<std::int64_t>(word >> kCountBits) - 1;
  }

  std::atomic<std::uint64_t> words_[2];
};

static_assert(sizeof(UsageSlot) == 64);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

}  // namespace tollgate
