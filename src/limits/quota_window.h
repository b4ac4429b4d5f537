#pragma once

#include <cstdint>

#include "core/clock.h"
#include "model/types.h"

namespace tollgate {

// One quota period on UTC calendar boundaries: a day, a week starting Sunday
// 00:00, or a calendar month starting on the 1st.
struct QuotaWindow {
  std::int64_t id = 0;            // days, weeks or months since the epoch
  std::int64_t start_unix_s = 0;  // inclusive
  std::int64_t end_unix_s = 0;    // exclusive
  std::int64_t first_day = 0;     // day numbers covered, inclusive
  std::int64_t last_day = 0;
};

QuotaWindow quota_window(QuotaPeriod period, std::int64_t unix_seconds);

// quota_window() for the request path: the calendar arithmetic runs once per
// window and thread, later calls inside the same window read a thread-local
// copy. No lock, no allocation.
const QuotaWindow& current_quota_window(QuotaPeriod period, std::int64_t unix_seconds);

// Requests a key may make in window `window_id` when it joined the plan in
// window `initial_window_id`: the offset is taken off the initial period only.
std::int64_t quota_limit_for(const Quota& q, std::int64_t window_id,
                             std::int64_t initial_window_id);

}  // namespace tollgate
