#include "metering/closed_days.h"

#include "core/utc_date.h"
#include "metering/usage_slot.h"

namespace tollgate {
namespace {

std::string utc_time(std::int64_t seconds) {
  const std::int64_t in_day = seconds % 86400;
  char hms[16];
  std::snprintf(hms, sizeof hms, "%02lld:%02lld:%02lld", static_cast<long long>(in_day / 3600),
                static_cast<long long>(in_day / 60 % 60), static_cast<long long>(in_day % 60));
  return format_date(seconds / 86400) + "T" + hms + "Z";
}

}  // namespace

ClosedDays closed_days(const std::vector<MeterProgress>& nodes, UnixNanos now,
                       std::optional<std::int64_t> held_since) {
  const std::int64_t today = (now - kLateCountNanos) / kNanosPerDay;
  ClosedDays closed{today, format_date(today) + " has not ended"};
  if (held_since && *held_since < closed.first_open_day) {
    closed.first_open_day = *held_since;
    closed.why_open =
        "this data directory's counter file holds counts of " + format_date(*held_since) +
        " the store could not take yet (counters/held); they go in once the server can write it";
  }
  for (const MeterProgress& node : nodes) {
    if (!node.running || node.complete_before_day >= closed.first_open_day) continue;
    closed.first_open_day = node.complete_before_day;
    closed.why_open = "node " + node.node + " has written its counts of " +
                      format_date(node.complete_before_day) +
                      " and later days only in part (it last said so at " +
                      utc_time(node.updated_at_s) +
                      "; if it stopped, start it again: its counter file holds the rest)";
  }
  return closed;
}

}  // namespace tollgate
