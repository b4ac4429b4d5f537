#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>

#include "store/store.h"

namespace tollgate {

enum class ExportFormat { kCsv, kJsonl, kCloudEvents, kLago, kStripe };

std::optional<ExportFormat> export_format_from(const std::string& name);

struct ExportOptions {
  std::int64_t first_day = 0;
  std::int64_t last_day = 0;
  ExportFormat format = ExportFormat::kCsv;
  std::string cursor;  // resume after this record ("" from the start)
  std::string event_name = "api_requests";  // Lago code / Stripe event name / CloudEvents type suffix
};

struct ExportResult {
  std::size_t records = 0;
  std::string cursor;  // of the last record written; pass it back to resume
  bool cursor_found = true;  // false: the cursor given was never met, and nothing was written
};

// Writes one record per key per plan per day, oldest first, in the chosen
// shape. Record ids ("{plan}/{key}/{day}") are stable across exports, so a
// billing system can deduplicate; export closed days to bill final counts.
// Streams from the store in constant memory (besides the key → customer map).
// Throws std::invalid_argument for a malformed cursor, or one that names no
// record in the store.
ExportResult export_usage(Store& store, const ExportOptions& options, std::ostream& out);

}  // namespace tollgate
