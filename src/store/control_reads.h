#pragma once

// Control state read by key, through indexes: what an operation on one key
// or one membership needs, at a cost that follows the rows it names and
// not the size of the store. A store answers these in a read transaction
// of their own; a write transaction answers them as it sees the store.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/types.h"

namespace tollgate {

// A page of API keys, most recently created first (as AWS lists them) or
// by name (as the console does).
struct KeyQuery {
  std::string name_prefix;                 // only keys whose name starts with it
  std::optional<std::string> customer_id;  // only keys of this customer
  std::optional<std::string> plan_id;      // only keys in this plan (by name only)
  std::string position;                    // the id of the page's first key; empty: the first page
  std::size_t limit = 25;
  bool by_name = false;
  bool with_total = false;  // count the keys of every page too (by name only)
};

struct KeyListing {
  std::vector<ApiKey> keys;
  std::string next_position;   // empty on the last page
  bool position_found = true;  // false: the position names no listed key
  std::size_t total = 0;       // with_total: how many keys the query lists on all its pages
};

// A page of a usage plan's keys, most recently added first.
struct MemberQuery {
  std::string plan_id;
  std::string name_prefix;
  std::string position;  // the key id of the page's first member
  std::size_t limit = 25;
};

struct PlanMember {
  UsagePlanKey member;
  ApiKey key;
};

struct MemberListing {
  std::vector<PlanMember> members;
  std::string next_position;
  bool position_found = true;
};

class ControlReads {
 public:
  virtual ~ControlReads() = default;

  // APIs, deployments, stages, usage plans, the account and whether keys
  // are hashed: the few. api_keys and usage_plan_keys are left empty.
  virtual ControlState few() = 0;
  // Whether key values are kept as digests (ControlState::keys_hashed).
  virtual bool keys_hashed() = 0;
  virtual std::optional<ApiKey> api_key(const std::string& key_id) = 0;
  // The id of the key whose stored value is `value`.
  virtual std::optional<std::string> key_id_with_value(const std::string& value) = 0;
  // The key's memberships, by plan id.
  virtual std::vector<UsagePlanKey> plans_of_key(const std::string& key_id) = 0;
  virtual std::optional<UsagePlanKey> membership(const std::string& plan_id,
                                                 const std::string& key_id) = 0;
  // A key that is in both plans, if any.
  virtual std::optional<std::string> key_in_both(const std::string& plan_id,
                                                 const std::string& other_plan_id) = 0;
  virtual KeyListing list_api_keys(const KeyQuery& query) = 0;
  virtual MemberListing list_plan_keys(const MemberQuery& query) = 0;
  // The ids of a plan's keys, sorted.
  virtual std::vector<std::string> plan_key_ids(const std::string& plan_id) = 0;
  virtual std::size_t plan_key_count(const std::string& plan_id) = 0;
};

// What the data plane serves of one API key: its value, flag, customer and
// its memberships.
struct ServingKey {
  std::string id;
  std::string value;
  bool enabled = false;
  std::string customer_id;
  std::vector<UsagePlanKey> memberships;
};

// An API key changed after some version: the values it had then (to be
// dropped from a catalog) and what it is now, unless it was deleted.
struct ChangedKey {
  std::string id;
  std::vector<std::string> former_values;
  std::optional<ServingKey> now;
};

// What changed in the control state after a version, read from the store's
// change log in one read transaction.
struct ControlDelta {
  std::uint64_t version = 0;  // what the store is at: applying the delta brings a catalog there
  // False when the log cannot tell: it no longer reaches back that far, a
  // write changed too many keys to list them, or APIs, stages, deployments,
  // plans or the account changed (the few are rebuilt whole).
  bool keys_only = true;
  std::vector<ChangedKey> keys;
};

// How many keys one delta may name before a rebuild is the cheaper way.
inline constexpr std::size_t kMaxDeltaKeys = 50000;

}  // namespace tollgate
