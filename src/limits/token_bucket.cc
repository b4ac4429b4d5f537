#include "limits/token_bucket.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace tollgate {
namespace {

// Keeps capacity arithmetic far from int64 overflow (about 3 years of refill).
constexpr std::int64_t kMaxCapacityNs = std::int64_t{100'000'000} * kNanosPerSecond;

}  // namespace

BucketParams BucketParams::from(const Throttle& t) {
  BucketParams p;
  p.burst = t.burst_limit;
  p.rate_per_sec = t.rate_limit;
  if (!(t.rate_limit > 0) || t.burst_limit <= 0) return p;
  const double interval = std::round(static_cast<double>(kNanosPerSecond) / t.rate_limit);
  p.interval_ns =
      static_cast<std::int64_t>(std::clamp(interval, 1.0, static_cast<double>(kMaxCapacityNs)));
  p.capacity_ns = t.burst_limit > kMaxCapacityNs / p.interval_ns ? kMaxCapacityNs
                                                                 : t.burst_limit * p.interval_ns;
  p.blocks_all = false;
  return p;
}

bool TokenBucket::try_take(const BucketParams& p, UnixNanos now, std::int64_t& wait_ns) {
  if (p.blocks_all) {
    wait_ns = kNanosPerSecond;
    return false;
  }
  std::int64_t tat = tat_.load(std::memory_order_relaxed);
  for (;;) {
    const std::int64_t next = std::max(tat, now) + p.interval_ns;
    if (next - now > p.capacity_ns) {
      wait_ns = next - now - p.capacity_ns;
      return false;
    }
    if (tat_.compare_exchange_weak(tat, next, std::memory_order_relaxed)) return true;
  }
}

void TokenBucket::give_back(const BucketParams& p) {
  if (!p.blocks_all) tat_.fetch_sub(p.interval_ns, std::memory_order_relaxed);
}

BucketLevel TokenBucket::level(const BucketParams& p, UnixNanos now) const {
  if (p.blocks_all) return {0, 1};
  const std::int64_t backlog =
      std::max<std::int64_t>(0, tat_.load(std::memory_order_relaxed) - now);
  const std::int64_t free_ns = std::max<std::int64_t>(0, p.capacity_ns - backlog);
  return {free_ns / p.interval_ns, (backlog + kNanosPerSecond - 1) / kNanosPerSecond};
}

}  // namespace tollgate
