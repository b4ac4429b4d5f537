#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "limits/quota_counter.h"
#include "model/types.h"

namespace tollgate {

// A key's quota under a plan in one window, as a node that serves it from a
// lease asks for one (see QuotaCounter::add_lease).
struct QuotaClaim {
  QuotaCounter* counter = nullptr;  // lives as long as the limit states
  std::string_view plan_id;         // both into the catalog decided on
  std::string_view key_id;
  std::int64_t window_id = 0;
  std::int64_t window_end_s = 0;
  std::int64_t first_day = 0;  // the days the window covers
  std::int64_t last_day = 0;
  std::int64_t limit = 0;  // the plan's quota for the key in this window
  QuotaPeriod period = QuotaPeriod::kMonth;
};

enum class LeaseOutcome : std::uint8_t {
  kGranted,      // the counter holds a lease now (it may be used up already)
  kSpent,        // the quota is spent on every node; the counter says so
  kUnavailable,  // no lease could be had (the store is unreachable)
};

// Where leases come from. The request path only asks when a counter holds
// none; everything else (renewing, topping up, giving back) is the source's.
class LeaseSource {
 public:
  virtual ~LeaseSource() = default;
  // Asks for a lease for `claim`, copying what it needs of it. `done` is
  // called once, from another thread, soon: a request waits on it.
  virtual void request(const QuotaClaim& claim, std::function<void(LeaseOutcome)> done) = 0;
};

}  // namespace tollgate
