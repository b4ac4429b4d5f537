#pragma once

#include <atomic>
#include <cstdint>

#include "core/clock.h"

namespace tollgate {

// A count and the period (day or minute since the epoch) it is of.
struct PeriodCount {
  std::int64_t period = -1;  // -1: never counted
  std::int64_t count = 0;
};

// Why the gate refused a request of a key, as the per-minute counts tell
// them apart. A request refused by a stage or account throttle is throttled.
enum class RefusalKind : std::uint8_t { kThrottled, kQuotaExceeded, kCount };
constexpr int kRefusalKinds = static_cast<int>(RefusalKind::kCount);

constexpr std::int64_t kNanosPerMinute = 60 * kNanosPerSecond;
constexpr std::int64_t kNanosPerDay = 86400 * kNanosPerSecond;

// How long after a UTC midnight a request admitted before it may still be
// counting: the gate reads the clock, then counts, and a thread can be held
// up between the two. A day is taken as ended (written whole, held, closed
// for export) only this long after its midnight.
constexpr std::int64_t kLateCountNanos = 5 * kNanosPerSecond;

// One word packing (period, count): counting into a later period starts it
// again from one. The stored period is period + 1, so that an all-zero
// (fresh) word means "never". Lock-free.
template <int kCountBits>
class PeriodCountWord {
 public:
  void count(std::int64_t period) {
    std::uint64_t word = word_.load(std::memory_order_relaxed);
    for (;;) {
      const std::uint64_t next = period_of(word) == period ? word + 1 : pack(period, 1);
      if (word_.compare_exchange_weak(word, next, std::memory_order_relaxed)) return;
    }
  }
  // Takes back one count of `period`; nothing if the word moved on.
  void uncount(std::int64_t period) {
    std::uint64_t word = word_.load(std::memory_order_relaxed);
    while (period_of(word) == period && (word & kCountMask) != 0)
      if (word_.compare_exchange_weak(word, word - 1, std::memory_order_relaxed)) return;
  }
  PeriodCount read() const {
    const std::uint64_t word = word_.load(std::memory_order_relaxed);
    if (word == 0) return {};
    return {period_of(word), static_cast<std::int64_t>(word & kCountMask)};
  }

 private:
  static constexpr std::uint64_t kCountMask = (std::uint64_t{1} << kCountBits) - 1;
  static std::uint64_t pack(std::int64_t period, std::uint64_t count) {
    return (static_cast<std::uint64_t>(period + 1) << kCountBits) | count;
  }
  static std::int64_t period_of(std::uint64_t word) {
    return static_cast<std::int64_t>(word >> kCountBits) - 1;
  }

  std::atomic<std::uint64_t> word_;
};

// The request counters of one key under one plan (for one customer, see
// Meter). Per UTC day, the requests served: two words, one for even and
// one for odd days, so that the gate counts into today's word, resetting
// it when it still holds the day before yesterday, which the meter wrote
// long ago (or, while the store could not be written, set aside: see
// HeldCounts); a day's count is exact whatever the flush timing. Per
// minute, the same for the requests served and for each kind of refusal,
// for the console's chart of the last hour. A request is counted on the
// day and in the minute the gate admitted it. Lives in a memory-mapped
// file (counter_file.h) so that a crash loses no count. Lock-free.
class alignas(64) UsageSlot {
 public:
  // Days fit in 24 bits and minutes in 26 until the 22nd century.
  static constexpr int kCountBits = 40;
  static constexpr int kMinuteCountBits = 38;

  // A request admitted at `at`.
  void count(UnixNanos at) {
    const std::int64_t day = at / kNanosPerDay;
    const std::int64_t minute = at / kNanosPerMinute;
    days_[day & 1].count(day);
    served_minutes_[minute & 1].count(minute);
  }
  // Takes back a request admitted at `at` that the gateway then refused
  // itself, before its integration had it: it is not billed.
  void uncount(UnixNanos at) {
    const std::int64_t day = at / kNanosPerDay;
    const std::int64_t minute = at / kNanosPerMinute;
    days_[day & 1].uncount(day);
    served_minutes_[minute & 1].uncount(minute);
  }
  void count_refusal(std::int64_t minute, RefusalKind why) {
    refusals_[minute & 1][static_cast<int>(why)].count(minute);
  }
  PeriodCount read(int parity) const { return days_[parity].read(); }
  // The requests served in the minute of `parity`, with their minute.
  PeriodCount read_served_minute(int parity) const { return served_minutes_[parity].read(); }
  // The refusals for `why` in the word for minutes of `parity`, with their minute.
  PeriodCount read_refusals(int parity, RefusalKind why) const {
    return refusals_[parity][static_cast<int>(why)].read();
  }
  // Served on `day`, according to this slot (0 if the word moved on).
  std::int64_t served_on(std::int64_t day) const {
    const PeriodCount c = read(static_cast<int>(day & 1));
    return c.period == day ? c.count : 0;
  }

 private:
  PeriodCountWord<kCountBits> days_[2];
  PeriodCountWord<kMinuteCountBits> refusals_[2][kRefusalKinds];
  // Last, in words that files from before they were kept hold as zeros.
  PeriodCountWord<kMinuteCountBits> served_minutes_[2];
};

static_assert(sizeof(UsageSlot) == 64);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

}  // namespace tollgate
