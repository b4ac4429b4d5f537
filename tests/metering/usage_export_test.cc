#include "metering/usage_export.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <filesystem>
#include <sstream>

#include "core/utc_date.h"
#include "store/sqlite_store.h"

#include "temp_dir.h"

namespace tollgate {
namespace {

const std::int64_t kDay = days_from_civil({2026, 3, 1});

class UsageExportTest : public ::testing::Test {
 protected:
  TempDir temp_;
  const std::filesystem::path dir = temp_.path();

  void SetUp() override {
    store = std::make_unique<SqliteStore>(dir / "t.db");
    auto tx = store->begin();
    tx->put(ApiKey{"k1", "value-one-0123456789ab", "one", "acme", "", true, 0, 0, {}});
    tx->put(ApiKey{"k2", "value-two-0123456789ab", "two", "", "", true, 0, 0, {}});
    tx->commit();
    store->add_usage({{"p", "k1", kDay, 5}, {"p", "k2", kDay, 3}, {"p", "k1", kDay + 1, 7}, {"q", "k1", kDay + 1, 1}});
  }
  std::vector<std::string> lines(ExportFormat format, const std::string& after = "", ExportResult* result = nullptr) {
    std::ostringstream out;
    const ExportResult r = export_usage(*store, {kDay, kDay + 1, format, after, "api_requests"}, out);
    if (result) *result = r;
    std::vector<std::string> v;
    std::istringstream in(out.str());
    for (std::string line; std::getline(in, line);) v.push_back(line);
    return v;
  }
  std::unique_ptr<SqliteStore> store;
};

TEST_F(UsageExportTest, CsvHasOneRecordPerKeyPlanDay) {
  const auto v = lines(ExportFormat::kCsv);
  ASSERT_EQ(v.size(), 5u);
  EXPECT_EQ(v[0], "id,day,plan_id,key_id,customer_id,requests");
  EXPECT_EQ(v[1], "2026-03-01/p/k1,2026-03-01,p,k1,acme,5");
  EXPECT_EQ(v[4], "2026-03-02/q/k1,2026-03-02,q,k1,acme,1");
}

TEST_F(UsageExportTest, EveryJsonFormatParsesWithItsRequiredFields) {
  for (const auto& [format, fields] : std::vector<std::pair<ExportFormat, std::vector<const char*>>>{
           {ExportFormat::kJsonl, {"id", "day", "planId", "keyId", "customerId", "requests"}},
           {ExportFormat::kCloudEvents, {"specversion", "type", "source", "id", "time", "subject", "data"}},
           {ExportFormat::kLago, {"transaction_id", "external_subscription_id", "code", "timestamp", "properties"}},
           {ExportFormat::kStripe, {"event_name", "payload", "identifier", "timestamp"}}}) {
    const auto v = lines(format);
    ASSERT_EQ(v.size(), 4u);
    for (const auto& line : v) {
      const boost::json::object o = boost::json::parse(line).as_object();
      for (const char* f : fields) EXPECT_TRUE(o.contains(f)) << f << " missing in " << line;
    }
  }
  const auto stripe = boost::json::parse(lines(ExportFormat::kStripe)[1]).as_object();
  EXPECT_EQ(stripe.at("payload").at("stripe_customer_id").as_string(), "k2");  // no customer id: the key
  EXPECT_EQ(stripe.at("payload").at("value").as_string(), "3");
}

TEST_F(UsageExportTest, IdsAreStableAcrossExports) {
  EXPECT_EQ(lines(ExportFormat::kCloudEvents), lines(ExportFormat::kCloudEvents));
}

TEST_F(UsageExportTest, CursorResumesWithoutDuplicates) {
  std::ostringstream first;
  ExportResult r = export_usage(*store, {kDay, kDay + 1, ExportFormat::kJsonl, "", "x"}, first);
  ASSERT_EQ(r.records, 4u);
  // Resume after the second record: exactly the last two follow.
  const auto all = lines(ExportFormat::kJsonl);
  const std::string second_id(boost::json::parse(all[1]).at("id").as_string());
  const auto rest = lines(ExportFormat::kJsonl, second_id, &r);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0], all[2]);
  EXPECT_EQ(rest[1], all[3]);
  EXPECT_TRUE(lines(ExportFormat::kJsonl, r.cursor).empty());
  EXPECT_THROW(lines(ExportFormat::kJsonl, "garbage"), std::invalid_argument);
}

TEST_F(UsageExportTest, ACursorNamingNoRecordIsRefused) {
  EXPECT_THROW(lines(ExportFormat::kJsonl, "2026-03-01/p/k9"), std::invalid_argument);
  EXPECT_THROW(lines(ExportFormat::kJsonl, "2026-02-01/p/k1"), std::invalid_argument);
}

}  // namespace
}  // namespace tollgate
