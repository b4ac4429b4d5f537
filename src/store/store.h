#pragma once

// Where control state and usage counters persist: the control state
// (ControlStore), the usage ledger (UsageLedger) and the meter's slots
// (MeterSlots), each implemented by SQLite (the embedded default) and
// Redis (several nodes). Calls are off the request path; implementations
// are thread-safe.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "model/types.h"
#include "store/control_reads.h"

namespace tollgate {

// The store cannot be read or written just now: it is locked or busy, its
// disk is full or failing, or its files cannot be written. The operation
// had no effect and may be tried again; nothing else is wrong with it.
class StoreUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Requests served for one key under one plan on one UTC day, billed to the
// customer the key had when they were counted.
struct UsageDelta {
  std::string plan_id;
  std::string key_id;
  std::int64_t day = 0;  // days since the epoch
  std::int64_t count = 0;
  std::string customer_id = {};
};

// Whom a count is billed to: a key under a plan, and the customer the key
// had when the count was made. Usage is kept by it, so that no later change
// to the key (a new customerId, its deletion) rewrites what was counted.
struct UsageAttribution {
  std::string plan_id;
  std::string key_id;
  std::string customer_id = {};
};

// A change to a key's quota made by UpdateUsage: an audited ledger entry,
// never an overwrite of the served count. It applies to the quota window of
// `period` that holds `day` only: a later change of the plan's period
// starts the new period from the served count.
struct UsageAdjustment {
  std::string plan_id;
  std::string key_id;
  std::int64_t day = 0;         // the UTC day it was made, which places it in a quota window
  std::int64_t delta = 0;       // added to the quota used (negative grants requests)
  std::int64_t created_at = 0;  // epoch seconds
  std::string actor;            // the access key id that made it
  QuotaPeriod period = QuotaPeriod::kMonth;  // the plan's quota period when it was made
  std::string customer_id = {};              // the key's when it was made
  std::int64_t id = 0;                       // given by the store: unique and increasing
};

// Daily usage of one key under one plan.
struct DailyUsage {
  std::int64_t day = 0;
  std::int64_t used = 0;
};

// How far the meter has written one parity word of a usage slot into the
// store: the (day, count) it last saw there.
struct SlotWatermark {
  std::uint32_t slot = 0;
  int parity = 0;
  std::int64_t day = -1;
  std::int64_t count = 0;
};

// A usage slot assigned to a key under a plan for one of its customers,
// with its watermarks.
struct MeterSlot {
  std::string plan_id;
  std::string key_id;
  std::uint32_t slot = 0;
  SlotWatermark flushed[2];
  std::string customer_id = {};
};

// One row of daily usage, in export order (day, plan, key, customer).
struct UsageRow {
  std::int64_t day = 0;
  std::string plan_id;
  std::string key_id;
  std::int64_t used = 0;
  std::string customer_id = {};  // the key's when the requests were counted
};

// How far one node has written its counts into the store, so that an
// export can tell a closed day whose counts are all in from one whose
// counts are still on their way (see Meter).
struct MeterProgress {
  std::string node;
  std::int64_t complete_before_day =
      0;                 // every request it admitted on an earlier day is in the store
  bool running = false;  // false: it stopped cleanly, holding no count the store lacks
  std::int64_t updated_at_s = 0;
};

// Requests of one key under one plan, or of all the plan's keys, in one UTC
// minute, by how the gate decided them. For the console's chart of the
// last hour.
struct MinuteCounts {
  std::int64_t minute = 0;  // minutes since the epoch
  std::int64_t allowed = 0;
  std::int64_t throttled = 0;  // by any throttle: method, key, stage or account
  std::int64_t quota_exceeded = 0;
};

// Minutes of per-minute counts kept: a store drops older ones by itself or
// when told to (Store::prune_minute_counts).
constexpr std::int64_t kMinuteCountsKept = 120;

// Counts to add for a key under a plan; an empty key id is the plan's total.
struct MinuteDelta {
  std::string plan_id;
  std::string key_id;
  MinuteCounts counts;
};

// A batch of control-state writes applied atomically by commit(). Its
// reads see the store as it is, with the transaction's own writes.
class ControlTransaction : public ControlReads {
 public:
  // The whole control state as this transaction sees it: for what works on
  // all of it (apply, migrate, hashing every key), never for one key.
  virtual ControlState state() = 0;
  virtual void put(const RestApi& api) = 0;
  virtual void put(const Deployment& deployment) = 0;
  virtual void put(const Stage& stage) = 0;
  virtual void put(const ApiKey& key) = 0;
  virtual void put(const UsagePlan& plan) = 0;
  virtual void put(const UsagePlanKey& plan_key) = 0;
  virtual void put(const AccountSettings& account) = 0;
  virtual void erase_api(const std::string& api_id) = 0;  // with its deployments and stages
  virtual void erase_deployment(const std::string& api_id, const std::string& deployment_id) = 0;
  virtual void erase_stage(const std::string& api_id, const std::string& stage_name) = 0;
  virtual void erase_api_key(const std::string& key_id) = 0;
  virtual void erase_usage_plan(const std::string& plan_id) = 0;
  virtual void erase_usage_plan_key(const std::string& plan_id, const std::string& key_id) = 0;
  // Marks the store as keeping key values hashed (ControlState::keys_hashed).
  virtual void set_keys_hashed() = 0;
  // Makes every put visible at once and bumps the control version if there
  // was any. Without commit the transaction rolls back.
  virtual void commit() = 0;
};

// Control state, read and written by key, with the log of what each
// version changed.
class ControlStore : public ControlReads {
 public:
  // Changes whenever committed control state changes, from any process.
  virtual std::uint64_t control_version() = 0;
  // What changed after `since`, and the version that brings a catalog to.
  virtual ControlDelta control_delta(std::uint64_t since) = 0;
  // The whole control state: for a rebuild, an export, a migration.
  virtual ControlState load_control_state() = 0;
  // The control state as the data plane needs it: API keys carry only their
  // id, value, enabled flag and customer, and nothing comes in any order. With a
  // million keys it reads in a fraction of the time of load_control_state.
  virtual ControlState load_serving_state() = 0;
  // Begins a write transaction that excludes other writers until it ends.
  virtual std::unique_ptr<ControlTransaction> begin() = 0;
  // Marks this node alive and tells how many nodes are, itself included:
  // the nodes sharing a store split its throttles. Called every reload
  // interval. A store only one process serves from answers 1.
  virtual std::size_t live_nodes() { return 1; }
};

// The usage ledger: requests served per key, plan, customer and day, the
// per-minute counts, and the adjustments UpdateUsage makes.
class UsageLedger {
 public:
  virtual ~UsageLedger() = default;
  // Adds the deltas to the daily usage and the per-minute counts, and
  // records the watermarks, in one transaction: a count is never written
  // twice nor lost between them.
  virtual void add_usage(const std::vector<UsageDelta>& deltas,
                         const std::vector<SlotWatermark>& watermarks = {},
                         const std::vector<MinuteDelta>& minutes = {}) = 0;
  // Calls `fn` for each daily usage row of days [first_day, last_day] that
  // comes after `after` in (day, plan, key, customer) order, streaming;
  // stops when `fn` returns false.
  virtual void scan_usage(std::int64_t first_day, std::int64_t last_day, const UsageRow& after,
                          const std::function<bool(const UsageRow&)>& fn) = 0;
  // Whether the store holds the daily usage row at (day, plan, key, customer).
  virtual bool has_usage(const UsageRow& at) = 0;
  // Deletes daily usage before `first_kept_day`.
  virtual void prune_usage(std::int64_t first_kept_day) = 0;
  // The minutes of [first_minute, last_minute] with requests of a key under
  // a plan, or with key_id empty of the plan's keys together; oldest first.
  virtual std::vector<MinuteCounts> minute_counts(const std::string& plan_id,
                                                  const std::string& key_id,
                                                  std::int64_t first_minute,
                                                  std::int64_t last_minute) = 0;
  // Deletes per-minute counts before `first_kept_minute`.
  virtual void prune_minute_counts(std::int64_t first_kept_minute) = 0;
  // Sum of usage for a key under a plan (whatever its customers) over days
  // [first_day, last_day].
  virtual std::int64_t usage_between(const std::string& plan_id, const std::string& key_id,
                                     std::int64_t first_day, std::int64_t last_day) = 0;
  // Days with usage in [first_day, last_day], oldest first.
  virtual std::vector<DailyUsage> usage_days(const std::string& plan_id, const std::string& key_id,
                                             std::int64_t first_day, std::int64_t last_day) = 0;
  // The same for all of a plan's keys together, read from totals kept per
  // plan and day (made from the keys' usage the first time a store that
  // had none is asked), so that a plan of a million keys reads as one.
  virtual std::vector<DailyUsage> plan_usage_days(const std::string& plan_id,
                                                  std::int64_t first_day,
                                                  std::int64_t last_day) = 0;

