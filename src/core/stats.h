#pragma once

#include <atomic>
#include <cstdint>

namespace tollgate {

// What happened to a data-plane request. Every outcome has a counter.
enum class Outcome : std::uint8_t {
  kAllowed,
  kThrottled,
  kQuotaExceeded,
  kForbidden,
  kMissingToken,
  kUpstreamError,
  kBadRequest,  // unreadable, malformed, too large or too slow to arrive
  kShed,        // refused for overload
  kUsagePage,   // the customer usage page, answered whatever its status
  kCount
};

const char* outcome_name(Outcome o);

// Process-wide outcome counters. Relaxed atomics; safe from any thread.
class Stats {
 public:
  void count(Outcome o) {
    counters_[static_cast<int>(o)].value.fetch_add(1, std::memory_order_relaxed);
  }
  std::uint64_t get(Outcome o) const {
    return counters_[static_cast<int>(o)].value.load(std::memory_order_relaxed);
  }

 private:
  // Each counter on its own cache line so workers do not false-share.
  struct alignas(64) Counter {
    std::atomic<std::uint64_t> value{0};
  };
  Counter counters_[static_cast<int>(Outcome::kCount)];
};

}  // namespace tollgate
