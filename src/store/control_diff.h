#pragma once

#include <string>
#include <vector>

#include "store/store.h"

namespace tollgate {

struct DiffReport {
  std::vector<std::string> lines;  // "created/updated/deleted <entity>"
  std::size_t changes = 0;
};

// Writes into `tx` what turns `before` into `after`: puts for new or changed
// entities, erasures for vanished ones. Does not commit.
DiffReport write_diff(ControlTransaction& tx, const ControlState& before,
                      const ControlState& after);

}  // namespace tollgate
