#include "metering/event_export.h"

#include <boost/json.hpp>

#include <cstdio>

#include "core/csv_cell.h"
#include "core/utc_date.h"

namespace tollgate {
namespace json = boost::json;

namespace {

std::string field(const json::object& o, std::string_view name) {
  auto it = o.find(name);
  return it != o.end() && it->value().is_string() ? std::string(it->value().get_string())
                                                  : std::string();
}

// "2026-11-21T05:44:10.116Z" → milliseconds since the epoch, or -1.
std::int64_t epoch_ms(const std::string& time) {
  const auto day = parse_date(time.substr(0, std::min<std::size_t>(10, time.size())));
  if (!day || time.size() < 23) return -1;
  int h = 0, m = 0, s = 0, ms = 0;
  if (std::sscanf(time.c_str() + 11, "%2d:%2d:%2d.%3d", &h, &m, &s, &ms) != 4) return -1;
  return ((*day * 86400 + h * 3600 + m * 60 + s) * 1000) + ms;
}

// Writes the record of one access log line, if it is of a billable request
// in the range; false if it is not.
bool write_event(const json::object& o, const std::string& id, const ExportOptions& options,
                 std::ostream& out) {
  const std::string outcome = field(o, "outcome");
  const std::string key = field(o, "keyId");
  const std::string plan = field(o, "plan");
  // Billable: admitted by a usage plan, which is what the daily usage counts.
  if (key.empty() || plan.empty() || (outcome != "allowed" && outcome != "upstream_error"))
    return false;
  // Dated, as the daily usage is, by the instant the gate admitted it (a
  // line from before that was logged has only the time it was answered).
  std::string time = field(o, "admittedAt");
  if (time.empty()) time = field(o, "time");
  const std::int64_t ms = epoch_ms(time);
  const std::int64_t day = ms < 0 ? -1 : ms / 86'400'000;
  if (day < options.first_day || day > options.last_day) return false;
  const std::string customer = field(o, "customerId");
  const std::string& subject = customer.empty() ? key : customer;
  const std::int64_t status =
      o.contains("status") && o.at("status").is_int64() ? o.at("status").get_int64() : 0;
  const json::object details{{"planId", plan},
                             {"keyId", key},
                             {"customerId", customer},
                             {"api", field(o, "api")},
                             {"stage", field(o, "stage")},
                             {"resource", field(o, "resource")},
                             {"method", field(o, "method")},
                             {"status", status}};
  switch (options.format) {
    case ExportFormat::kCsv:
      out << csv_cell(id) << ',' << time << ',' << csv_cell(plan) << ',' << csv_cell(key) << ','
          << csv_cell(customer) << ',' << csv_cell(field(o, "api")) << ','
          << csv_cell(field(o, "stage")) << ',' << csv_cell(field(o, "resource")) << ','
          << csv_cell(field(o, "method")) << ',' << status << '\n';
      break;
    case ExportFormat::kJsonl: {
      json::object r = details;
      r["id"] = id;
      r["time"] = time;
      out << json::serialize(r) << '\n';
      break;
    }
    case ExportFormat::kCloudEvents:
      out << json::serialize(json::object{{"specversion", "1.0"},
                                          {"type", options.event_name},
                                          {"source", "tollgate"},
                                          {"id", id},
                                          {"time", time},
                                          {"subject", subject},
                                          {"datacontenttype", "application/json"},
                                          {"data", details}})
          << '\n';
      break;
    case ExportFormat::kLago:
      out << json::serialize(json::object{{"transaction_id", id},
                                          {"external_subscription_id", subject},
                                          {"code", options.event_name},
                                          {"timestamp", static_cast<double>(ms) / 1000.0},
                                          {"properties", details}})
          << '\n';
      break;
    case ExportFormat::kStripe:
      out << json::serialize(json::object{
                 {"event_name", options.event_name},
                 {"identifier", id},
                 {"timestamp", ms / 1000},
                 {"payload", json::object{{"stripe_customer_id", subject}, {"value", "1"}}}})
          << '\n';
      break;
  }
  return true;
}

}  // namespace

ExportResult export_events(const std::vector<std::istream*>& access_logs,
                           const ExportOptions& options, std::ostream& out) {
  ExportResult result;
  bool skipping = !options.cursor.empty();
  if (options.format == ExportFormat::kCsv)
    out << "id,time,plan_id,key_id,customer_id,api,stage,resource,method,status\n";
  for (std::istream* access_log : access_logs) {
    for (std::string line; out && std::getline(*access_log, line);) {
      boost::system::error_code ec;
      const json::value v = json::parse(line, ec);
      if (ec || !v.is_object()) continue;  // a torn last line after a crash
      const json::object& o = v.get_object();
      const std::string id = field(o, "requestId");
      if (skipping) {
        skipping = id != options.cursor;
        continue;
      }
      if (!write_event(o, id, options, out)) continue;
      ++result.records;
      result.cursor = id;
    }
  }
  result.cursor_found = !skipping;
  return result;
}

}  // namespace tollgate
