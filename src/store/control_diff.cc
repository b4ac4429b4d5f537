#include "store/control_diff.h"

#include <algorithm>

namespace tollgate {
namespace {

std::string describe(const RestApi& a) { return "rest api " + a.name + " (id " + a.id + ")"; }
std::string describe(const Deployment& d) { return "deployment " + d.id + " of api " + d.api_id; }
std::string describe(const Stage& s) {
  return "stage " + s.stage_name + " of api " + s.api_id + " (deployment " + s.deployment_id + ")";
}
std::string describe(const ApiKey& k) { return "api key " + k.name + " (id " + k.id + ")"; }
std::string describe(const UsagePlan& p) { return "usage plan " + p.name + " (id " + p.id + ")"; }
std::string describe(const UsagePlanKey& pk) { return "key " + pk.key_id + " in usage plan " + pk.plan_id; }

bool same(const RestApi& a, const RestApi& b) { return a.id == b.id; }
bool same(const Deployment& a, const Deployment& b) { return a.api_id == b.api_id && a.id == b.id; }
bool same(const Stage& a, const Stage& b) { return a.api_id == b.api_id && a.stage_name == b.stage_name; }
bool same(const ApiKey& a, const ApiKey& b) { return a.id == b.id; }
bool same(const UsagePlan& a, const UsagePlan& b) { return a.id == b.id; }
bool same(const UsagePlanKey& a, const UsagePlanKey& b) { return a.plan_id == b.plan_id && a.key_id == b.key_id; }

void erase(ControlTransaction& tx, const RestApi& a) { tx.erase_api(a.id); }
void erase(ControlTransaction& tx, const Deployment& d) { tx.erase_deployment(d.api_id, d.id); }
void erase(ControlTransaction& tx, const Stage& s) { tx.erase_stage(s.api_id, s.stage_name); }
void erase(ControlTransaction& tx, const ApiKey& k) { tx.erase_api_key(k.id); }
void erase(ControlTransaction& tx, const UsagePlan& p) { tx.erase_usage_plan(p.id); }
void erase(ControlTransaction& tx, const UsagePlanKey& pk) { tx.erase_usage_plan_key(pk.plan_id, pk.key_id); }

template <typename T>
void diff(ControlTransaction& tx, const std::vector<T>& before, const std::vector<T>& after, DiffReport& report) {
  // Erasures first: erasing a parent (an API, a key) cascades to its children,
  // which the puts below then restore where they survive.
  for (const auto& item : before) {
    if (std::any_of(after.begin(), after.end(), [&](const T& a) { return same(a, item); })) continue;
    erase(tx, item);
    ++report.changes;
    report.lines.push_back("deleted " + describe(item));
  }
  for (const auto& item : after) {
    auto it = std::find_if(before.begin(), before.end(), [&](const T& b) { return same(b, item); });
    if (it != before.end() && *it == item) continue;
    tx.put(item);
    ++report.changes;
    report.lines.push_back((it == before.end() ? "created " : "updated ") + describe(item));
  }
}

}  // namespace

DiffReport write_diff(ControlTransaction& tx, const ControlState& before, const ControlState& after) {
  DiffReport report;
  diff(tx, before.apis, after.apis, report);
  diff(tx, before.deployments, after.deployments, report);
  diff(tx, before.stages, after.stages, report);
  diff(tx, before.api_keys, after.api_keys, report);
  diff(tx, before.usage_plans, after.usage_plans, report);
  diff(tx, before.usage_plan_keys, after.usage_plan_keys, report);
  if (before.account != after.account) {
    tx.put(after.account);
    ++report.changes;
    report.lines.push_back("updated account");
  }
  return report;
}

}  // namespace tollgate
