#include "metering/usage_export.h"

#include <boost/json.hpp>

#include <stdexcept>

#include "core/csv_cell.h"
#include "core/utc_date.h"
#include "metering/record_id.h"

namespace tollgate {
namespace json = boost::json;

namespace {

constexpr std::int64_t kSecondsPerDay = 86400;

// Writes records in one shape. Usage is what is billed; an adjustment is
// written under its own event name (`<name>_adjustment`, for CloudEvents
// `<name>.adjustment`), so that a meter of requests never adds it in.
class RecordWriter {
 public:
  RecordWriter(const ExportOptions& options, std::ostream& out) : options_(options), out_(out) {
    if (options.format == ExportFormat::kCsv)
      out_ << "id,kind,day,plan_id,key_id,customer_id,requests,final\n";
  }

  void usage(const UsageRow& row, const std::string& id, bool final) {
    const std::string day = format_date(row.day);
    const std::string& subject = row.customer_id.empty() ? row.key_id : row.customer_id;
    const std::int64_t timestamp = row.day * kSecondsPerDay;
    switch (options_.format) {
      case ExportFormat::kCsv:
        csv(id, "usage", day, row.plan_id, row.key_id, row.customer_id, row.used, final);
        break;
      case ExportFormat::kJsonl:
        line(json::object{{"id", id},
                          {"kind", "usage"},
                          {"day", day},
                          {"planId", row.plan_id},
                          {"keyId", row.key_id},
                          {"customerId", row.customer_id},
                          {"requests", row.used},
                          {"final", final}});
        break;
      case ExportFormat::kCloudEvents:  // OpenMeter ingests CloudEvents 1.0
        line(json::object{{"specversion", "1.0"},
                          {"type", options_.event_name},
                          {"source", "tollgate"},
                          {"id", id},
                          {"time", day + "T00:00:00Z"},
                          {"subject", subject},
                          {"datacontenttype", "application/json"},
                          {"data", json::object{{"requests", row.used},
                                                {"planId", row.plan_id},
                                                {"keyId", row.key_id},
                                                {"customerId", row.customer_id},
                                                {"day", day},
                                                {"final", final}}}});
        break;
      case ExportFormat::kLago:
        line(json::object{{"transaction_id", id},
                          {"external_subscription_id", subject},
                          {"code", options_.event_name},
                          {"timestamp", timestamp},
                          {"properties", json::object{{"requests", row.used},
                                                      {"plan_id", row.plan_id},
                                                      {"key_id", row.key_id},
                                                      {"final", final}}}});
        break;
      case ExportFormat::kStripe:
        line(json::object{{"event_name", options_.event_name},
                          {"identifier", id},
                          {"timestamp", timestamp},
                          {"payload", json::object{{"stripe_customer_id", subject},
                                                   {"value", std::to_string(row.used)}}}});
        break;
    }
  }

  // `change`: what the adjustment added to the quota used (negative: requests granted).
  void adjustment(const UsageAdjustment& a, const std::string& id) {
    const std::string day = format_date(a.day);
    const std::string& subject = a.customer_id.empty() ? a.key_id : a.customer_id;
    const json::object details{
        {"quotaUsedChange", a.delta},  {"planId", a.plan_id},           {"keyId", a.key_id},
        {"customerId", a.customer_id}, {"period", to_string(a.period)}, {"actor", a.actor},
        {"madeAt", a.created_at}};
    switch (options_.format) {
      case ExportFormat::kCsv:
        csv(id, "adjustment", day, a.plan_id, a.key_id, a.customer_id, a.delta, true);
        break;
      case ExportFormat::kJsonl: {
        json::object r = details;
        r["id"] = id;
        r["kind"] = "adjustment";
        r["day"] = day;
        r["final"] = true;
        line(r);
        break;
      }
      case ExportFormat::kCloudEvents:
        line(json::object{{"specversion", "1.0"},
                          {"type", options_.event_name + ".adjustment"},
                          {"source", "tollgate"},
                          {"id", id},
                          {"time", day + "T00:00:00Z"},
                          {"subject", subject},
                          {"datacontenttype", "application/json"},
                          {"data", details}});
        break;
      case ExportFormat::kLago:
        line(json::object{{"transaction_id", id},
                          {"external_subscription_id", subject},
                          {"code", options_.event_name + "_adjustment"},
                          {"timestamp", a.created_at},
                          {"properties", details}});
        break;
      case ExportFormat::kStripe:
        line(json::object{{"event_name", options_.event_name + "_adjustment"},
                          {"identifier", id},
                          {"timestamp", a.created_at},
                          {"payload", json::object{{"stripe_customer_id", subject},
                                                   {"value", std::to_string(a.delta)}}}});
        break;
    }
  }

