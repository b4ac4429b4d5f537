#include "store/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "temp_dir.h"

namespace tollgate {
namespace {

class SqliteStoreTest : public ::testing::Test {
 protected:
  TempDir temp_;
  const std::filesystem::path dir = temp_.path();
};

TEST_F(SqliteStoreTest, RoundTripsControlStateAndBumpsTheVersion) {
  SqliteStore store(dir / "t.db");
  EXPECT_EQ(store.control_version(), 0u);
  UsagePlan plan;
  plan.id = "p1";
  plan.name = "gold";
  plan.throttle = Throttle{2.5, 7};
  plan.quota = Quota{100, 3, QuotaPeriod::kWeek};
  plan.api_stages.push_back({"a1", "prod", {{"/pets/GET", Throttle{1.0, 1}}}});
  ApiKey key{"k1", "value-0123456789abcdef", "alice", "c1", "d", true, 10, 11, {{"t", "v"}}};
  {
    auto tx = store.begin();
    tx->put(plan);
    tx->put(key);
    tx->put(UsagePlanKey{"p1", "k1", 12});
    tx->commit();
  }
  EXPECT_EQ(store.control_version(), 1u);
  const ControlState s = store.load_control_state();
  ASSERT_EQ(s.usage_plans.size(), 1u);
  EXPECT_EQ(s.usage_plans[0], plan);
  ASSERT_EQ(s.api_keys.size(), 1u);
  EXPECT_EQ(s.api_keys[0], key);
  ASSERT_EQ(s.usage_plan_keys.size(), 1u);
  EXPECT_EQ(s.usage_plan_keys[0].created_date, 12);
}

TEST_F(SqliteStoreTest, KeysAndMembershipsLoadInIdOrderWhateverTheOrderWritten) {
  SqliteStore store(dir / "t.db");
  const std::vector<std::string> ids = {"prefix-long-b", "zz", "prefix-long-a",
                                        "prefix-l",      "a",  "prefix-long-a2"};
  {
    auto tx = store.begin();
    for (const std::string& id : ids) {
      tx->put(ApiKey{id, "value-" + id + "-0123456789", id, "", "", true, 0, 0, {}});
      tx->put(UsagePlanKey{id == "zz" ? "p0" : "p1", id, 0});
    }
    tx->commit();
  }
  const ControlState s = store.load_control_state();
  std::vector<std::string> loaded;
  for (const ApiKey& k : s.api_keys) loaded.push_back(k.id);
  EXPECT_EQ(loaded, (std::vector<std::string>{"a", "prefix-l", "prefix-long-a", "prefix-long-a2",
                                              "prefix-long-b", "zz"}));
  std::vector<std::string> members;
  for (const UsagePlanKey& m : s.usage_plan_keys) members.push_back(m.plan_id + "/" + m.key_id);
  EXPECT_EQ(members, (std::vector<std::string>{"p0/zz", "p1/a", "p1/prefix-l", "p1/prefix-long-a",
                                               "p1/prefix-long-a2", "p1/prefix-long-b"}));
}

TEST_F(SqliteStoreTest, ServingStateCarriesWhatTheDataPlaneNeedsOfKeys) {
  SqliteStore store(dir / "t.db");
  {
    auto tx = store.begin();
    tx->put(ApiKey{"k1", "value-0123456789abcdef", "alice", "c1", "d", true, 10, 11, {{"t", "v"}}});
    tx->put(ApiKey{"k2", "value-fedcba9876543210", "bob", "c2", "", true, 10, 11, {}});
    tx->put(UsagePlan{"p1", "gold", "", {}, std::nullopt, std::nullopt, "", {}});
    tx->put(UsagePlanKey{"p1", "k2", 12});
    tx->commit();
  }
  {
    // An update after the first write reaches the serving index too.
    auto tx = store.begin();
    tx->put(ApiKey{"k1", "value-0123456789abcdef", "alice", "c1", "d", false, 10, 12, {}});
    tx->commit();
  }
  ControlState s = store.load_serving_state();
  ASSERT_EQ(s.api_keys.size(), 2u);
  std::sort(s.api_keys.begin(), s.api_keys.end(),
            [](const ApiKey& a, const ApiKey& b) { return a.id < b.id; });
  EXPECT_EQ(s.api_keys[0].id, "k1");
  EXPECT_EQ(s.api_keys[0].value, "value-0123456789abcdef");
  EXPECT_FALSE(s.api_keys[0].enabled);
  EXPECT_TRUE(s.api_keys[0].name.empty());  // details are left out
  EXPECT_EQ(s.api_keys[1].id, "k2");
  EXPECT_TRUE(s.api_keys[1].enabled);
  ASSERT_EQ(s.usage_plan_keys.size(), 1u);
  EXPECT_EQ(s.usage_plan_keys[0].key_id, "k2");
  EXPECT_EQ(s.usage_plan_keys[0].created_date, 12);
  ASSERT_EQ(s.usage_plans.size(), 1u);
}

TEST_F(SqliteStoreTest, UncommittedTransactionRollsBack) {
  SqliteStore store(dir / "t.db");
  {
    auto tx = store.begin();
    tx->put(UsagePlan{"p1", "gold", "", {}, std::nullopt, std::nullopt, "", {}});
  }
  EXPECT_TRUE(store.load_control_state().usage_plans.empty());
  EXPECT_EQ(store.control_version(), 0u);
}

// Found by tests/fuzz/yaml_apply_fuzz.cc: text that is not UTF-8 was stored
// as a document that no later load could read.
TEST_F(SqliteStoreTest, TextNotUtf8IsRefusedAndTheStoreStillLoads) {
  SqliteStore store(dir / "t.db");
  {
    auto tx = store.begin();
    EXPECT_THROW(tx->put(UsagePlan{"p1", "gold\xBB", "", {}, std::nullopt, std::nullopt, "", {}}),
                 std::invalid_argument);
    tx->put(UsagePlan{"p2", "silver", "", {}, std::nullopt, std::nullopt, "", {}});
    tx->commit();
  }
  const ControlState state = store.load_control_state();
  ASSERT_EQ(state.usage_plans.size(), 1u);
  EXPECT_EQ(state.usage_plans[0].name, "silver");
}

TEST_F(SqliteStoreTest, DuplicateKeyValueIsRefused) {
  SqliteStore store(dir / "t.db");
  auto tx = store.begin();
  tx->put(ApiKey{"k1", "same-0123456789abcdefg", "", "", "", true, 0, 0, {}});
  EXPECT_THROW(tx->put(ApiKey{"k2", "same-0123456789abcdefg", "", "", "", true, 0, 0, {}}),
               std::runtime_error);
}

TEST_F(SqliteStoreTest, UsageAddsUpPerDayAndSurvivesReopen) {
  {
    SqliteStore store(dir / "t.db");
    store.add_usage({{"p", "k", 100, 5}, {"p", "k", 101, 2}});
    store.add_usage({{"p", "k", 100, 1}, {"p", "other", 100, 9}});
  }
  SqliteStore store(dir / "t.db");
  EXPECT_EQ(store.usage_between("p", "k", 100, 100), 6);
  EXPECT_EQ(store.usage_between("p", "k", 100, 101), 8);
  EXPECT_EQ(store.usage_between("p", "k", 102, 200), 0);
}

TEST_F(SqliteStoreTest, PlanTotalsPerDayAddUpAndAreMadeOnceForAnOlderStore) {
  {
    SqliteStore store(dir / "t.db");
    store.add_usage(
        {{"p", "k1", 100, 5}, {"p", "k2", 100, 2}, {"p", "k1", 101, 1}, {"q", "k1", 100, 9}});
    // As a store written before plan totals were kept.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir / "t.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "DELETE FROM usage_daily_plans", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  SqliteStore store(dir / "t.db");
  std::vector<DailyUsage> p = store.plan_usage_days("p", 0, 1000);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].day, 100);
  EXPECT_EQ(p[0].used, 7);
  EXPECT_EQ(p[1].used, 1);
  store.add_usage({{"p", "k3", 101, 4}});
  EXPECT_EQ(store.plan_usage_days("p", 101, 101).at(0).used, 5);  // added to, not made again
  EXPECT_EQ(store.plan_usage_days("q", 0, 1000).at(0).used, 9);
  store.prune_usage(101);
  EXPECT_EQ(store.plan_usage_days("p", 0, 1000).size(), 1u);
}

TEST_F(SqliteStoreTest, PerMinuteCountsAddUpAndArePruned) {
  SqliteStore store(dir / "t.db");
  store.add_usage({}, {}, {{"p", "k", {500, 3, 1, 0}}, {"p", "", {500, 3, 1, 0}}});
  store.add_usage(
      {}, {}, {{"p", "k", {500, 1, 0, 2}}, {"p", "k", {503, 4, 0, 0}}, {"q", "k", {501, 9, 9, 9}}});
  const std::vector<MinuteCounts> k = store.minute_counts("p", "k", 400, 600);
  ASSERT_EQ(k.size(), 2u);
  EXPECT_EQ(k[0].minute, 500);
  EXPECT_EQ(k[0].allowed, 4);
  EXPECT_EQ(k[0].throttled, 1);
  EXPECT_EQ(k[0].quota_exceeded, 2);
  EXPECT_EQ(k[1].minute, 503);
  EXPECT_EQ(store.minute_counts("p", "", 400, 600).size(), 1u);
  EXPECT_TRUE(store.minute_counts("p", "k", 501, 502).empty());
  store.prune_minute_counts(501);
  EXPECT_EQ(store.minute_counts("p", "k", 0, 1000).size(), 1u);
}

TEST_F(SqliteStoreTest, QuotaUsedByKeySumsServedAndAdjustedInTheWindow) {
  SqliteStore store(dir / "t.db");
  store.add_usage({{"p", "a", 100, 5}, {"p", "a", 101, 2}, {"p", "b", 100, 7}, {"p", "a", 99, 50}});
  store.add_usage({{"q", "a", 100, 40}});
  store.add_adjustment({"p", "a", 101, -3, 0, "admin"});
  store.add_adjustment({"p", "c", 100, 4, 0, "admin"});
  store.add_adjustment({"p", "b", 102, 9, 0, "admin"});
  const auto used = store.quota_used_by_key("p", QuotaPeriod::kMonth, 100, 101);
  EXPECT_EQ(used.size(), 3u);
  EXPECT_EQ(used.at("a"), 4);  // 5 + 2 - 3; day 99 and plan q are outside
  EXPECT_EQ(used.at("b"), 7);  // its adjustment is on day 102
  EXPECT_EQ(used.at("c"), 4);  // an adjustment alone counts too
  EXPECT_EQ(store.quota_used_by_key("p", QuotaPeriod::kMonth, 100, 101).at("a"),
            quota_used_between(store, "p", "a", QuotaPeriod::kMonth, 100, 101));
}

TEST_F(SqliteStoreTest, MeterSlotsAreAssignedOnceInOrder) {
  SqliteStore store(dir / "t.db");
  const std::uint32_t first = store.assign_meter_slot({"p", "a"});
  const auto slots = store.assign_meter_slots({{"p", "b"}, {"p", "a"}, {"q", "a"}});
  ASSERT_EQ(slots.size(), 3u);
  EXPECT_EQ(slots[0], first + 1);
  EXPECT_EQ(slots[1], first);  // already assigned
  EXPECT_EQ(slots[2], first + 2);
  EXPECT_EQ(store.meter_slot_count(), 3u);
}

TEST_F(SqliteStoreTest, ABulkOfMeterSlotsIsAssignedOnceWithRepeatsFound) {
  SqliteStore store(dir / "t.db");
  std::vector<UsageAttribution> pairs;
  for (int i = 0; i < 12000; ++i) pairs.push_back({"p", "k" + std::to_string(i)});  // a bulk batch
  pairs.push_back({"p", "k5"});                                                     // listed twice
  const auto slots = store.assign_meter_slots(pairs);
  ASSERT_EQ(slots.size(), pairs.size());
  for (std::uint32_t i = 0; i < 12000; ++i) ASSERT_EQ(slots[i], i);
  EXPECT_EQ(slots.back(), 5u);
  EXPECT_EQ(store.assign_meter_slots(pairs), slots);
  EXPECT_EQ(store.meter_slot_count(), 12000u);
}

TEST_F(SqliteStoreTest, AKeyJoiningAPlanGetsItsMeterSlotInTheSameTransaction) {
  SqliteStore store(dir / "t.db");
  const std::uint32_t before = store.assign_meter_slot({"p", "old"});
  {
    auto tx = store.begin();
    tx->put(UsagePlanKey{"p", "a", 0});
    tx->put(UsagePlanKey{"q", "a", 0});
    tx->put(UsagePlanKey{"p", "a", 0});  // already a member: no second slot
    tx->commit();
  }
  {
    auto tx = store.begin();
    tx->put(UsagePlanKey{"p", "b", 0});
    // Rolled back: neither the membership nor its slot stays.
  }
  EXPECT_EQ(store.meter_slot_count(), 3u);
  const auto slots = store.assign_meter_slots({{"p", "a"}, {"q", "a"}, {"p", "b"}});
  EXPECT_EQ(slots, (std::vector<std::uint32_t>{before + 1, before + 2, before + 3}));
  // A key that leaves and joins again keeps its slot, as the meter would.
  {
    auto tx = store.begin();
    tx->erase_usage_plan_key("p", "a");
    tx->commit();
  }
  {
    auto tx = store.begin();
    tx->put(UsagePlanKey{"p", "a", 0});
    tx->commit();
  }
  EXPECT_EQ(store.assign_meter_slot({"p", "a"}), before + 1);
}

TEST_F(SqliteStoreTest, UsageAndSlotsAreKeptByTheCustomerTheyWereCountedFor) {
  SqliteStore store(dir / "t.db");
  store.add_usage(
      {{"p", "k1", 100, 5, "acme"}, {"p", "k1", 100, 3, "globex"}, {"p", "k2", 101, 1}});
  store.add_usage({{"p", "k1", 100, 1, "acme"}});
  EXPECT_EQ(store.usage_between("p", "k1", 100, 100), 9);
  EXPECT_EQ(store.usage_days("p", "k1", 0, 1000).at(0).used, 9);
  std::vector<std::string> rows;
  store.scan_usage(0, 1000, {}, [&](const UsageRow& r) {
    rows.push_back(r.key_id + "/" + r.customer_id + "=" + std::to_string(r.used));
    return true;
  });
  EXPECT_EQ(rows, (std::vector<std::string>{"k1/acme=6", "k1/globex=3", "k2/=1"}));
  EXPECT_TRUE(store.has_usage({100, "p", "k1", 0, "globex"}));
  EXPECT_FALSE(store.has_usage({100, "p", "k1", 0, ""}));
  const auto slots =
      store.assign_meter_slots({{"p", "k1", "acme"}, {"p", "k1", "globex"}, {"p", "k1", "acme"}});
  EXPECT_EQ(slots, (std::vector<std::uint32_t>{0, 1, 0}));
}

TEST_F(SqliteStoreTest, AKeyJoiningAPlanGetsASlotForTheCustomerItHasInTheTransaction) {
  SqliteStore store(dir / "t.db");
  auto tx = store.begin();
  tx->put(ApiKey{"k1", "value-0123456789abcdef", "alice", "acme", "", true, 1, 1, {}});
  tx->put(UsagePlanKey{"p", "k1", 0});
  tx->commit();
  std::string customer = "none";
  store.scan_meter_slots([&](const MeterSlot& m) { customer = m.customer_id; });
  EXPECT_EQ(customer, "acme");
}

TEST_F(SqliteStoreTest, AdjustmentsKeepTheirPeriodCustomerAndIdAndCountOnlyUnderTheirPeriod) {
  SqliteStore store(dir / "t.db");
  store.add_adjustment({"p", "a", 100, -30, 0, "admin", QuotaPeriod::kMonth, "acme"});
  store.add_adjustment({"p", "a", 100, 5, 0, "admin", QuotaPeriod::kDay, "acme"});
  store.add_adjustment({"q", "b", 99, 1, 0, "admin", QuotaPeriod::kDay, ""});
  EXPECT_EQ(store.quota_used_by_key("p", QuotaPeriod::kMonth, 100, 100).at("a"), -30);
  EXPECT_EQ(store.quota_used_by_key("p", QuotaPeriod::kDay, 100, 100).at("a"), 5);
  EXPECT_EQ(quota_used_between(store, "p", "a", QuotaPeriod::kWeek, 100, 100), 0);
  const std::vector<UsageAdjustment> all = store.adjustments_between(99, 100);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].plan_id, "q");  // by day, then id
  EXPECT_EQ(all[1].id, 1);
  EXPECT_EQ(all[1].customer_id, "acme");
  EXPECT_EQ(all[2].period, QuotaPeriod::kDay);
}

