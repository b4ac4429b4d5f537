#pragma once

#include <atomic>
#include <cstdint>

#include "core/clock.h"
#include "model/types.h"

namespace tollgate {

// A throttle in the units the bucket works in: the time one request's token
// takes to refill, and the bucket's capacity as time (burst × interval).
struct BucketParams {
  std::int64_t interval_ns = 0;  // 1e9 / rateLimit
  std::int64_t capacity_ns = 0;  // burstLimit × interval_ns
  std::int64_t burst = 0;
  double rate_per_sec = 0;
  bool blocks_all = true;  // rate or burst of 0: every request is throttled

  static BucketParams from(const Throttle& t);
};

// What a caller may learn about a bucket: tokens left and seconds until full.
struct BucketLevel {
  std::int64_t remaining = 0;
  std::int64_t seconds_to_full = 0;
};

// A token bucket kept as GCRA: one atomic "theoretical arrival time". A new
// bucket is full; refill is lazy, computed from the clock on each call.
// Lock-free; safe to call from any worker thread.
class TokenBucket {
 public:
  // Takes one token at `now`. On refusal returns false and sets `wait_ns` to
  // the time until a token will be available.
  bool try_take(const BucketParams& p, UnixNanos now, std::int64_t& wait_ns);
  // Returns a token taken by try_take (when a later limit refused the request).
  void give_back(const BucketParams& p);
  BucketLevel level(const BucketParams& p, UnixNanos now) const;
  // Fills the bucket (used when its throttle changes).
  void reset() { tat_.store(0, std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> tat_{0};
};

}  // namespace tollgate
