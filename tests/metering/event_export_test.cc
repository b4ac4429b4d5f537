#include "metering/event_export.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <sstream>

#include "core/utc_date.h"

namespace tollgate {
namespace {

const std::int64_t kDay = days_from_civil({2026, 11, 21});

std::string line(const std::string& id, const std::string& outcome, const std::string& key,
                 const std::string& plan, const std::string& time = "2026-11-21T05:44:10.116Z") {
  return R"({"requestId":")" + id + R"(","time":")" + time +
         R"(","api":"a","stage":"prod","resource":"/pets","method":"GET","path":"/x","status":200,"keyId":")" +
         key + R"(","customerId":")" + (key == "k1" ? "acme" : "") + R"(","plan":")" + plan +
         R"(","outcome":")" + outcome + "\"}\n";
}

std::vector<std::string> run(const std::string& log, ExportFormat format,
                             const std::string& after = "") {
  std::istringstream in(log);
  std::ostringstream out;
  export_events({&in}, {kDay, kDay, format, after, "api_requests"}, out);
  std::vector<std::string> v;
  std::istringstream lines(out.str());
  for (std::string l; std::getline(lines, l);) v.push_back(l);
  return v;
}

const std::string kLog = line("r1", "allowed", "k1", "p") + line("r2", "throttled", "k1", "p") +
                         line("r3", "allowed", "", "") + line("r4", "upstream_error", "k2", "p") +
                         line("r5", "allowed", "k1", "p", "2026-11-20T23:59:59.999Z") +
                         line("r6", "allowed", "k1", "p") +
                         "{\"requestId\":\"r7\",\"tim";  // torn by a crash

TEST(EventExport, OnlyBillableRequestsOfTheRange) {
  const auto v = run(kLog, ExportFormat::kJsonl);
  ASSERT_EQ(v.size(), 3u);
  std::vector<std::string> ids;
  for (const auto& l : v) ids.emplace_back(boost::json::parse(l).at("id").as_string());
  EXPECT_EQ(ids, (std::vector<std::string>{"r1", "r4", "r6"}));
}

TEST(EventExport, ShapesCarryTheRequestIdAsIdempotencyKey) {
  const auto ce = boost::json::parse(run(kLog, ExportFormat::kCloudEvents)[0]).as_object();
  EXPECT_EQ(ce.at("id").as_string(), "r1");
  EXPECT_EQ(ce.at("subject").as_string(), "acme");
  EXPECT_EQ(ce.at("specversion").as_string(), "1.0");
  const auto lago = boost::json::parse(run(kLog, ExportFormat::kLago)[1]).as_object();
  EXPECT_EQ(lago.at("transaction_id").as_string(), "r4");
  EXPECT_EQ(lago.at("external_subscription_id").as_string(), "k2");
  const auto stripe = boost::json::parse(run(kLog, ExportFormat::kStripe)[0]).as_object();
  EXPECT_EQ(stripe.at("identifier").as_string(), "r1");
  EXPECT_EQ(stripe.at("payload").at("value").as_string(), "1");
  EXPECT_EQ(run(kLog, ExportFormat::kCsv).size(), 4u);  // header + 3
}

TEST(EventExport, ARequestIsDatedWhenItWasAdmittedNotWhenItWasAnswered) {
  std::string late = line("r1", "allowed", "k1", "p", "2026-11-22T00:00:00.020Z");
  late.insert(late.find(",\"api\""), R"(,"admittedAt":"2026-11-21T23:59:59.990Z")");
  const auto v = run(late, ExportFormat::kJsonl);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(boost::json::parse(v[0]).at("time").as_string(), "2026-11-21T23:59:59.990Z");
}

TEST(EventExport, CursorResumesAfterTheLastId) {
  const auto rest = run(kLog, ExportFormat::kJsonl, "r4");
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(boost::json::parse(rest[0]).at("id").as_string(), "r6");
}

TEST(EventExport, ACursorInARotatedLogResumesInTheNextOne) {
  std::istringstream rotated(line("r1", "allowed", "k1", "p") + line("r2", "allowed", "k1", "p"));
  std::istringstream current(line("r3", "allowed", "k1", "p"));
  std::ostringstream out;
  const ExportResult r =
      export_events({&rotated, &current}, {kDay, kDay, ExportFormat::kJsonl, "r1", "x"}, out);
  EXPECT_TRUE(r.cursor_found);
  EXPECT_EQ(r.records, 2u);
  EXPECT_EQ(r.cursor, "r3");
}

TEST(EventExport, ACursorNeverMetWritesNothingAndSaysSo) {
  std::istringstream in(kLog);
  std::ostringstream out;
  const ExportResult r =
      export_events({&in}, {kDay, kDay, ExportFormat::kJsonl, "r-gone", "x"}, out);
  EXPECT_FALSE(r.cursor_found);
  EXPECT_EQ(r.records, 0u);
  EXPECT_EQ(out.str(), "");
}

}  // namespace
}  // namespace tollgate
