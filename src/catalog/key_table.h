#pragma once

// The catalog's API keys by value, laid out for the decision path at a
// million keys: one open-addressed array of 32-byte records, each holding
// what a decision needs of the key (enabled, and its first usage plan
// binding: the plan's limits, the key's counters, its usage slot), and the
// key values and ids back to back in one buffer. A lookup reads one record
// and then, all at once, the value to compare, the counters and the usage
// slot; a node-based map chased five pointers one after the other.

#include <cstdint>
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
  // Adds a key; a value added again replaces the earlier key's id and flag.
  // Values and ids are at most 255 bytes (the model allows 128 for values).
  Record& add_key(std::string_view value, std::string_view id, bool enabled);
  std::uint16_t add_plan_stage(PlanStage plan);
  void bind(Record& key, std::uint16_t plan_stage, KeyPlanState* state, UsageSlot* usage,
            std::int64_t initial_window_id, std::vector<MethodLimit> method_limits);

  const Record* find(std::string_view value) const;
  std::string_view id(const Record& key) const;
  bool enabled(const Record& key) const;
  // The key's binding for `stage`; plan is null when none of its plans covers it.
  KeyBinding binding(const Record& key, const StageEntry* stage) const;
  std::size_t size() const { return size_; }

  struct Record {
    std::uint16_t tag = 0;  // high bits of the value's hash; 0: an empty slot
    std::uint8_t value_size = 0;
    std::uint8_t id_size = 0;
    std::uint8_t enabled = 0;
    std::uint8_t more_bindings = 0;  // beyond the first, kept in extra_bindings_
    std::uint16_t plan_stage = kNoPlan;  // the first binding's
    std::uint32_t text = 0;              // offset of the value, the id right after it
    std::int32_t initial_window_id = 0;
    KeyPlanState* state = nullptr;
    UsageSlot* usage = nullptr;
  };
  static_assert(sizeof(Record) == 32);

 private:
  static constexpr std::uint16_t kNoPlan = 0xFFFF;
  struct ExtraBinding {
    std::uint16_t plan_stage;
    std::int32_t initial_window_id;
    KeyPlanState* state;
    UsageSlot* usage;
  };

  std::uint32_t index_of(const Record& key) const { return static_cast<std::uint32_t>(&key - records_.data()); }
  std::string_view value(const Record& key) const { return {text_.data() + key.text, key.value_size}; }
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

}  // namespace tollgate
