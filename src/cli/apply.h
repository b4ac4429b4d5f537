#pragma once

#include <string>
#include <vector>

#include "cli/declaration.h"
#include "store/key_hashing.h"
#include "store/store.h"

namespace tollgate {

struct ApplyReport {
  std::vector<std::string> lines;  // one per entity created or updated
  std::size_t changes = 0;
};

// Merges a declaration into the control state: entities are matched by id,
// else by name (keys also by value); resources keep their ids; a stage gets a
// new deployment only when its API's resources changed. What the file does
// not mention is left alone. Throws std::invalid_argument if the result would
// break a rule (validate.h).
ControlState merge_declaration(const ControlState& current, const Declaration& declared,
                               std::int64_t now_s);

// Loads, merges and writes in one transaction: `tollgate apply`. Running it
// twice changes nothing. A store that keeps keys hashed needs `hashing`.
ApplyReport apply_declaration(Store& store, const Declaration& declared, std::int64_t now_s,
                              const KeyHashing* hashing = nullptr);

}  // namespace tollgate
