#include "store/control_diff.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
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
std::string describe(const UsagePlanKey& pk) {
  return "key " + pk.key_id + " in usage plan " + pk.plan_id;
}

// What names an item: two versions of one item share it. Views into the
// item: a state may hold a million keys, and a copy of each name would be
// an allocation.
using Identity = std::pair<std::string_view, std::string_view>;
Identity identity(const RestApi& a) { return {a.id, {}}; }
Identity identity(const Deployment& d) { return {d.api_id, d.id}; }
Identity identity(const Stage& s) { return {s.api_id, s.stage_name}; }
Identity identity(const ApiKey& k) { return {k.id, {}}; }
Identity identity(const UsagePlan& p) { return {p.id, {}}; }
Identity identity(const UsagePlanKey& pk) { return {pk.plan_id, pk.key_id}; }

struct IdentityHash {
  std::size_t operator()(const Identity& i) const {
    const std::size_t first = std::hash<std::string_view>{}(i.first);
    return first ^ (std::hash<std::string_view>{}(i.second) + 0x9e3779b97f4a7c15ULL + (first << 6) +
                    (first >> 2));
  }
};

void erase(ControlTransaction& tx, const RestApi& a) { tx.erase_api(a.id); }
void erase(ControlTransaction& tx, const Deployment& d) { tx.erase_deployment(d.api_id, d.id); }
void erase(ControlTransaction& tx, const Stage& s) { tx.erase_stage(s.api_id, s.stage_name); }
void erase(ControlTransaction& tx, const ApiKey& k) { tx.erase_api_key(k.id); }
void erase(ControlTransaction& tx, const UsagePlan& p) { tx.erase_usage_plan(p.id); }
void erase(ControlTransaction& tx, const UsagePlanKey& pk) {
  tx.erase_usage_plan_key(pk.plan_id, pk.key_id);
}

template <typename T>
void put(ControlTransaction& tx, const T& item, bool created, DiffReport& report) {
  tx.put(item);
  ++report.changes;
  report.lines.push_back((created ? "created " : "updated ") + describe(item));
}

template <typename T>
void diff(ControlTransaction& tx, const std::vector<T>& before, const std::vector<T>& after,
          DiffReport& report) {
  // An edit changes few items and keeps the others where they were: the
  // runs both states begin and end with, item for item, are compared in
  // place, and only what lies between them is matched by identity.
  std::size_t head = 0;
  while (head < before.size() && head < after.size() &&
         identity(before[head]) == identity(after[head])) {
    if (!(before[head] == after[head])) put(tx, after[head], false, report);
    ++head;
  }
  std::size_t before_end = before.size();
  std::size_t after_end = after.size();
  while (before_end > head && after_end > head &&
         identity(before[before_end - 1]) == identity(after[after_end - 1])) {
    --before_end;
    --after_end;
    if (!(before[before_end] == after[after_end])) put(tx, after[after_end], false, report);
  }
  std::unordered_map<Identity, const T*, IdentityHash> earlier;
  earlier.reserve(before_end - head);
  for (std::size_t i = head; i < before_end; ++i) earlier.emplace(identity(before[i]), &before[i]);
  // Erasures first: erasing a parent (an API, a key) cascades to its children,
  // which the puts below then restore where they survive. (A first apply
  // has nothing to erase, and a million new keys need no set.)
  std::unordered_set<Identity, IdentityHash> surviving;
  if (before_end > head) {
    surviving.reserve(after_end - head);
    for (std::size_t i = head; i < after_end; ++i) surviving.insert(identity(after[i]));
  }
  for (std::size_t i = head; i < before_end; ++i) {
    if (surviving.contains(identity(before[i]))) continue;
    erase(tx, before[i]);
    ++report.changes;
    report.lines.push_back("deleted " + describe(before[i]));
  }
  // Written in the order of their identity: a store's indexes by it take
  // a million new rows one after another rather than all over the index.
  std::vector<std::pair<const T*, bool>> puts;  // the item, and whether it is new
  for (std::size_t i = head; i < after_end; ++i) {
    const auto it = earlier.find(identity(after[i]));
    if (it != earlier.end() && *it->second == after[i]) continue;
    puts.emplace_back(&after[i], it == earlier.end());
  }
  std::sort(puts.begin(), puts.end(),
            [](const auto& a, const auto& b) { return identity(*a.first) < identity(*b.first); });
  for (const auto& [item, created] : puts) put(tx, *item, created, report);
}

}  // namespace

DiffReport write_diff(ControlTransaction& tx, const ControlState& before,
                      const ControlState& after) {
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
