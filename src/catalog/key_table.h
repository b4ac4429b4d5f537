#pragma once

// The catalog's API keys by value, laid out for the decision path at a
// million keys: one open-addressed array of 32-byte records, each holding
// what a decision needs of the key (enabled, and its first usage plan
// binding: the plan's limits, the key's counters, its usage slot), and the
// key values, ids and customers back to back in one buffer: the value, the
// id, then the customer's length in two bytes and the customer. A lookup
// reads one record and then, all at once, the value to compare, the
// counters and the usage slot; a node-based map chased five pointers one
// after the other.

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "catalog/limit_ref.h"
#include "limits/limit_states.h"
#include "metering/usage_slot.h"
#include "model/types.h"

namespace tollgate {

struct StageEntry;

// One usage plan on one stage it covers: what every key of the plan shares.
struct PlanStage {
  const StageEntry* stage = nullptr;
  std::string plan_id;
  std::optional<BucketParams> key_throttle;  // each key's bucket is in its KeyPlanState
  std::optional<Quota> quota;
  bool method_throttles = false;  // the plan throttles some method here: look up the key's buckets
  // As the plan declares them, for the customer usage page (key_throttle
  // is this node's share).
  std::string plan_name;
  std::optional<Throttle> throttle;
};

struct MethodLimit {
  std::uint32_t method_index;
  LimitRef limit;
};

// A key's membership in the one usage plan that covers a given stage.
struct KeyBinding {
  const PlanStage* plan = nullptr;  // null: the key has no plan for the stage
  KeyPlanState* state = nullptr;
  UsageSlot* usage = nullptr;
  std::int64_t initial_window_id = 0;  // the quota window the key joined the plan in
  std::span<const MethodLimit> method_limits;

  const LimitRef* method_limit(std::uint32_t method_index) const;
};

class KeyTable {
 public:
  struct Record;

  // Room for `keys` keys whose values and ids take `text_bytes` in all; the
  // table does not grow, so every add_key comes after this.
  void reserve(std::size_t keys, std::size_t text_bytes);
  // The bytes add_key takes of the text buffer for a key.
  static std::size_t text_bytes(std::string_view value, std::string_view id,
                                std::string_view customer_id) {
    return value.size() + id.size() + 2 + customer_id.size();
  }
  // Adds a key; a value added again replaces the earlier key's id, flag and
  // customer. Values and ids are at most 255 bytes (the model allows 128
  // for values), customers 65,535.
  Record& add_key(std::string_view value, std::string_view id, bool enabled,
                  std::string_view customer_id = {});
  // Marks `value` as no longer a key: a table of recent changes laid over
  // another (see Catalog) hides the other's key with it.
  void add_removed(std::string_view value);
  std::uint16_t add_plan_stage(PlanStage plan);
  // The plan stages of `other`, under the same numbers: a table laid over
  // another binds keys to them alike.
  void share_plan_stages(const KeyTable& other) { plan_stages_ = other.plan_stages_; }
  // Adds a copy of `key`, a key of `from` (whose plan stages this table
  // shares), with all its bindings.
  void add_copy(const KeyTable& from, const Record& key);
  // Calls `fn(record)` for every record, removal marks included.
  template <typename Fn>
  void each(Fn fn) const {
    for (const Record& r : records_)
      if (r.tag != 0) fn(r);
  }
  static bool removed(const Record& key) { return (key.enabled & kRemovedFlag) != 0; }
  std::string_view value(const Record& key) const {
    return {text_.data() + key.text, key.value_size};
  }
  std::size_t text_size() const { return text_.size(); }
  void bind(Record& key, std::uint16_t plan_stage, KeyPlanState* state, UsageSlot* usage,
            std::int64_t initial_window_id, std::vector<MethodLimit> method_limits);

