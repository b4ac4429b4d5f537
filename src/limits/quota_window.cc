#include "limits/quota_window.h"

#include "core/utc_date.h"

namespace tollgate {
namespace {

constexpr std::int64_t kSecondsPerDay = 86400;

// Floor division for the few pre-epoch cases.
std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

}  // namespace

QuotaWindow quota_window(QuotaPeriod period, std::int64_t unix_seconds) {
  const std::int64_t day = day_of_unix_seconds(unix_seconds);
  QuotaWindow w;
  switch (period) {
    case QuotaPeriod::kDay:
      w.id = day;
      w.first_day = day;
      w.last_day = day;
      break;
    case QuotaPeriod::kWeek: {
      // 1969-12-28 (day -4) was a Sunday.
      w.id = floor_div(day + 4, 7);
      w.first_day = w.id * 7 - 4;
      w.last_day = w.first_day + 6;
      break;
    }
    case QuotaPeriod::kMonth: {
      const CivilDate d = civil_from_days(day);
      w.id = static_cast<std::int64_t>(d.year) * 12 + (d.month - 1);
      w.first_day = days_from_civil({d.year, d.month, 1});
      const CivilDate next =
          d.month == 12 ? CivilDate{d.year + 1, 1, 1} : CivilDate{d.year, d.month + 1, 1};
      w.last_day = days_from_civil(next) - 1;
      break;
    }
  }
  w.start_unix_s = w.first_day * kSecondsPerDay;
  w.end_unix_s = (w.last_day + 1) * kSecondsPerDay;
  return w;
}

const QuotaWindow& current_quota_window(QuotaPeriod period, std::int64_t unix_seconds) {
  thread_local QuotaWindow cache[3] = {};  // by period; an empty window never matches
  QuotaWindow& w = cache[static_cast<int>(period)];
  if (unix_seconds < w.start_unix_s || unix_seconds >= w.end_unix_s)
    w = quota_window(period, unix_seconds);
  return w;
}

std::int64_t quota_limit_for(const Quota& q, std::int64_t window_id,
                             std::int64_t initial_window_id) {
  const std::int64_t limit = window_id == initial_window_id ? q.limit - q.offset : q.limit;
  return limit < 0 ? 0 : limit;
}

}  // namespace tollgate
