#include "store/redis_store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>

#include "redis_server.h"

namespace tollgate {
namespace {

class RedisStoreTest : public ::testing::Test {
 protected:
  RedisServer server;
  RedisStore store{RedisAddress::parse(server.url()), "node-a"};
};

TEST(RedisAddress, ParsesHostPortAndDatabase) {
  const RedisAddress a = RedisAddress::parse("redis://10.0.0.5:6380/3");
  EXPECT_EQ(a.host, "10.0.0.5");
  EXPECT_EQ(a.port, 6380);
  EXPECT_EQ(a.db, 3);
  EXPECT_EQ(RedisAddress::parse("redis://cache").port, 6379);
  const RedisAddress s = RedisAddress::parse("redis-sentinel://s1:26380,s2/main/2");
  ASSERT_EQ(s.sentinels.size(), 2u);
  EXPECT_EQ(s.sentinels[0], (std::pair<std::string, int>{"s1", 26380}));
  EXPECT_EQ(s.sentinels[1].second, 26379);
  EXPECT_EQ(s.master_name, "main");
  EXPECT_EQ(s.db, 2);
  EXPECT_EQ(s.to_string(), "redis-sentinel://s1:26380,s2:26379/main/2");
  EXPECT_TRUE(is_redis_url("redis-sentinel://s1/main"));
  EXPECT_FALSE(is_redis_url("sqlite"));
  for (const char* bad :
       {"http://x:1", "redis://", "redis://h:0", "redis://h:99999", "redis://h:1/x",
        "redis-sentinel://s1", "redis-sentinel:///main", "redis-sentinel://s1:x/main"})
    EXPECT_THROW(RedisAddress::parse(bad), std::invalid_argument) << bad;
}

TEST_F(RedisStoreTest, RoundTripsControlStateAndBumpsTheVersion) {
  EXPECT_EQ(store.control_version(), 0u);
  UsagePlan plan;
  plan.id = "p1";
  plan.name = "gold";
  plan.throttle = Throttle{2.5, 7};
  plan.quota = Quota{100, 3, QuotaPeriod::kWeek};
  const ApiKey key{"k1", "value-0123456789abcdef", "alice", "c1", "d", true, 10, 11, {{"t", "v"}}};
  {
    auto tx = store.begin();
    tx->put(plan);
    tx->put(key);
    tx->put(UsagePlanKey{"p1", "k1", 12});
    tx->set_keys_hashed();
    tx->commit();
  }
  EXPECT_EQ(store.control_version(), 1u);
  const ControlState s = store.load_control_state();
  ASSERT_EQ(s.usage_plans.size(), 1u);
  EXPECT_EQ(s.usage_plans[0], plan);
  ASSERT_EQ(s.api_keys.size(), 1u);
  EXPECT_EQ(s.api_keys[0], key);
  ASSERT_EQ(s.usage_plan_keys.size(), 1u);
  EXPECT_EQ(s.usage_plan_keys[0].key_id, "k1");
  EXPECT_EQ(s.usage_plan_keys[0].created_date, 12);
  EXPECT_TRUE(s.keys_hashed);

  // Erasing a key takes its plan memberships with it.
  {
    auto tx = store.begin();
    tx->erase_api_key("k1");
    tx->commit();
  }
  EXPECT_EQ(store.control_version(), 2u);
  EXPECT_TRUE(store.load_control_state().api_keys.empty());
  EXPECT_TRUE(store.load_control_state().usage_plan_keys.empty());
}

TEST_F(RedisStoreTest, TheServingStateIsEachKeyWithThePlansItIsInNow) {
  const ApiKey key{"k1",
                   "value-0123456789abcdef",
                   "alice",
                   "c\x1f"
                   "1 odd:customer",
                   "",
                   true,
                   10,
                   11,
                   {}};
  {
    auto tx = store.begin();
    tx->put(key);
    tx->put(UsagePlanKey{"p1", "k1", 12});
    tx->put(UsagePlanKey{"p2", "k1", 13});
    tx->commit();
  }
  {
    auto tx = store.begin();  // joining again keeps when it began; leaving one plan keeps the other
    tx->put(UsagePlanKey{"p1", "k1", 99});
    tx->erase_usage_plan_key("p2", "k1");
    tx->commit();
  }
  ControlState s = store.load_serving_state();
  ASSERT_EQ(s.api_keys.size(), 1u);
  EXPECT_EQ(s.api_keys[0].customer_id, key.customer_id);
  ASSERT_EQ(s.usage_plan_keys.size(), 1u);
  EXPECT_EQ(s.usage_plan_keys[0].plan_id, "p1");
  EXPECT_EQ(s.usage_plan_keys[0].created_date, 12);
  {
    auto tx = store.begin();  // a key changed keeps its plans
    ApiKey disabled = key;
    disabled.enabled = false;
    tx->put(disabled);
    tx->commit();
  }
  s = store.load_serving_state();
  EXPECT_FALSE(s.api_keys.at(0).enabled);
  EXPECT_EQ(s.usage_plan_keys.size(), 1u);
  const ControlDelta delta = store.control_delta(2);  // what the third commit changed
  ASSERT_EQ(delta.keys.size(), 1u);
  ASSERT_TRUE(delta.keys[0].now);
  EXPECT_EQ(delta.keys[0].now->memberships.size(), 1u);

  // A store of an older layout (a field per key, without its plans) has
  // its serving state written again once, and the old hash dropped.
  RedisClient client(RedisAddress::parse(server.url()));
  client.run({"HSET", "tollgate:meta", "layout", "2"});
  client.run({"DEL", "tollgate:serving_buckets"});
  client.run(
      {"HSET", "tollgate:serving_keys", "k1", std::string("1\x1fvalue-0123456789abcdef\x1f")});
  RedisStore reopened(RedisAddress::parse(server.url()), "node-b");
  s = reopened.load_serving_state();
  ASSERT_EQ(s.usage_plan_keys.size(), 1u);
  EXPECT_EQ(s.usage_plan_keys[0].created_date, 12);
  EXPECT_EQ(s.api_keys.at(0).customer_id, key.customer_id);
  EXPECT_EQ(client.run({"EXISTS", "tollgate:serving_keys"})->integer, 0);
}

TEST_F(RedisStoreTest, KeysInOneServingBucketAreWrittenAndDeletedOneByOne) {
  // Enough keys that buckets hold several: each commit rewrites a bucket.
  {
    auto tx = store.begin();
    for (int i = 0; i < 10000; ++i)
      tx->put(ApiKey{"k" + std::to_string(i),
                     "value-" + std::to_string(i) + "-0123456789abcdef",
                     "",
                     "",
                     "",
                     true,
                     1,
                     1,
                     {}});
    tx->commit();
  }
  {
    auto tx = store.begin();
    for (int i = 0; i < 10000; i += 2) tx->erase_api_key("k" + std::to_string(i));
    tx->put(UsagePlanKey{"p", "k1", 5});
    tx->commit();
  }
  const ControlState s = store.load_serving_state();
  ASSERT_EQ(s.api_keys.size(), 5000u);
  for (const ApiKey& k : s.api_keys) EXPECT_EQ(std::stoi(k.id.substr(1)) % 2, 1) << k.id;
  ASSERT_EQ(s.usage_plan_keys.size(), 1u);
  EXPECT_EQ(s.usage_plan_keys[0].key_id, "k1");
}

TEST_F(RedisStoreTest, UncommittedWritesVanishAndWritersTakeTurns) {
  {
    auto tx = store.begin();
    tx->put(ApiKey{"k1", "value-0123456789abcdef", "alice", "", "", true, 1, 1, {}});
  }
  EXPECT_TRUE(store.load_control_state().api_keys.empty());
  EXPECT_EQ(store.control_version(), 0u);

  // A second writer (another node) waits for the first to commit.
  RedisStore other(RedisAddress::parse(server.url()), "node-b");
  auto first = store.begin();
  std::thread second([&other] {
    auto tx = other.begin();
    tx->put(ApiKey{"k2", "value-fedcba9876543210", "bob", "", "", true, 1, 1, {}});
    tx->commit();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(store.control_version(), 0u);
  first->put(ApiKey{"k1", "value-0123456789abcdef", "alice", "", "", true, 1, 1, {}});
  first->commit();
  second.join();
  EXPECT_EQ(store.control_version(), 2u);
  EXPECT_EQ(store.load_control_state().api_keys.size(), 2u);
}

TEST_F(RedisStoreTest, UsageFromEveryNodeAddsUpAndSlotsAreEachNodesOwn) {
  RedisStore other(RedisAddress::parse(server.url()), "node-b");
  store.add_usage({{"p1", "k1", 100, 5}, {"p1", "k2", 100, 1}}, {{0, 0, 100, 5}});
  other.add_usage({{"p1", "k1", 100, 7}, {"p1", "k1", 101, 2}});
  EXPECT_EQ(store.usage_between("p1", "k1", 100, 101), 14);
  EXPECT_EQ(store.usage_between("p1", "k1", 101, 200), 2);
  const std::vector<DailyUsage> days = other.usage_days("p1", "k1", 0, 1000);
  ASSERT_EQ(days.size(), 2u);
  EXPECT_EQ(days[0].used, 12);
  EXPECT_EQ(days[1].day, 101);

  std::vector<std::string> rows;
  store.scan_usage(0, 1000, {100, "p1", "k1", 0}, [&](const UsageRow& r) {
    rows.push_back(std::to_string(r.day) + r.key_id + "=" + std::to_string(r.used));
    return true;
  });
  EXPECT_EQ(rows, (std::vector<std::string>{"100k2=1", "101k1=2"}));

  store.add_adjustment({"p1", "k1", 100, -4, 1, "admin"});
  EXPECT_EQ(store.quota_used_by_key("p1", QuotaPeriod::kMonth, 100, 101).at("k1"), 10);
  EXPECT_EQ(store.adjustments("p1", "k1", 0, 1000).at(0).actor, "admin");
  EXPECT_TRUE(store.adjustments("p1", "k2", 0, 1000).empty());

  EXPECT_EQ(store.assign_meter_slots({{"p1", "k1"}, {"p1", "k2"}}),
            (std::vector<std::uint32_t>{0, 1}));
  EXPECT_EQ(store.assign_meter_slot({"p1", "k2"}), 1u);
  EXPECT_EQ(other.assign_meter_slot({"p1", "k2"}), 0u);  // node-b numbers its own
  EXPECT_EQ(store.meter_slot_count(), 2u);
  std::size_t seen = 0;
  store.scan_meter_slots([&](const MeterSlot& m) {
    if (m.slot == 0) {
      EXPECT_EQ(m.flushed[0].day, 100);
      EXPECT_EQ(m.flushed[0].count, 5);
      EXPECT_EQ(m.flushed[1].day, -1);
    }
    ++seen;
  });
  EXPECT_EQ(seen, 2u);

  store.prune_usage(101);
  EXPECT_EQ(store.usage_between("p1", "k1", 0, 1000), 2);
}

TEST_F(RedisStoreTest, UsageIsKeptByTheCustomerItWasCountedFor) {
  RedisStore other(RedisAddress::parse(server.url()), "node-b");
  store.add_usage({{"p", "k1", 100, 5, "acme"}, {"p", "k2", 100, 1}});
  other.add_usage({{"p", "k1", 100, 2, "acme"}, {"p", "k1", 100, 3, "globex"}});
  EXPECT_EQ(store.usage_between("p", "k1", 100, 100), 10);  // whatever the customers
  std::vector<std::string> rows;
  store.scan_usage(0, 1000, {}, [&](const UsageRow& r) {
    rows.push_back(r.key_id + "/" + r.customer_id + "=" + std::to_string(r.used));
    return true;
  });
  EXPECT_EQ(rows, (std::vector<std::string>{"k1/acme=7", "k1/globex=3", "k2/=1"}));
  EXPECT_TRUE(store.has_usage({100, "p", "k1", 0, "globex"}));
  EXPECT_FALSE(store.has_usage({100, "p", "k1", 0, "initech"}));
  // A slot per customer of a key, each with its customer.
  const auto slots =
      store.assign_meter_slots({{"p", "k1", "acme"}, {"p", "k1", "globex"}, {"p", "k1", "acme"}});
  EXPECT_EQ(slots, (std::vector<std::uint32_t>{0, 1, 0}));
  std::set<std::string> customers;
  store.scan_meter_slots([&](const MeterSlot& m) { customers.insert(m.customer_id); });
  EXPECT_EQ(customers, (std::set<std::string>{"acme", "globex"}));
}

TEST_F(RedisStoreTest, ADayCountedBeforeCustomersWereKeptIsBilledToTheKeysCustomerNow) {
  {
    auto tx = store.begin();
    tx->put(ApiKey{"k1", "value-0123456789abcdef", "alice", "acme", "", true, 1, 1, {}});
    tx->commit();
  }
  RedisClient client(RedisAddress::parse(server.url()));
  client.run({"HSET", "tollgate:usage:100", std::string("p\x1fk1"), "4"});
  client.run({"SADD", "tollgate:usage_days", "100"});
  std::vector<UsageRow> rows;
  store.scan_usage(0, 1000, {}, [&](const UsageRow& r) {
    rows.push_back(r);
    return true;
  });
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].customer_id, "acme");
  EXPECT_EQ(rows[0].used, 4);
  EXPECT_TRUE(store.has_usage({100, "p", "k1", 0, "acme"}));
  EXPECT_FALSE(store.has_usage({100, "p", "k1", 0, "anything"}));
  // The day of the upgrade: a new node's counts by customer, beside the
  // totals an older node added to alone.
  store.add_usage({{"p", "k1", 100, 3, "globex"}, {"p", "k2", 100, 2, "acme"}});
  client.run({"HINCRBY", "tollgate:usage:100", std::string("p\x1fk2"), "5"});
  std::vector<std::string> mixed;
  store.scan_usage(0, 1000, {}, [&](const UsageRow& r) {
    mixed.push_back(r.key_id + "/" + r.customer_id + "=" + std::to_string(r.used));
    return true;
  });
  EXPECT_EQ(mixed, (std::vector<std::string>{"k1/acme=4", "k1/globex=3", "k2/=5", "k2/acme=2"}));
}

TEST_F(RedisStoreTest, AdjustmentsKeepTheirPeriodAndCustomerUnderIdsOfTheirOwn) {
  store.add_adjustment({"p", "k1", 100, -4, 1, "admin", QuotaPeriod::kDay, "acme corp"});
  store.add_adjustment({"p", "k2", 100, 6, 2, "admin", QuotaPeriod::kMonth, ""});
  store.add_adjustment({"q", "k1", 102, 1, 3, "admin", QuotaPeriod::kWeek, "acme corp"});
  const std::vector<UsageAdjustment> all = store.adjustments_between(100, 102);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].id, 1);
  EXPECT_EQ(all[0].customer_id, "acme corp");
  EXPECT_EQ(all[0].period, QuotaPeriod::kDay);
  EXPECT_EQ(all[2].plan_id, "q");
  EXPECT_EQ(all[2].id, 3);
  EXPECT_EQ(store.quota_used_by_key("p", QuotaPeriod::kDay, 100, 100).at("k1"), -4);
  EXPECT_FALSE(store.quota_used_by_key("p", QuotaPeriod::kMonth, 100, 100).contains("k1"));
  // An entry from before periods were kept is of the plan's period now.
  RedisClient client(RedisAddress::parse(server.url()));
  client.run({"RPUSH", "tollgate:adjustments:p",
              std::string("k3\x1f"
                          "100\x1f"
                          "5\x1f"
                          "9\x1f"
                          "old")});
  EXPECT_EQ(store.adjustments("p", "k3", 0, 1000).at(0).period, QuotaPeriod::kMonth);
}