  const Record* find(std::string_view value) const;
  // Starts fetching where `value` would be, for an add_key or find soon after.
  void prefetch(std::string_view value) const {
    if (!records_.empty())
      __builtin_prefetch(&records_[home_of(hash_value(value), records_.size())]);
  }
  std::string_view id(const Record& key) const;
  bool enabled(const Record& key) const { return (key.enabled & 1) != 0; }
  // The customer the key is billed to ("" for none). An id view id() gave
  // names its key's customer too: the customer follows the id in the text.
  std::string_view customer(const Record& key) const { return customer_after(id(key)); }
  static std::string_view customer_after(std::string_view id);
  // The key's binding for `stage`; plan is null when none of its plans covers it.
  KeyBinding binding(const Record& key, const StageEntry* stage) const;
  // Every binding of the key, one per stage a plan of it covers.
  std::vector<KeyBinding> bindings(const Record& key) const;
  // find and binding are inline below: called out of line, the 48-byte
  // binding returned through memory stalled the decision on store forwarding.
  std::size_t size() const { return size_; }

  struct Record {
    std::uint16_t tag = 0;  // high bits of the value's hash; 0: an empty slot
    std::uint8_t value_size = 0;
    std::uint8_t id_size = 0;
    std::uint8_t enabled = 0;            // bit 0: enabled; kRemovedFlag: a removal mark
    std::uint8_t more_bindings = 0;      // beyond the first, kept in extra_bindings_
    std::uint16_t plan_stage = kNoPlan;  // the first binding's
    std::uint32_t text = 0;              // offset of the value, the id right after it
    std::int32_t initial_window_id = 0;
    KeyPlanState* state = nullptr;
    UsageSlot* usage = nullptr;
  };
  static_assert(sizeof(Record) == 32);

 private:
  static constexpr std::uint16_t kNoPlan = 0xFFFF;
  static constexpr std::uint8_t kRemovedFlag = 2;
  struct ExtraBinding {
    std::uint16_t plan_stage;
    std::int32_t initial_window_id;
    KeyPlanState* state;
    UsageSlot* usage;
  };

  static std::uint64_t hash_value(std::string_view value) {
    return std::hash<std::string_view>{}(value);
  }
  static std::uint16_t tag_of(std::uint64_t hash) {
    return static_cast<std::uint16_t>(hash >> 48) | 1u;
  }
  // The home slot: the hash's low half scaled to the table's size, which need
  // not be a power of two.
  static std::size_t home_of(std::uint64_t hash, std::size_t capacity) {
    return static_cast<std::size_t>(((hash & 0xFFFFFFFFull) * capacity) >> 32);
  }
  // What binding() does not settle inline: further plans, per-method throttles.
  KeyBinding other_binding(const Record& key, const StageEntry* stage) const;
  std::uint32_t index_of(const Record& key) const {
    return static_cast<std::uint32_t>(&key - records_.data());
  }
  KeyBinding binding_at(const Record& key, int n) const;

  std::vector<Record> records_;
  std::string text_;
  std::size_t size_ = 0;
  std::vector<PlanStage> plan_stages_;
  // Keys in more than one plan (each covering other stages) are rare: their
  // further bindings are found by the record's index.
  std::unordered_map<std::uint32_t, std::vector<ExtraBinding>> extra_bindings_;
  // Per-method throttles of a key under its plan, by (record index, binding).
  std::unordered_map<std::uint64_t, std::vector<MethodLimit>> method_limits_;
};

inline const KeyTable::Record* KeyTable::find(std::string_view value) const {
  if (records_.empty()) return nullptr;
  const std::uint64_t hash = hash_value(value);
  const std::uint16_t tag = tag_of(hash);
  for (std::size_t i = home_of(hash, records_.size());; i = i + 1 == records_.size() ? 0 : i + 1) {
    const Record& r = records_[i];
    if (r.tag == 0) return nullptr;
    if (r.tag != tag) continue;
    // With a million keys each of these is a cache miss of its own: ask for
    // all three now rather than one after another.
    __builtin_prefetch(r.state, 1);
    __builtin_prefetch(r.usage, 1);
    if (this->value(r) == value) return &r;
  }
}

inline KeyBinding KeyTable::binding(const Record& key, const StageEntry* stage) const {
  if (key.plan_stage != kNoPlan) {
    const PlanStage& plan = plan_stages_[key.plan_stage];
    if (plan.stage == stage && !plan.method_throttles)
      return {&plan, key.state, key.usage, key.initial_window_id, {}};
  }
  return other_binding(key, stage);
}

}  // namespace tollgate