TEST_F(SqliteStoreTest, MembershipsThatEndAreKeptAsFormerOnes) {
  SqliteStore store(dir / "t.db");
  {
    auto tx = store.begin();
    for (const char* key : {"a", "b", "c", "d"}) tx->put(UsagePlanKey{"p", key, 0});
    tx->put(UsagePlanKey{"q", "a", 0});
    tx->commit();
  }
  {
    auto tx = store.begin();
    tx->erase_usage_plan_key("p", "a");  // left
    tx->erase_api_key("b");              // deleted
    tx->erase_usage_plan_key("p", "c");  // left, and back below
    tx->erase_usage_plan("q");           // its plan deleted
    tx->commit();
  }
  {
    auto tx = store.begin();
    tx->put(UsagePlanKey{"p", "c", 0});
    tx->commit();
  }
  EXPECT_EQ(store.former_members("p"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(store.former_members("q"), (std::vector<std::string>{"a"}));
  EXPECT_TRUE(store.former_members("none").empty());
}

TEST_F(SqliteStoreTest, MeterProgressIsKeptPerNode) {
  SqliteStore store(dir / "t.db");
  store.put_meter_progress({"n1", 100, true, 5});
  store.put_meter_progress({"n1", 101, false, 6});
  const std::vector<MeterProgress> p = store.meter_progress();
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].complete_before_day, 101);
  EXPECT_FALSE(p[0].running);
}

