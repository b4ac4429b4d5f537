// Every management operation on one key or one membership touches the rows
// it names: against a store of 100,000 keys in one plan, SQLite scans no
// more than a page and steps its virtual machine a bounded number of times, and Redis
// answers a bounded number of values. A whole-state read (a hundred
// thousand rows, two hundred thousand values) fails these at once.

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "redis_server.h"
#include "store/redis_store.h"
#include "store/sqlite_statement.h"
#include "store/sqlite_store.h"
#include "temp_dir.h"

namespace tollgate {
namespace {

constexpr int kKeys = 100000;

std::string key_id(int i) { return "key" + std::to_string(i); }
std::string key_value(int i) { return "value-" + std::to_string(i) + "-0123456789abcdef"; }

// 100,000 keys, every one in plan "big"; plan "other" covers another stage.
void fill(Store& store) {
  auto tx = store.begin();
  UsagePlan big;
  big.id = "big";
  big.name = "big";
  big.api_stages = {{"api1", "prod", {}}};
  UsagePlan other;
  other.id = "other";
  other.name = "other";
  other.api_stages = {{"api1", "dev", {}}};
  tx->put(big);
  tx->put(other);
  for (int i = 0; i < kKeys; ++i) {
    tx->put(ApiKey{key_id(i),
                   key_value(i),
                   "name-" + std::to_string(i),
                   "customer-" + std::to_string(i % 1000),
                   "",
                   true,
                   1000 + i,
                   1000 + i,
                   {}});
    tx->put(UsagePlanKey{"big", key_id(i), 2000 + i});
  }
  tx->commit();
}

// Runs each operation of a store on one key, one membership and one page,
// calling `measure(name, operation)` for each.
void each_operation(
    Store& store,
    const std::function<void(const std::string&, const std::function<void()>&)>& measure) {
  const std::uint64_t before = store.control_version();
  measure("api_key", [&] { EXPECT_EQ(store.api_key(key_id(7))->value, key_value(7)); });
  measure("key_id_with_value",
          [&] { EXPECT_EQ(store.key_id_with_value(key_value(7)), key_id(7)); });
  measure("plans_of_key", [&] { EXPECT_EQ(store.plans_of_key(key_id(7)).size(), 1u); });
  measure("membership", [&] { EXPECT_TRUE(store.membership("big", key_id(7))); });
  measure("keys_hashed", [&] { EXPECT_FALSE(store.keys_hashed()); });
  measure("few", [&] { EXPECT_EQ(store.few().usage_plans.size(), 2u); });
  std::string position;
  measure("list_api_keys first page", [&] {
    const KeyListing page = store.list_api_keys(KeyQuery{});
    ASSERT_EQ(page.keys.size(), 25u);
    EXPECT_EQ(page.keys[0].id, key_id(kKeys - 1));  // newest first
    position = page.next_position;
  });
  measure("list_api_keys later page", [&] {
    KeyQuery q;
    q.position = position;
    EXPECT_EQ(store.list_api_keys(q).keys[0].id, key_id(kKeys - 26));
  });
  measure("list_api_keys by name", [&] {
    KeyQuery q;
    q.name_prefix = "name-4242";
    EXPECT_EQ(store.list_api_keys(q).keys.size(), 11u);  // name-4242 and name-42420 ... name-42429
  });
  measure("list_api_keys of a customer", [&] {
    KeyQuery q;
    q.customer_id = "customer-7";
    q.limit = 10;
    EXPECT_EQ(store.list_api_keys(q).keys.size(), 10u);
  });
  measure("list_api_keys by name, counted", [&] {
    KeyQuery q;
    q.by_name = true;
    q.with_total = true;
    const KeyListing page = store.list_api_keys(q);
    EXPECT_EQ(page.total, static_cast<std::size_t>(kKeys));
    EXPECT_EQ(page.keys.size(), 25u);
  });
  measure("list_plan_keys", [&] {
    MemberQuery q;
    q.plan_id = "big";
    const MemberListing page = store.list_plan_keys(q);
    ASSERT_EQ(page.members.size(), 25u);
    q.position = page.next_position;
    EXPECT_EQ(store.list_plan_keys(q).members[0].member.key_id, key_id(kKeys - 26));
  });
  measure("create a key", [&] {
    auto tx = store.begin();
    EXPECT_FALSE(tx->key_id_with_value("fresh-value-0123456789"));
    tx->put(
        ApiKey{"fresh", "fresh-value-0123456789", "fresh", "", "", true, 99999999, 99999999, {}});
    tx->commit();
  });
  measure("add a key to a plan", [&] {
    auto tx = store.begin();
    EXPECT_TRUE(tx->api_key("fresh"));
    EXPECT_TRUE(tx->plans_of_key("fresh").empty());
    tx->put(UsagePlanKey{"other", "fresh", 99999999});
    tx->commit();
  });
  measure("disable a key", [&] {
    auto tx = store.begin();
    ApiKey k = *tx->api_key(key_id(9));
    k.enabled = false;
    tx->put(k);
    tx->commit();
  });
  measure("delete a membership", [&] {
    auto tx = store.begin();
    EXPECT_TRUE(tx->membership("big", key_id(11)));
    tx->erase_usage_plan_key("big", key_id(11));
    tx->commit();
  });
  measure("delete a key", [&] {
    auto tx = store.begin();
    tx->erase_api_key(key_id(12));
    tx->commit();
  });
  measure("control_delta", [&] {
    const ControlDelta delta = store.control_delta(before);
    EXPECT_TRUE(delta.keys_only);
    EXPECT_EQ(delta.version, before + 5);
    EXPECT_EQ(delta.keys.size(), 4u);  // fresh, key9, key11, key12
  });
  measure("former_members", [&] { EXPECT_EQ(store.former_members("big").size(), 2u); });
}

TEST(ControlByKey, SqliteOperationsScanAPageAtMostAndStepBoundedly) {
  TempDir temp;
  SqliteStore store(temp.path() / "t.db");
  fill(store);
  each_operation(store, [](const std::string& name, const std::function<void()>& operation) {
    const SqliteWork before = sqlite_work_on_this_thread();
    operation();
    const SqliteWork& after = sqlite_work_on_this_thread();
    // An index walked from its end for a page counts as a scan: of a page.
    EXPECT_LT(after.full_scan_steps - before.full_scan_steps, 100) << name;
    EXPECT_LT(after.vm_steps - before.vm_steps, 5000) << name;
  });
}

TEST(ControlByKey, RedisOperationsReadBoundedlyFew) {
  RedisServer server;
  RedisMetrics metrics;
  RedisStore store(RedisAddress::parse(server.url()), "node-a", &metrics);
  fill(store);
  each_operation(store,
                 [&metrics](const std::string& name, const std::function<void()>& operation) {
                   const std::uint64_t commands = metrics.commands.load();
                   const std::uint64_t values = metrics.reply_values.load();
                   operation();
                   EXPECT_LT(metrics.commands.load() - commands, 100u) << name;
                   EXPECT_LT(metrics.reply_values.load() - values, 1000u) << name;
                 });
}

}  // namespace
}  // namespace tollgate
