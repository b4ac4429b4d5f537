#include "store/migrate.h"

#include <gtest/gtest.h>

#include "redis_server.h"
#include "store/redis_store.h"
#include "store/sqlite_store.h"
#include "temp_dir.h"

namespace tollgate {
namespace {

TEST(MigrateStore, CopiesControlStateUsageAndAdjustmentsIntoAnEmptyStore) {
  TempDir temp;
  RedisServer server;
  SqliteStore from(temp.path() / "tollgate.db");
  RedisStore to(RedisAddress::parse(server.url()), "node-a");
  UsagePlan plan;
  plan.id = "p1";
  plan.name = "gold";
  plan.quota = Quota{100, 0, QuotaPeriod::kMonth};
  {
    auto tx = from.begin();
    tx->put(plan);
    tx->put(ApiKey{"k1", "value-0123456789abcdef", "alice", "", "", true, 1, 1, {}});
    tx->put(ApiKey{"k2", "value-fedcba9876543210", "bob", "", "", false, 1, 1, {}});
    tx->put(UsagePlanKey{"p1", "k1", 5});
    tx->put(AccountSettings{Throttle{50, 100}, "arn:aws:iam::123456789012:role/logs"});
    tx->commit();
  }
  from.add_usage({{"p1", "k1", 200, 7}, {"p1", "k1", 201, 3}, {"p1", "gone", 201, 2}});
  from.add_adjustment({"p1", "k1", 201, -2, 9, "admin"});

  const MigrationReport r = migrate_store(from, to);
  EXPECT_EQ(r.entities, 4u);
  EXPECT_EQ(r.usage_rows, 3u);
  EXPECT_EQ(r.adjustments, 1u);
  EXPECT_EQ(to.adjustments_between(201, 201).at(0).id, from.adjustments_between(201, 201).at(0).id);

  const ControlState a = from.load_control_state();
  const ControlState b = to.load_control_state();
  EXPECT_EQ(b.api_keys, a.api_keys);
  EXPECT_EQ(b.usage_plans, a.usage_plans);
  EXPECT_EQ(b.account, a.account);
  ASSERT_EQ(b.usage_plan_keys.size(), 1u);
  EXPECT_EQ(b.usage_plan_keys[0].created_date, 5);
  EXPECT_EQ(to.usage_between("p1", "k1", 0, 1000), 10);
  EXPECT_EQ(to.usage_between("p1", "gone", 0, 1000), 2);
  EXPECT_EQ(to.quota_used_by_key("p1", QuotaPeriod::kMonth, 200, 201).at("k1"), 8);

  // Into a store that holds control state: refused, nothing added.
  EXPECT_THROW(migrate_store(from, to), std::invalid_argument);
  EXPECT_EQ(to.usage_between("p1", "k1", 0, 1000), 10);
}

}  // namespace
}  // namespace tollgate
