#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace tollgate {

// Nanoseconds since the Unix epoch (UTC). Quota windows need calendar time and
// token buckets need a steady rate; one wall-clock reading serves both, and the
// limit logic tolerates small backwards steps by clamping.
using UnixNanos = std::int64_t;

constexpr std::int64_t kNanosPerSecond = 1'000'000'000;

// Where the limit logic reads time from. Implementations are safe to call from
// any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual UnixNanos now() const = 0;
};

class SystemClock final : public Clock {
 public:
  UnixNanos now() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// A clock tests move by hand. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(UnixNanos start = 0) : now_(start) {}
  UnixNanos now() const override { return now_.load(std::memory_order_relaxed); }
  void set(UnixNanos t) { now_.store(t, std::memory_order_relaxed); }
  void advance(std::int64_t nanos) { now_.fetch_add(nanos, std::memory_order_relaxed); }

 private:
  std::atomic<UnixNanos> now_;
};

}  // namespace tollgate
