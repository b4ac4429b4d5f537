#include "metering/usage_export.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <filesystem>
#include <sstream>

#include "core/utc_date.h"
#include "metering/record_id.h"
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
    store->add_usage({{"p", "k1", kDay, 5, "acme"},
                      {"p", "k2", kDay, 3},
                      {"p", "k1", kDay + 1, 7, "acme"},
                      {"q", "k1", kDay + 1, 1, "acme"}});
  }
  std::vector<std::string> lines(ExportOptions options, ExportResult* result = nullptr) {
    std::ostringstream out;
    const ExportResult r = export_usage(*store, options, out);
    if (result) *result = r;
    std::vector<std::string> v;
    std::istringstream in(out.str());
    for (std::string line; std::getline(in, line);) v.push_back(line);
    return v;
  }
  std::vector<std::string> lines(ExportFormat format, const std::string& after = "",
                                 ExportResult* result = nullptr) {
    return lines({kDay, kDay + 1, format, after, "api_requests"}, result);
  }
  static std::vector<std::string> ids(const std::vector<std::string>& jsonl) {
    std::vector<std::string> out;
    for (const auto& line : jsonl) out.emplace_back(boost::json::parse(line).at("id").as_string());
    return out;
  }
  std::unique_ptr<SqliteStore> store;
};

TEST_F(UsageExportTest, CsvHasOneRecordPerKeyPlanCustomerAndDay) {
  const auto v = lines(ExportFormat::kCsv);
  ASSERT_EQ(v.size(), 5u);
  EXPECT_EQ(v[0], "id,kind,day,plan_id,key_id,customer_id,requests,final");
  EXPECT_EQ(v[1], "2026-03-01/p/k1/acme,usage,2026-03-01,p,k1,acme,5,true");
  EXPECT_EQ(v[2], "2026-03-01/p/k2/,usage,2026-03-01,p,k2,,3,true");
  EXPECT_EQ(v[4], "2026-03-02/q/k1/acme,usage,2026-03-02,q,k1,acme,1,true");
}

TEST_F(UsageExportTest, EveryJsonFormatParsesWithItsRequiredFields) {
  for (const auto& [format, fields] :
       std::vector<std::pair<ExportFormat, std::vector<const char*>>>{
           {ExportFormat::kJsonl,
            {"id", "kind", "day", "planId", "keyId", "customerId", "requests", "final"}},
           {ExportFormat::kCloudEvents,
            {"specversion", "type", "source", "id", "time", "subject", "data"}},
           {ExportFormat::kLago,
            {"transaction_id", "external_subscription_id", "code", "timestamp", "properties"}},
           {ExportFormat::kStripe, {"event_name", "payload", "identifier", "timestamp"}}}) {
    const auto v = lines(format);
    ASSERT_EQ(v.size(), 4u);
    for (const auto& line : v) {
      const boost::json::object o = boost::json::parse(line).as_object();
      for (const char* f : fields) EXPECT_TRUE(o.contains(f)) << f << " missing in " << line;
    }
  }
  const auto stripe = boost::json::parse(lines(ExportFormat::kStripe)[1]).as_object();
  EXPECT_EQ(stripe.at("payload").at("stripe_customer_id").as_string(),
            "k2");  // no customer id: the key
  EXPECT_EQ(stripe.at("payload").at("value").as_string(), "3");
}

TEST_F(UsageExportTest, IdsAreStableAcrossExports) {
  EXPECT_EQ(lines(ExportFormat::kCloudEvents), lines(ExportFormat::kCloudEvents));
}

TEST_F(UsageExportTest, UsageStaysWithTheCustomerItWasCountedForWhateverTheKeyBecomes) {
  store->add_usage({{"p", "k1", kDay + 1, 2, "globex"}});  // k1 moved to another customer that day
  {
    auto tx = store->begin();
    tx->erase_api_key("k1");  // then left
    tx->commit();
  }
  const auto v = lines(ExportFormat::kCsv);
  ASSERT_EQ(v.size(), 6u);
  EXPECT_EQ(v[1], "2026-03-01/p/k1/acme,usage,2026-03-01,p,k1,acme,5,true");
  EXPECT_EQ(v[3], "2026-03-02/p/k1/acme,usage,2026-03-02,p,k1,acme,7,true");
  EXPECT_EQ(v[4], "2026-03-02/p/k1/globex,usage,2026-03-02,p,k1,globex,2,true");
}

TEST_F(UsageExportTest, CursorResumesWithoutDuplicates) {
  ExportResult r;
  const auto all = lines(ExportFormat::kJsonl, "", &r);
  ASSERT_EQ(r.records, 4u);
  EXPECT_EQ(r.cursor, ids(all).back());
  // Resume after the second record: exactly the last two follow.
  const auto rest = lines(ExportFormat::kJsonl, ids(all)[1], &r);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0], all[2]);
  EXPECT_EQ(rest[1], all[3]);
  EXPECT_TRUE(lines(ExportFormat::kJsonl, r.cursor, &r).empty());
  EXPECT_EQ(r.cursor, ids(all).back());  // nothing new: the cursor given stands
  EXPECT_THROW(lines(ExportFormat::kJsonl, "garbage"), std::invalid_argument);
}

TEST_F(UsageExportTest, ACursorFromBeforeIdsNamedTheCustomerResumesAfterItsKey) {
  store->add_usage({{"p", "k1", kDay, 2, "globex"}});
  EXPECT_EQ(ids(lines(ExportFormat::kJsonl, "2026-03-01/p/k1")).front(), "2026-03-01/p/k2/");
  EXPECT_THROW(lines(ExportFormat::kJsonl, "2026-03-01/p/k9"), std::invalid_argument);
}

