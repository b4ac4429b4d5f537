// A catalog brought up to date by applying the store's change log as
// deltas serves exactly what a catalog rebuilt from the whole store
// serves, after any sequence of creates, updates, deletes, memberships and
// plan changes, on both stores.

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "control_state_builders.h"
#include "redis_server.h"
#include "store/redis_store.h"
#include "store/sqlite_store.h"
#include "temp_dir.h"

namespace tollgate {
namespace {

Method keyed_get() {
  Method m;
  m.http_method = "GET";
  m.api_key_required = true;
  Integration i;
  i.type = IntegrationType::kMock;
  m.integration = i;
  return m;
}

// API api1 deployed to stages prod and dev; plan gold covers prod, silver dev.
void seed(Store& store) {
  auto tx = store.begin();
  RestApi api;
  api.id = "api1";
  api.name = "api";
  Resource root{"r0", "", "", "/", {}};
  root.methods["GET"] = keyed_get();
  api.resources = {root};
  tx->put(api);
  tx->put(Deployment{"api1", "d1", "", 0, api.resources, {}});
  tx->put(stage_of("api1", "prod", "d1"));
  tx->put(stage_of("api1", "dev", "d1"));
  for (const char* plan : {"gold", "silver"}) {
    UsagePlan p;
    p.id = plan;
    p.name = plan;
    p.api_stages = {{"api1", plan == std::string("gold") ? "prod" : "dev", {}}};
    p.quota = Quota{1000, 0, QuotaPeriod::kMonth};
    tx->put(p);
  }
  tx->commit();
}

// One random change, in a transaction of its own (or, now and then, a few).
void change(Store& store, std::mt19937& random, std::set<std::string>& values_used) {
  const auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
  const std::string id = "k" + std::to_string(pick(12));
  auto tx = store.begin();
  const int changes = pick(4) == 0 ? 3 : 1;
  for (int c = 0; c < changes; ++c) {
    const std::optional<ApiKey> key = tx->api_key(id);
    switch (pick(8)) {
      case 0:
      case 1: {  // create or replace, sometimes with a new value
        ApiKey k = key.value_or(ApiKey{id, "", "n", "", "", true, 100, 100, {}});
        if (!key || pick(3) == 0) k.value = "value-" + std::to_string(pick(20)) + "-0123456789";
        if (tx->key_id_with_value(k.value).value_or(id) != id) break;  // values stay unique
        values_used.insert(k.value);
        tx->put(k);
        break;
      }
      case 2:  // enable or disable, or a new customer
        if (!key) break;
        {
          ApiKey k = *key;
          if (pick(2) == 0)
            k.enabled = !k.enabled;
          else
            k.customer_id = "c" + std::to_string(pick(3));
          tx->put(k);
        }
        break;
      case 3:
        if (key) tx->erase_api_key(id);
        break;
      case 4:
      case 5:
        if (key)
          tx->put(UsagePlanKey{pick(2) == 0 ? "gold" : "silver", id, 200 + pick(100) * 86400});
        break;
      case 6:
        tx->erase_usage_plan_key(pick(2) == 0 ? "gold" : "silver", id);
        break;
      case 7: {  // a plan changes: a delta cannot say, the catalog is rebuilt
        UsagePlan gold = tx->few().usage_plans[0];
        gold.quota->limit += 1;
        tx->put(gold);
        break;
      }
    }
  }
  tx->commit();
}

// What a catalog serves for one key value, as text to compare.
std::string served(const Catalog& catalog, const std::string& value) {
  const Catalog::Key key = catalog.find_key(value);
  if (!key) return "none";
  std::string out = std::string(key.id()) + (key.enabled() ? " enabled" : " disabled") +
                    " customer " + std::string(KeyTable::customer_after(key.id()));
  for (const char* stage : {"prod", "dev"}) {
    const KeyBinding b = key.binding(catalog.stage("api1", stage));
    if (!b.plan) continue;
    out += std::string(" ") + stage + ":" + b.plan->plan_id + "/" +
           std::to_string(b.initial_window_id) + "/" +
           std::to_string(b.plan->quota ? b.plan->quota->limit : -1) + "/" +
           std::to_string(reinterpret_cast<std::uintptr_t>(b.state));
  }
  return out;
}

class CatalogDelta : public ::testing::Test {
 protected:
  std::shared_ptr<const Catalog> rebuild(Store& store) {
    const std::uint64_t version = store.control_version();
    return build_catalog(store.load_serving_state(), limits, loader, members,
                         CatalogBuild{.version = version});
  }

  // Applies `store`'s random changes one after another to a catalog kept
  // by deltas, and compares it with a rebuild after each.
  void check(Store& store, std::size_t max_recent) {
    seed(store);
    std::shared_ptr<const Catalog> kept = rebuild(store);
    std::mt19937 random(20261207);
    std::set<std::string> values;
    int deltas = 0;
    for (int step = 0; step < 400; ++step) {
      change(store, random, values);
      const ControlDelta delta = store.control_delta(kept->version());
      if (delta.keys_only) {
        kept = apply_key_changes(*kept, delta.keys, limits, loader, members, 0, delta.version,
                                 max_recent);
        ++deltas;
      } else {
        kept = rebuild(store);
      }
      const std::shared_ptr<const Catalog> whole = rebuild(store);
      ASSERT_EQ(kept->version(), whole->version());
      ASSERT_EQ(kept->key_count(), whole->key_count()) << "step " << step;
      for (const std::string& value : values)
        ASSERT_EQ(served(*kept, value), served(*whole, value))
            << "step " << step << ", value " << value;
    }
    EXPECT_GT(deltas, 200);  // most changes are to keys
  }

  LimitStates limits;
  UsageLoader loader = [](const std::string&, const std::string&, QuotaPeriod, std::int64_t,
                          std::int64_t) { return std::int64_t{0}; };
  MemberProvider members = [](std::size_t) { return MemberRefs{}; };
};

// With few recent keys allowed, the keys are compacted into one table every
// few deltas; with many, the recent tables are merged every few deltas.
TEST_F(CatalogDelta, SqliteDeltasServeWhatARebuildServes) {
  for (const std::size_t max_recent : {5, 1000}) {
    TempDir temp;
    SqliteStore store(temp.path() / ("t" + std::to_string(max_recent) + ".db"));
    check(store, max_recent);
  }
}

TEST_F(CatalogDelta, RedisDeltasServeWhatARebuildServes) {
  for (const std::size_t max_recent : {5, 1000}) {
    RedisServer server;
    RedisStore store(RedisAddress::parse(server.url()), "node-a");
    check(store, max_recent);
  }
}

}  // namespace
}  // namespace tollgate
