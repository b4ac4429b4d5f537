#pragma once

#include <climits>
#include <cstdint>
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
  std::string cursor;                       // resume after this record ("" from the start)
  std::string event_name = "api_requests";  // Lago code / Stripe event name / CloudEvents type
  // Days from this one on are open (closed_days.h): left out, or with
  // `include_open` written as provisional records.
  std::int64_t first_open_day = INT64_MAX;
  bool include_open = false;
};

struct ExportResult {
  std::size_t records = 0;
  std::size_t provisional = 0;  // of them, open days' usage
  // The last final record written, or the cursor given if none was: pass
  // it back to resume. Never a record of an open day.
  std::string cursor;
  bool cursor_found =
      true;  // --events: false when the cursor given was never met, and nothing was written
};

// Writes the daily usage records of days [first_day, last_day] after the
// cursor, oldest first, in the chosen shape: one per key, plan and customer
// the key had when the requests were counted, and one per correction
// (UpdateUsage) after each day's usage. Ids (record_id.h) are stable
// across exports, so a billing system can deduplicate. Streams the usage
// from the store in constant memory. Throws std::invalid_argument for a
// malformed cursor, or one that names no record in the store.
ExportResult export_usage(Store& store, const ExportOptions& options, std::ostream& out);

}  // namespace tollgate