  // Quota used over days [first_day, last_day] by every key of a plan that
  // used any (requests served plus the adjustments made under `period`),
  // by key id, in one pass.
  virtual std::unordered_map<std::string, std::int64_t> quota_used_by_key(
      const std::string& plan_id, QuotaPeriod period, std::int64_t first_day,
      std::int64_t last_day) = 0;

  // The keys that were in a plan and are not now (they left it, were
  // deleted, or the plan was), sorted: their usage is kept. Recorded by the
  // transaction that ends the membership.
  virtual std::vector<std::string> former_members(const std::string& plan_id) = 0;

  // Records an adjustment under the next id, or under its own when it has
  // one (a copy of another store's, see migrate_store).
  virtual void add_adjustment(const UsageAdjustment& adjustment) = 0;
  // Adjustments made on days [first_day, last_day], oldest first.
  virtual std::vector<UsageAdjustment> adjustments(const std::string& plan_id,
                                                   const std::string& key_id,
                                                   std::int64_t first_day,
                                                   std::int64_t last_day) = 0;
  // Every adjustment made on days [first_day, last_day], by day then id.
  virtual std::vector<UsageAdjustment> adjustments_between(std::int64_t first_day,
                                                           std::int64_t last_day) = 0;
};

// The meter's slots in the counter file, their watermarks, and how far
// each node's counts are in the store.
class MeterSlots {
 public:
  virtual ~MeterSlots() = default;
  // The counter-file slot of a key under a plan for a customer, assigned
  // on first use.
  std::uint32_t assign_meter_slot(const UsageAttribution& owner) {
    return assign_meter_slots({owner}).front();
  }
  // The slots of many attributions, in their order, assigned in one
  // transaction: a first start with a million keys must not take a million.
  virtual std::vector<std::uint32_t> assign_meter_slots(
      const std::vector<UsageAttribution>& owners) = 0;
  // A number no other store has, which a node's counter file records as its
  // owner: slots this store assigns without a meter reading the file (see
  // SqliteStore) are only empty in a file that counted for this store.
  // None where only the meter assigns slots.
  virtual std::optional<std::int64_t> identity() { return std::nullopt; }
  // Every assigned slot, streamed in no particular order.
  virtual void scan_meter_slots(const std::function<void(const MeterSlot&)>& fn) = 0;
  virtual std::size_t meter_slot_count() = 0;
  // Records how far a node's counts are in the store.
  virtual void put_meter_progress(const MeterProgress& progress) = 0;
  virtual std::vector<MeterProgress> meter_progress() = 0;
};

// A store: SQLite (the embedded default) or Redis (several nodes), each
// implementing the three parts.
class Store : public ControlStore, public UsageLedger, public MeterSlots {};

// The quota a key has used under a plan over days [first_day, last_day]
// of a window of `period`: requests served plus the UpdateUsage
// adjustments made under that period.
inline std::int64_t quota_used_between(Store& store, const std::string& plan_id,
                                       const std::string& key_id, QuotaPeriod period,
                                       std::int64_t first_day, std::int64_t last_day) {
  std::int64_t used = store.usage_between(plan_id, key_id, first_day, last_day);
  for (const auto& a : store.adjustments(plan_id, key_id, first_day, last_day))
    if (a.period == period) used += a.delta;
  return used;
}

}  // namespace tollgate
