#include "store/migrate.h"

#include <cstdint>
#include <limits>
#include <set>
#include <stdexcept>

namespace tollgate {
namespace {

constexpr std::int64_t kFirstDay = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kLastDay = std::numeric_limits<std::int64_t>::max();
constexpr std::size_t kUsageBatch = 10000;

bool holds_control_state(const ControlState& s) {
  return !s.apis.empty() || !s.api_keys.empty() || !s.usage_plans.empty() || !s.stages.empty();
}

}  // namespace

MigrationReport migrate_store(Store& from, Store& to) {
  MigrationReport report;
  const ControlState state = from.load_control_state();
  {
    auto tx = to.begin();
    if (holds_control_state(tx->state()))
      throw std::invalid_argument(
          "the destination already holds control state; migrate only into an empty store");
    for (const auto& x : state.apis) tx->put(x);
    for (const auto& x : state.deployments) tx->put(x);
    for (const auto& x : state.stages) tx->put(x);
    for (const auto& x : state.api_keys) tx->put(x);
    for (const auto& x : state.usage_plans) tx->put(x);
    for (const auto& x : state.usage_plan_keys) tx->put(x);
    tx->put(state.account);
    if (state.keys_hashed) tx->set_keys_hashed();
    tx->commit();
    report.entities = state.apis.size() + state.deployments.size() + state.stages.size() +
                      state.api_keys.size() + state.usage_plans.size() +
                      state.usage_plan_keys.size();
  }

  std::vector<UsageDelta> batch;
  std::set<std::pair<std::string, std::string>> counted;  // every (plan, key) with usage
  from.scan_usage(kFirstDay, kLastDay, UsageRow{kFirstDay, "", "", 0}, [&](const UsageRow& row) {
    batch.push_back({row.plan_id, row.key_id, row.day, row.used, row.customer_id});
    counted.emplace(row.plan_id, row.key_id);
    if (batch.size() == kUsageBatch) {
      to.add_usage(batch);
      report.usage_rows += batch.size();
      batch.clear();
    }
    return true;
  });
  to.add_usage(batch);
  report.usage_rows += batch.size();

  // Adjustments are found by (plan, key): those of keys still in a plan and
  // those of keys that counted usage.
  for (const auto& pk : state.usage_plan_keys) counted.emplace(pk.plan_id, pk.key_id);
  for (const auto& [plan_id, key_id] : counted) {
    for (const UsageAdjustment& a : from.adjustments(plan_id, key_id, kFirstDay, kLastDay)) {
      to.add_adjustment(a);
      ++report.adjustments;
    }
  }
  return report;
}

}  // namespace tollgate
