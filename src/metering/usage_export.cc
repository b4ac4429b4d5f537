#include "metering/usage_export.h"

#include <boost/json.hpp>

#include <stdexcept>

#include "core/csv_cell.h"
#include "core/utc_date.h"

namespace tollgate {
namespace json = boost::json;

namespace {

// The cursor is the last record's "{day}/{plan}/{key}", the same as its id.
UsageRow parse_cursor(const std::string& cursor) {
  UsageRow row{-1, "", "", 0};
  if (cursor.empty()) return row;
  const std::size_t a = cursor.find('/');
  const std::size_t b = a == std::string::npos ? a : cursor.find('/', a + 1);
  const auto day = a == std::string::npos ? std::nullopt : parse_date(cursor.substr(0, a));
  if (!day || b == std::string::npos) throw std::invalid_argument("malformed cursor '" + cursor + "'");
  row.day = *day;
  row.plan_id = cursor.substr(a + 1, b - a - 1);
  row.key_id = cursor.substr(b + 1);
  return row;
}

}  // namespace

std::optional<ExportFormat> export_format_from(const std::string& name) {
  if (name == "csv") return ExportFormat::kCsv;
  if (name == "jsonl") return ExportFormat::kJsonl;
  if (name == "cloudevents") return ExportFormat::kCloudEvents;
  if (name == "lago") return ExportFormat::kLago;
  if (name == "stripe") return ExportFormat::kStripe;
  return std::nullopt;
}

ExportResult export_usage(Store& store, const ExportOptions& options, std::ostream& out) {
  const UsageRow after = parse_cursor(options.cursor);
  // A cursor that names nothing would silently export from wherever it
  // falls, and every run after it would resume from there.
  if (!options.cursor.empty() && !store.has_usage(after))
    throw std::invalid_argument("cursor '" + options.cursor +
                                "' names no usage record: not a record this store exported, or its day is past "
                                "the retention (--usage-retention-days)");
  std::map<std::string, std::string> customers;
  for (const auto& k : store.load_control_state().api_keys) customers[k.id] = k.customer_id;
  if (options.format == ExportFormat::kCsv) out << "id,day,plan_id,key_id,customer_id,requests\n";
  ExportResult result;
  store.scan_usage(options.first_day, options.last_day, after, [&](const UsageRow& row) {
    const std::string day = format_date(row.day);
    const std::string id = day + "/" + row.plan_id + "/" + row.key_id;
    const std::string& customer = customers[row.key_id];
    // The billed party: the key's customer when it has one, else the key.
    const std::string& subject = customer.empty() ? row.key_id : customer;
    const std::int64_t timestamp = row.day * 86400;
    switch (options.format) {
      case ExportFormat::kCsv:
        out << csv_cell(id) << ',' << day << ',' << csv_cell(row.plan_id) << ',' << csv_cell(row.key_id) << ','
            << csv_cell(customer) << ',' << row.used << '\n';
        break;
      case ExportFormat::kJsonl:
        out << json::serialize(json::object{{"id", id},
                                            {"day", day},
                                            {"planId", row.plan_id},
                                            {"keyId", row.key_id},
                                            {"customerId", customer},
                                            {"requests", row.used}})
            << '\n';
        break;
      case ExportFormat::kCloudEvents:  // OpenMeter ingests CloudEvents 1.0
        out << json::serialize(json::object{
                   {"specversion", "1.0"},
                   {"type", options.event_name},
                   {"source", "tollgate"},
                   {"id", id},
                   {"time", day + "T00:00:00Z"},
                   {"subject", subject},
                   {"datacontenttype", "application/json"},
                   {"data", json::object{{"requests", row.used},
                                         {"planId", row.plan_id},
                                         {"keyId", row.key_id},
                                         {"customerId", customer},
                                         {"day", day}}}})
            << '\n';
        break;
      case ExportFormat::kLago:
        out << json::serialize(json::object{
                   {"transaction_id", id},
                   {"external_subscription_id", subject},
                   {"code", options.event_name},
                   {"timestamp", timestamp},
                   {"properties", json::object{{"requests", row.used}, {"plan_id", row.plan_id}, {"key_id", row.key_id}}}})
            << '\n';
        break;
      case ExportFormat::kStripe:
        out << json::serialize(json::object{
                   {"event_name", options.event_name},
                   {"identifier", id},
                   {"timestamp", timestamp},
                   {"payload", json::object{{"stripe_customer_id", subject}, {"value", std::to_string(row.used)}}}})
            << '\n';
        break;
    }
    ++result.records;
    result.cursor = id;
    return static_cast<bool>(out);
  });
  return result;
}

}  // namespace tollgate
