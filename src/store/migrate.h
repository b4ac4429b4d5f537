#pragma once

#include <cstddef>

#include "store/store.h"

namespace tollgate {

struct MigrationReport {
  std::size_t entities = 0;     // APIs, deployments, stages, keys, plans, memberships
  std::size_t usage_rows = 0;   // (day, plan, key) counts
  std::size_t adjustments = 0;  // UpdateUsage ledger entries
};

// Copies the control state, the daily usage and the usage adjustments of
// `from` into `to`, which must hold no control state yet (std::invalid_argument
// otherwise). Counter-file slots are not copied: they are each node's own,
// and a node started on `to` numbers its slots afresh. Run it with every
// server stopped, so that all they counted is in `from`.
MigrationReport migrate_store(Store& from, Store& to);

}  // namespace tollgate
