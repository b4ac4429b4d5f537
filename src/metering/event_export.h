#pragma once

#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "metering/usage_export.h"

namespace tollgate {

// Writes one record per billable request — admitted through a usage plan —
// read from access logs (oldest first: a rotated log, then the current one),
// with the request id as its idempotency id, in the chosen shape. Reads
// line by line (constant memory). `options.cursor` is a request id: records
// up to and including it are skipped, and none is written if it is never
// met (the result says so). Each request is dated by the instant it was
// admitted and billed to the customer its key had then, as its line says.
ExportResult export_events(const std::vector<std::istream*>& access_logs,
                           const ExportOptions& options, std::ostream& out);

}  // namespace tollgate
