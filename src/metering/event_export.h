#pragma once

#include <istream>
#include <map>
#include <ostream>
#include <string>

#include "metering/usage_export.h"

namespace tollgate {

// Writes one record per billable request — admitted through a usage plan —
// read from an access log, with the request id as its idempotency id, in the
// chosen shape. Reads line by line (constant memory). `options.cursor` is a
// request id: records up to and including it are skipped. `customers` maps
// key ids to customer ids.
ExportResult export_events(std::istream& access_log, const std::map<std::string, std::string>& customers,
                           const ExportOptions& options, std::ostream& out);

}  // namespace tollgate