TEST_F(SqliteStoreTest, AStoreOfSchemaOneGetsEachKeysCustomerForItsPastUsage) {
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir / "t.db").c_str(), &db), SQLITE_OK);
    const char* schema_one = R"sql(
      CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
      INSERT INTO meta VALUES ('control_version', 3), ('schema_version', 1), ('store_id', 77);
      CREATE TABLE api_keys (id TEXT PRIMARY KEY, value TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);
      CREATE INDEX api_keys_serving ON api_keys (id, value, json_extract(doc, '$.enabled'));
      INSERT INTO api_keys VALUES ('k1', 'value-0123456789abcdef',
        '{"id":"k1","value":"value-0123456789abcdef","enabled":true,"customerId":"acme"}');
      CREATE TABLE usage_plans (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
      INSERT INTO usage_plans VALUES ('p', '{"id":"p","name":"p","quota":{"limit":9,"offset":0,"period":"DAY"}}');
      CREATE TABLE usage_adjustments (
        plan_id TEXT NOT NULL, key_id TEXT NOT NULL, day INTEGER NOT NULL, delta INTEGER NOT NULL,
        created_at INTEGER NOT NULL, actor TEXT NOT NULL);
      INSERT INTO usage_adjustments VALUES ('p', 'k1', 100, -2, 0, 'admin');
      CREATE TABLE meter_slots (
        plan_id TEXT NOT NULL, key_id TEXT NOT NULL, slot INTEGER NOT NULL UNIQUE,
        day0 INTEGER NOT NULL DEFAULT -1, count0 INTEGER NOT NULL DEFAULT 0,
        day1 INTEGER NOT NULL DEFAULT -1, count1 INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (plan_id, key_id));
      INSERT INTO meter_slots VALUES ('p', 'k1', 0, 100, 4, -1, 0), ('p', 'gone', 1, -1, 0, -1, 0);
      CREATE TABLE usage_daily (
        plan_id TEXT NOT NULL, key_id TEXT NOT NULL, day INTEGER NOT NULL, used INTEGER NOT NULL,
        PRIMARY KEY (plan_id, key_id, day));
      INSERT INTO usage_daily VALUES ('p', 'k1', 100, 4), ('p', 'gone', 99, 3);
    )sql";
    ASSERT_EQ(sqlite3_exec(db, schema_one, nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  SqliteStore store(dir / "t.db");
  std::vector<std::string> rows;
  store.scan_usage(0, 1000, {}, [&](const UsageRow& r) {
    rows.push_back(r.key_id + "/" + r.customer_id + "=" + std::to_string(r.used));
    return true;
  });
  EXPECT_EQ(rows, (std::vector<std::string>{"gone/=3", "k1/acme=4"}));
  std::map<std::uint32_t, std::string> slots;
  store.scan_meter_slots(
      [&](const MeterSlot& m) { slots[m.slot] = m.key_id + "/" + m.customer_id; });
  EXPECT_EQ(slots, (std::map<std::uint32_t, std::string>{{0, "k1/acme"}, {1, "gone/"}}));
  EXPECT_EQ(store.adjustments("p", "k1", 0, 1000).at(0).period, QuotaPeriod::kDay);
  EXPECT_EQ(store.load_serving_state().api_keys.at(0).customer_id, "acme");
  EXPECT_EQ(*store.identity(), 77);
}

TEST_F(SqliteStoreTest, AStoreOfSchemaFourKeepsMembershipsAndSlotsWithoutRowids) {
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir / "t.db").c_str(), &db), SQLITE_OK);
    const char* schema_four = R"sql(
      CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
      INSERT INTO meta VALUES ('control_version', 3), ('schema_version', 4), ('store_id', 78),
        ('changes_floor', 3), ('change_rows', 0), ('api_key_count', 2);
      CREATE TABLE api_keys (id TEXT PRIMARY KEY, value TEXT NOT NULL UNIQUE, doc TEXT NOT NULL,
        created INTEGER NOT NULL DEFAULT 0, name TEXT NOT NULL DEFAULT '', customer_id TEXT NOT NULL DEFAULT '',
        enabled INTEGER NOT NULL DEFAULT 0);
      INSERT INTO api_keys VALUES
        ('k1', 'value-1-0123456789abcdef', '{"id":"k1","name":"one","value":"value-1-0123456789abcdef","enabled":true,"createdDate":10}', 10, 'one', '', 1),
        ('k2', 'value-2-0123456789abcdef', '{"id":"k2","name":"two","value":"value-2-0123456789abcdef","enabled":true,"createdDate":20}', 20, 'two', '', 1);
      CREATE INDEX api_keys_serving3 ON api_keys (id, value, enabled, customer_id);
      CREATE INDEX api_keys_by_created ON api_keys (created, id);
      CREATE TABLE usage_plans (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
      INSERT INTO usage_plans VALUES ('p', '{"id":"p","name":"p"}');
      CREATE TABLE usage_plan_keys (plan_id TEXT NOT NULL, key_id TEXT NOT NULL, created INTEGER NOT NULL,
        PRIMARY KEY (plan_id, key_id));
      CREATE INDEX usage_plan_keys_by_key ON usage_plan_keys (key_id);
      CREATE INDEX usage_plan_keys_by_created ON usage_plan_keys (plan_id, created, key_id);
      INSERT INTO usage_plan_keys VALUES ('p', 'k1', 11), ('p', 'k2', 21);
      CREATE TABLE meter_slots (
        plan_id TEXT NOT NULL, key_id TEXT NOT NULL, customer_id TEXT NOT NULL DEFAULT '',
        slot INTEGER NOT NULL UNIQUE,
        day0 INTEGER NOT NULL DEFAULT -1, count0 INTEGER NOT NULL DEFAULT 0,
        day1 INTEGER NOT NULL DEFAULT -1, count1 INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (plan_id, key_id, customer_id));
      INSERT INTO meter_slots VALUES ('p', 'k1', '', 0, 100, 4, -1, 0), ('p', 'k2', '', 1, -1, 0, 101, 6);
      CREATE TABLE usage_daily (
        plan_id TEXT NOT NULL, key_id TEXT NOT NULL, day INTEGER NOT NULL, used INTEGER NOT NULL,
        customer_id TEXT NOT NULL DEFAULT '', PRIMARY KEY (plan_id, key_id, day, customer_id));
      CREATE TABLE usage_adjustments (
        id INTEGER PRIMARY KEY, plan_id TEXT NOT NULL, key_id TEXT NOT NULL, day INTEGER NOT NULL,
        delta INTEGER NOT NULL, created_at INTEGER NOT NULL, actor TEXT NOT NULL,
        period TEXT NOT NULL DEFAULT 'MONTH', customer_id TEXT NOT NULL DEFAULT '');
    )sql";
    ASSERT_EQ(sqlite3_exec(db, schema_four, nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  SqliteStore store(dir / "t.db");
  EXPECT_EQ(store.plans_of_key("k2").at(0).created_date, 21);
  EXPECT_EQ(store.load_control_state().usage_plan_keys.size(), 2u);
  std::map<std::uint32_t, std::string> slots;
  store.scan_meter_slots([&](const MeterSlot& m) {
    slots[m.slot] = m.key_id + "@" + std::to_string(m.flushed[0].day) + "=" +
                    std::to_string(m.flushed[0].count) + "," + std::to_string(m.flushed[1].day) +
                    "=" + std::to_string(m.flushed[1].count);
  });
  EXPECT_EQ(slots,
            (std::map<std::uint32_t, std::string>{{0, "k1@100=4,-1=0"}, {1, "k2@-1=0,101=6"}}));
  KeyQuery newest;
  newest.limit = 1;
  EXPECT_EQ(store.list_api_keys(newest).keys.at(0).id, "k2");
  EXPECT_EQ(store.load_serving_state().api_keys.size(), 2u);
  {
    auto tx = store.begin();  // a membership added in the new shape, once
    tx->put(UsagePlanKey{"p", "k1", 99});
    tx->put(UsagePlanKey{"p", "k1", 99});
    tx->commit();
  }
  EXPECT_EQ(store.plans_of_key("k1").at(0).created_date, 11);

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "t.db").c_str(), &db), SQLITE_OK);
  const auto count = [&](const char* sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &st, nullptr), SQLITE_OK);
    EXPECT_EQ(sqlite3_step(st), SQLITE_ROW);
    const int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
  };
  EXPECT_EQ(
      count("SELECT count(*) FROM sqlite_master WHERE name IN ('usage_plan_keys', 'meter_slots') "
            "AND sql LIKE '%WITHOUT ROWID%'"),
      2);
  EXPECT_EQ(count("SELECT count(*) FROM sqlite_master WHERE name IN "
                  "('api_keys_serving3', 'api_keys_by_created', 'usage_plan_keys_by_key')"),
            0);
  EXPECT_EQ(count("SELECT value FROM meta WHERE name = 'schema_version'"), 5);
  sqlite3_close(db);
}

TEST_F(SqliteStoreTest, EachStoreHasAnIdentityOfItsOwnThatLasts) {
  std::optional<std::int64_t> first;
  {
    SqliteStore store(dir / "a.db");
    first = store.identity();
    ASSERT_TRUE(first);
    EXPECT_GE(*first, 0);
  }
  EXPECT_EQ(SqliteStore(dir / "a.db").identity(), first);
  EXPECT_NE(SqliteStore(dir / "b.db").identity(), first);
}

TEST_F(SqliteStoreTest, ChangesFromAnotherConnectionAreSeen) {
  SqliteStore reader(dir / "t.db");
  SqliteStore writer(dir / "t.db");
  auto tx = writer.begin();
  tx->put(AccountSettings{Throttle{5.0, 5}, ""});
  tx->commit();
  EXPECT_EQ(reader.control_version(), 1u);
  EXPECT_EQ(reader.load_control_state().account.throttle.burst_limit, 5);
}

}  // namespace
}  // namespace tollgate