TEST_F(RedisStoreTest, MembershipsThatEndAreKeptAsFormerOnes) {
  {
    auto tx = store.begin();
    for (const char* key : {"a", "b", "c"}) tx->put(UsagePlanKey{"p", key, 0});
    tx->put(UsagePlanKey{"q", "a", 0});
    tx->commit();
  }
  {
    auto tx = store.begin();
    tx->erase_usage_plan_key("p", "a");
    tx->erase_api_key("b");
    tx->erase_usage_plan_key("p", "c");
    tx->erase_usage_plan("q");
    tx->commit();
  }
  {
    auto tx = store.begin();
    tx->put(UsagePlanKey{"p", "c", 0});
    tx->commit();
  }
  EXPECT_EQ(store.former_members("p"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(store.former_members("q"), (std::vector<std::string>{"a"}));
}

TEST_F(RedisStoreTest, MeterProgressIsKeptPerNode) {
  store.put_meter_progress({"node-a", 100, true, 5});
  store.put_meter_progress({"node-b", 99, false, 6});
  store.put_meter_progress({"node-a", 101, true, 7});
  const std::vector<MeterProgress> p = store.meter_progress();
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].node, "node-a");
  EXPECT_EQ(p[0].complete_before_day, 101);
  EXPECT_TRUE(p[0].running);
  EXPECT_FALSE(p[1].running);
}