 private:
  void csv(const std::string& id, const char* kind, const std::string& day,
           const std::string& plan_id, const std::string& key_id, const std::string& customer_id,
           std::int64_t n, bool final) {
    out_ << csv_cell(id) << ',' << kind << ',' << day << ',' << csv_cell(plan_id) << ','
         << csv_cell(key_id) << ',' << csv_cell(customer_id) << ',' << n << ','
         << (final ? "true" : "false") << '\n';
  }
  void line(const json::object& o) { out_ << json::serialize(o) << '\n'; }

  const ExportOptions& options_;
  std::ostream& out_;
};

// Whether the store holds the record a cursor names.
bool exists(Store& store, const RecordPosition& at) {
  if (at.whole_key) return !store.usage_days(at.plan_id, at.key_id, at.day, at.day).empty();
  if (at.kind == RecordPosition::Kind::kUsage)
    return store.has_usage({at.day, at.plan_id, at.key_id, 0, at.customer_id});
  for (const UsageAdjustment& a : store.adjustments_between(at.day, at.day))
    if (a.id == at.adjustment_id) return true;
  return false;
}

RecordPosition position_of(const UsageAdjustment& a) {
  return {a.day, RecordPosition::Kind::kAdjustment, a.plan_id, a.key_id, a.customer_id, a.id};
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
  const bool resuming = !options.cursor.empty();
  const RecordPosition after = resuming ? parse_record_id(options.cursor) : RecordPosition{};
  // A cursor that names nothing would silently export from wherever it
  // falls, and every run after it would resume from there.
  if (resuming && !exists(store, after))
    throw std::invalid_argument(
        "cursor '" + options.cursor +
        "' names no usage record: not a record this store exported, or its day is past "
        "the retention (--usage-retention-days)");
  ExportResult result;
  result.cursor = options.cursor;
  const std::int64_t first = std::max(options.first_day, after.day);
  const std::int64_t last = options.include_open
                                ? options.last_day
                                : std::min(options.last_day, options.first_open_day - 1);
  RecordWriter writer(options, out);
  if (first > last) return result;

  // Corrections are few: all of the range at once, then each written after
  // the usage of its day.
  const std::vector<UsageAdjustment> adjustments = store.adjustments_between(first, last);
  // Those the cursor comes after: a usage cursor comes after its day's
  // usage only, an adjustment's after its day's adjustments up to it.
  const auto written_before = [&](const UsageAdjustment& a) {
    if (!resuming || a.day > after.day) return false;
    if (a.day < after.day) return true;
    return after.kind == RecordPosition::Kind::kAdjustment && a.id <= after.adjustment_id;
  };
  std::size_t next = 0;
  while (next < adjustments.size() && written_before(adjustments[next])) ++next;
  const auto write_adjustments_before = [&](std::int64_t day) {
    for (; next < adjustments.size() && adjustments[next].day < day && out; ++next) {
      const std::string id = record_id(position_of(adjustments[next]));
      writer.adjustment(adjustments[next], id);
      ++result.records;
      // Facts once made, but an open day's are written again with it.
      if (adjustments[next].day < options.first_open_day) result.cursor = id;
    }
  };

  // After an adjustment's cursor, its day's usage was all written before it.
  const bool after_usage = resuming && after.kind == RecordPosition::Kind::kUsage;
  const std::int64_t scan_first = resuming && !after_usage ? std::max(first, after.day + 1) : first;
  const UsageRow scan_after =
      after_usage ? UsageRow{after.day, after.plan_id, after.key_id, 0, after.customer_id}
                  : UsageRow{-1, "", "", 0, ""};
  store.scan_usage(scan_first, last, scan_after, [&](const UsageRow& row) {
    write_adjustments_before(row.day);
    const RecordPosition at{
        row.day, RecordPosition::Kind::kUsage, row.plan_id, row.key_id, row.customer_id, 0};
    if (row.day < options.first_open_day) {
      result.cursor = record_id(at);
      writer.usage(row, result.cursor, true);
    } else {
      writer.usage(row, provisional_record_id(at, row.used), false);
      ++result.provisional;
    }
    ++result.records;
    return static_cast<bool>(out);
  });
  write_adjustments_before(last + 1);
  return result;
}

}  // namespace tollgate
