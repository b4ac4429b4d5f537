#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "store/store.h"

namespace tollgate {

// Which UTC days a usage export may write as final: those that have ended
// and whose counts every node has written into the store. A node that
// stopped cleanly holds none; a running node (or one that crashed, until it
// starts again and writes what its counter file kept) only vouches for the
// days before its MeterProgress::complete_before_day.
struct ClosedDays {
  std::int64_t first_open_day = 0;  // every day before it is closed
  std::string why_open;             // what keeps first_open_day open, for the operator
};

// `held_since`: the earliest day of the counts this machine's counter file
// holds because the store could not take them (HeldCounts::earliest_day),
// if the export runs beside the node.
ClosedDays closed_days(const std::vector<MeterProgress>& nodes, UnixNanos now,
                       std::optional<std::int64_t> held_since = std::nullopt);

}  // namespace tollgate
