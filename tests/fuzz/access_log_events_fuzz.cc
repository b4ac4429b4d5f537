// Fuzzes `usage export --events` over an access log: the input is the log
// (lines a crash tore, or any file named with --access-log). Every shape is
// written; whatever the lines hold, each record written is one line of
// JSON (or CSV), and nothing crashes.
#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "metering/event_export.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string log(reinterpret_cast<const char*>(data), size);
  for (const tollgate::ExportFormat format :
       {tollgate::ExportFormat::kCsv, tollgate::ExportFormat::kJsonl,
        tollgate::ExportFormat::kCloudEvents, tollgate::ExportFormat::kLago,
        tollgate::ExportFormat::kStripe}) {
    std::istringstream in(log);
    std::ostringstream out;
    const tollgate::ExportResult r =
        tollgate::export_events({&in}, {0, 1 << 20, format, "", "api_requests"}, out);
    std::istringstream lines(out.str());
    std::size_t records = 0;
    for (std::string line; std::getline(lines, line); ++records) {
      if (format == tollgate::ExportFormat::kCsv) continue;
      boost::system::error_code ec;
      boost::json::parse(line, ec);
      if (ec) std::abort();
    }
    if (records != r.records + (format == tollgate::ExportFormat::kCsv ? 1 : 0)) std::abort();
  }
  return 0;
}
