#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>

#include "store/redis_client.h"
#include "store/store.h"

namespace tollgate {

// The store for several nodes: control state and usage in one Redis, under
// keys beginning "tollgate:" (see redis_layout.h). Entities are the same
// JSON documents as in SQLite, in one hash per kind, found by id and by
// the indexes beside them. A write transaction holds a lock key for its
// length (writers exclude each other, as in SQLite) and lands in one
// MULTI/EXEC, which also moves the control version and appends to the
// change log; readers load in one MULTI/EXEC too, so they never see half a
// write.
//
// Usage is one hash per UTC day, added to with HINCRBY: every node's
// flushes add up. The counter-file slots and their watermarks are the
// node's own ("tollgate:node:NODE:..."), since each node has its own
// counter file.
class RedisStore final : public Store {
 public:
  // `metrics`, when given, counts this store's Redis traffic.
  RedisStore(RedisAddress address, std::string node, RedisMetrics* metrics = nullptr);

  std::uint64_t control_version() override;
  ControlDelta control_delta(std::uint64_t since) override;
  ControlState few() override;
  bool keys_hashed() override;
  std::optional<ApiKey> api_key(const std::string& key_id) override;
  std::optional<std::string> key_id_with_value(const std::string& value) override;
  std::vector<UsagePlanKey> plans_of_key(const std::string& key_id) override;
  std::optional<UsagePlanKey> membership(const std::string& plan_id,
                                         const std::string& key_id) override;
  std::optional<std::string> key_in_both(const std::string& plan_id,
                                         const std::string& other_plan_id) override;
  KeyListing list_api_keys(const KeyQuery& query) override;
  MemberListing list_plan_keys(const MemberQuery& query) override;
  std::vector<std::string> plan_key_ids(const std::string& plan_id) override;
  std::size_t plan_key_count(const std::string& plan_id) override;

  ControlState load_control_state() override;
  ControlState load_serving_state() override;
  std::unique_ptr<ControlTransaction> begin() override;
  void add_usage(const std::vector<UsageDelta>& deltas,
                 const std::vector<SlotWatermark>& watermarks = {},
                 const std::vector<MinuteDelta>& minutes = {}) override;
  void scan_usage(std::int64_t first_day, std::int64_t last_day, const UsageRow& after,
                  const std::function<bool(const UsageRow&)>& fn) override;
  bool has_usage(const UsageRow& at) override;
  void prune_usage(std::int64_t first_kept_day) override;
  std::vector<MinuteCounts> minute_counts(const std::string& plan_id, const std::string& key_id,
                                          std::int64_t first_minute,
                                          std::int64_t last_minute) override;
  void prune_minute_counts(std::int64_t first_kept_minute) override;
  std::vector<std::uint32_t> assign_meter_slots(
      const std::vector<UsageAttribution>& owners) override;
  void scan_meter_slots(const std::function<void(const MeterSlot&)>& fn) override;
  std::size_t meter_slot_count() override;
  std::int64_t usage_between(const std::string& plan_id, const std::string& key_id,
                             std::int64_t first_day, std::int64_t last_day) override;
  std::vector<DailyUsage> usage_days(const std::string& plan_id, const std::string& key_id,
                                     std::int64_t first_day, std::int64_t last_day) override;
  std::vector<DailyUsage> plan_usage_days(const std::string& plan_id, std::int64_t first_day,
                                          std::int64_t last_day) override;
  std::unordered_map<std::string, std::int64_t> quota_used_by_key(const std::string& plan_id,
                                                                  QuotaPeriod period,
                                                                  std::int64_t first_day,
                                                                  std::int64_t last_day) override;
  std::size_t live_nodes() override;
  std::vector<std::string> former_members(const std::string& plan_id) override;
  void put_meter_progress(const MeterProgress& progress) override;
  std::vector<MeterProgress> meter_progress() override;
  void add_adjustment(const UsageAdjustment& adjustment) override;
  std::vector<UsageAdjustment> adjustments_between(std::int64_t first_day,
                                                   std::int64_t last_day) override;
  std::vector<UsageAdjustment> adjustments(const std::string& plan_id, const std::string& key_id,
                                           std::int64_t first_day, std::int64_t last_day) override;

  // The channel a commit publishes the new control version on.
  static constexpr const char* kChangesChannel = "tollgate:changes";

 private:
  friend class RedisControlTransaction;
  // Builds the indexes of a store written before they were kept, once.
  void ensure_layout();
  ControlState load_state(bool serving);
  KeyListing list_api_keys_by_name(const KeyQuery& query);
  std::vector<std::string> keys_by_name(const std::string& from, const std::string& to,
                                        const std::optional<std::string>& plan_id, long long offset,
                                        long long chunk, bool& last);
  // Days with usage in [first_day, last_day], oldest first.
  std::vector<std::int64_t> usage_days_between(std::int64_t first_day, std::int64_t last_day);
  // The days of [first_day, last_day] whose hash (hash_of_day) holds `field`, with its value.
  std::vector<DailyUsage> field_by_day(std::string (*hash_of_day)(std::int64_t),
                                       const std::string& field, std::int64_t first_day,
                                       std::int64_t last_day);
  std::string node_key(std::string_view name) const;
  // Calls `fn` for each usage row of `day` by (plan, key, customer) until it
  // returns false (then false). `customers`: each key's customer now, read
  // once if a day needs it.
  bool billed_rows(std::int64_t day,
                   std::optional<std::unordered_map<std::string, std::string>>& customers,
                   const std::function<bool(const UsageRow&)>& fn);
  // Every UpdateUsage adjustment under a plan, oldest first.
  std::vector<UsageAdjustment> adjustments_of_plan(const std::string& plan_id);

  RedisClient redis_;
  std::string node_;
  std::atomic<bool> layout_checked_{false};
};

}  // namespace tollgate
