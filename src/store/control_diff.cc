#include "store/control_diff.h"

#include <string>
#include <unordered_map>
#include <unordered_set>

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

// What names an item: two versions of one item share it.
std::string identity(const RestApi& a) { return a.id; }
std::string identity(const Deployment& d) { return d.api_id + '/' + d.id; }
std::string identity(const Stage& s) { return s.api_id + '/' + s.stage_name; }
std::string identity(const ApiKey& k) { return k.id; }
std::string identity(const UsagePlan& p) { return p.id; }
std::string identity(const UsagePlanKey& pk) { return pk.plan_id + '/' + pk.key_id; }

void erase(ControlTransaction& tx, const RestApi& a) { tx.erase_api(a.id); }
void erase(ControlTransaction& tx, const Deployment& d) { tx.erase_deployment(d.api_id, d.id); }
void erase(ControlTransaction& tx, const Stage& s) { tx.erase_stage(s.api_id, s.stage_name); }
void erase(ControlTransaction& tx, const ApiKey& k) { tx.erase_api_key(k.id); }
void erase(ControlTransaction& tx, const UsagePlan& p) { tx.erase_usage_plan(p.id); }
void erase(ControlTransaction& tx, const UsagePlanKey& pk) { tx.erase_usage_plan_key(pk.plan_id, pk.key_id); }

template <typename T>
void diff(ControlTransaction& tx, const std::vector<T>& before, const std::vector<T>& after, DiffReport& report) {
  // Indexed by identity: a state may hold a million keys.
  std::unordered_map<std::string, const T*> earlier;
  earlier.reserve(before.size());
  for (const auto& item : before) earlier.emplace(identity(item), &item);
  std::unordered_set<std::string> surviving;
  surviving.reserve(after.size());
  for (const auto& item : after) surviving.insert(identity(item));
  // Erasures first: erasing a parent (an API, a key) cascades to its children,
  // which the puts below then restore where they survive.
  for (const auto& item : before) {
    if (surviving.contains(identity(item))) continue;
    erase(tx, item);
    ++report.changes;
    report.lines.push_back("deleted " + describe(item));
  }
  for (const auto& item : after) {
    const auto it = earlier.find(identity(item));
    if (it != earlier.end() && *it->second == item) continue;
    tx.put(item);
    ++report.changes;
    report.lines.push_back((it == earlier.end() ? "created " : "updated ") + describe(item));
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
  if (after.keys_hashed && !before.keys_hashed) {
    tx.set_keys_hashed();
    ++report.changes;
    report.lines.push_back("key values stored hashed");
  }
  return report;
}

}  // namespace tollgate