TEST_F(RedisStoreTest, PlanTotalsPerDayAddUpAndAreMadeOnceForAnOlderStore) {
  RedisStore other(RedisAddress::parse(server.url()), "node-b");
  store.add_usage({{"p", "k1", 100, 5}, {"p", "k2", 100, 2}, {"q", "k1", 100, 9}});
  other.add_usage({{"p", "k1", 100, 1}, {"p", "k1", 101, 3}});
  // As a store written before plan totals were kept.
  RedisClient client(RedisAddress::parse(server.url()));
  client.run({"DEL", "tollgate:plan_usage:100", "tollgate:plan_usage:101"});
  const std::vector<DailyUsage> p = other.plan_usage_days("p", 0, 1000);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].used, 8);
  EXPECT_EQ(p[1].day, 101);
  EXPECT_EQ(p[1].used, 3);
  store.add_usage({{"p", "k3", 101, 4}});
  EXPECT_EQ(store.plan_usage_days("p", 101, 101).at(0).used, 7);  // added to, not made again
  EXPECT_EQ(store.plan_usage_days("q", 0, 1000).at(0).used, 9);
  store.prune_usage(101);
  EXPECT_EQ(store.plan_usage_days("p", 0, 1000).size(), 1u);
}

TEST_F(RedisStoreTest, PerMinuteCountsFromEveryNodeAddUp) {
  RedisStore other(RedisAddress::parse(server.url()), "node-b");
  // Minutes of now: each minute's hash expires two hours after it.
  const std::int64_t minute = std::chrono::duration_cast<std::chrono::minutes>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
  store.add_usage({}, {}, {{"p", "k", {minute, 3, 1, 0}}, {"p", "", {minute, 3, 1, 0}}});
  other.add_usage({}, {}, {{"p", "k", {minute, 1, 0, 2}}, {"p", "k", {minute + 2, 4, 0, 0}}});
  const std::vector<MinuteCounts> k = store.minute_counts("p", "k", minute - 5, minute + 5);
  ASSERT_EQ(k.size(), 2u);
  EXPECT_EQ(k[0].minute, minute);
  EXPECT_EQ(k[0].allowed, 4);
  EXPECT_EQ(k[0].throttled, 1);
  EXPECT_EQ(k[0].quota_exceeded, 2);
  EXPECT_EQ(k[1].minute, minute + 2);
  EXPECT_EQ(k[1].throttled, 0);
  EXPECT_EQ(other.minute_counts("p", "", minute, minute).at(0).allowed, 3);
  EXPECT_TRUE(store.minute_counts("q", "k", minute - 5, minute + 5).empty());
  RedisClient client(RedisAddress::parse(server.url()));
  const long long ttl =
      reply_integer(*client.run({"TTL", "tollgate:minutes:" + std::to_string(minute)}));
  EXPECT_GT(ttl, 110 * 60);
  EXPECT_LE(ttl, 120 * 60);
}

TEST_F(RedisStoreTest, ALargeTransactionIsGivenTheTimeItTakes) {
  // A client that gives Redis 20 ms a reply: a transaction of 300,000
  // writes takes longer than that to run, and must not be reported failed
  // (a million keys migrated in one would be, though written).
  RedisClient client(RedisAddress::parse(server.url()), nullptr, std::chrono::milliseconds(20));
  std::vector<RedisCommand> commands{{"MULTI"}};
  for (int i = 0; i < 300000; ++i)
    commands.push_back({"HSET", "big", "field-" + std::to_string(i), "value"});
  commands.push_back({"EXEC"});
  const std::vector<RedisReply> replies = client.pipeline(commands);
  EXPECT_EQ(replies.back()->elements, 300000u);
  EXPECT_EQ(reply_integer(*client.run({"HLEN", "big"})), 300000);
}

TEST_F(RedisStoreTest, RedisGoneIsUnavailableAndItsReturnIsSeen) {
  server.stop();
  EXPECT_THROW(store.control_version(), StoreUnavailable);
  EXPECT_THROW(store.begin(), StoreUnavailable);
  server.start();
  EXPECT_EQ(store.control_version(), 0u);
}

}  // namespace
}  // namespace tollgate