TEST_F(UsageExportTest, ACursorNamingNoRecordIsRefused) {
  EXPECT_THROW(lines(ExportFormat::kJsonl, "2026-03-01/p/k9/"), std::invalid_argument);
  EXPECT_THROW(lines(ExportFormat::kJsonl, "2026-03-01/p/k1/globex"), std::invalid_argument);
  EXPECT_THROW(lines(ExportFormat::kJsonl, "2026-02-01/p/k1/acme"), std::invalid_argument);
  EXPECT_THROW(lines(ExportFormat::kJsonl, "2026-03-01/p/k1/acme/adjustment-99"),
               std::invalid_argument);
}

TEST_F(UsageExportTest, OpenDaysAreLeftOutAndTheCursorStopsBeforeThem) {
  ExportOptions options{kDay, kDay + 1, ExportFormat::kJsonl, "", "x"};
  options.first_open_day = kDay + 1;
  ExportResult r;
  const auto v = lines(options, &r);
  EXPECT_EQ(ids(v), (std::vector<std::string>{"2026-03-01/p/k1/acme", "2026-03-01/p/k2/"}));
  EXPECT_EQ(r.cursor, "2026-03-01/p/k2/");
  // Once the day closes, the next run writes it whole.
  options.cursor = r.cursor;
  options.first_open_day = kDay + 2;
  EXPECT_EQ(ids(lines(options, &r)),
            (std::vector<std::string>{"2026-03-02/p/k1/acme", "2026-03-02/q/k1/acme"}));
}

TEST_F(UsageExportTest, OpenDaysAskedForAreProvisionalUnderIdsNoFinalRecordHas) {
  ExportOptions options{kDay, kDay + 1, ExportFormat::kJsonl, "", "x"};
  options.first_open_day = kDay + 1;
  options.include_open = true;
  ExportResult r;
  const auto v = lines(options, &r);
  ASSERT_EQ(v.size(), 4u);
  const boost::json::object open = boost::json::parse(v[2]).as_object();
  EXPECT_EQ(open.at("id").as_string(), "2026-03-02/p/k1/acme/open-7");
  EXPECT_EQ(open.at("final").as_bool(), false);
  EXPECT_EQ(r.provisional, 2u);
  EXPECT_EQ(r.cursor, "2026-03-01/p/k2/");  // never into an open day
  EXPECT_THROW(lines(ExportFormat::kJsonl, "2026-03-02/p/k1/acme/open-7"), std::invalid_argument);
  // The final record, once the day closes, is a record of its own.
  options.first_open_day = kDay + 2;
  options.include_open = false;
  options.cursor = r.cursor;
  EXPECT_EQ(ids(lines(options)).front(), "2026-03-02/p/k1/acme");
}

TEST_F(UsageExportTest, CorrectionsAreRecordsOfTheirOwnAfterTheirDaysUsage) {
  store->add_adjustment({"p", "k1", kDay, -50, 1000, "AKID", QuotaPeriod::kDay, "acme"});
  store->add_adjustment({"p", "k2", kDay, 20, 1001, "AKID", QuotaPeriod::kDay, ""});
  const auto v = lines(ExportFormat::kJsonl);
  const std::vector<std::string> got = ids(v);
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(got[2], "2026-03-01/p/k1/acme/adjustment-1");
  EXPECT_EQ(got[3], "2026-03-01/p/k2//adjustment-2");
  const boost::json::object correction = boost::json::parse(v[2]).as_object();
  EXPECT_EQ(correction.at("kind").as_string(), "adjustment");
  EXPECT_EQ(correction.at("quotaUsedChange").as_int64(), -50);
  EXPECT_EQ(correction.at("period").as_string(), "DAY");
  // Resumed after a correction: the rest of the day's corrections, then the next day.
  EXPECT_EQ(ids(lines(ExportFormat::kJsonl, got[2])),
            (std::vector<std::string>{got[3], got[4], got[5]}));
  // In the billing shapes a correction has an event name of its own.
  const auto lago = boost::json::parse(lines(ExportFormat::kLago)[2]).as_object();
  EXPECT_EQ(lago.at("code").as_string(), "api_requests_adjustment");
  const auto cloud = boost::json::parse(lines(ExportFormat::kCloudEvents)[2]).as_object();
  EXPECT_EQ(cloud.at("type").as_string(), "api_requests.adjustment");
}

TEST(RecordId, PartsWithSlashesSpacesOrAnythingElseComeBackWhole) {
  const RecordPosition at{kDay, RecordPosition::Kind::kUsage, "plan/1", "key 2", "Ünïcode %/ co",
                          0};
  const std::string id = record_id(at);
  EXPECT_EQ(id.find(' '), std::string::npos);
  const RecordPosition back = parse_record_id(id);
  EXPECT_EQ(back.day, kDay);
  EXPECT_EQ(back.plan_id, "plan/1");
  EXPECT_EQ(back.key_id, "key 2");
  EXPECT_EQ(back.customer_id, "Ünïcode %/ co");
  EXPECT_EQ(back.kind, RecordPosition::Kind::kUsage);
  const RecordPosition correction{kDay, RecordPosition::Kind::kAdjustment, "p", "k", "", 42};
  EXPECT_EQ(parse_record_id(record_id(correction)).adjustment_id, 42);
  EXPECT_NE(provisional_record_id(at, 5), id);
  EXPECT_THROW(parse_record_id(provisional_record_id(at, 5)), std::invalid_argument);
  EXPECT_THROW(parse_record_id("2026-03-01/p"), std::invalid_argument);
  EXPECT_THROW(parse_record_id("2026-03-01/p/k/c/adjustment-x"), std::invalid_argument);
  EXPECT_THROW(parse_record_id("2026-03-01/p/k/c%zz"), std::invalid_argument);
}

}  // namespace
}  // namespace tollgate
