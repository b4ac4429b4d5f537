#pragma once

#include "store/store.h"

namespace tollgate {

// A real store whose usage writes can be made to fail at will, as when its
// disk is full or another process holds its write lock: add_usage and
// put_meter_progress then throw StoreUnavailable and change nothing.
// Everything else goes to the store beneath.
class UnwritableStore final : public Store {
 public:
  explicit UnwritableStore(Store& store) : store_(store) {}
  bool writable = true;

  std::uint64_t control_version() override { return store_.control_version(); }
  ControlDelta control_delta(std::uint64_t since) override { return store_.control_delta(since); }
  ControlState few() override { return store_.few(); }
  bool keys_hashed() override { return store_.keys_hashed(); }
  std::optional<ApiKey> api_key(const std::string& key_id) override {
    return store_.api_key(key_id);
  }
  std::optional<std::string> key_id_with_value(const std::string& value) override {
    return store_.key_id_with_value(value);
  }
  std::vector<UsagePlanKey> plans_of_key(const std::string& key_id) override {
    return store_.plans_of_key(key_id);
  }
  std::optional<UsagePlanKey> membership(const std::string& plan_id,
                                         const std::string& key_id) override {
    return store_.membership(plan_id, key_id);
  }
  std::optional<std::string> key_in_both(const std::string& plan_id,
                                         const std::string& other_plan_id) override {
    return store_.key_in_both(plan_id, other_plan_id);
  }
  KeyListing list_api_keys(const KeyQuery& query) override { return store_.list_api_keys(query); }
  MemberListing list_plan_keys(const MemberQuery& query) override {
    return store_.list_plan_keys(query);
  }
  std::vector<std::string> plan_key_ids(const std::string& plan_id) override {
    return store_.plan_key_ids(plan_id);
  }
  std::size_t plan_key_count(const std::string& plan_id) override {
    return store_.plan_key_count(plan_id);
  }
  ControlState load_control_state() override { return store_.load_control_state(); }
  ControlState load_serving_state() override { return store_.load_serving_state(); }
  std::unique_ptr<ControlTransaction> begin() override { return store_.begin(); }
  void add_usage(const std::vector<UsageDelta>& deltas,
                 const std::vector<SlotWatermark>& watermarks = {},
                 const std::vector<MinuteDelta>& minutes = {}) override {
    check();
    store_.add_usage(deltas, watermarks, minutes);
  }
  void scan_usage(std::int64_t first_day, std::int64_t last_day, const UsageRow& after,
                  const std::function<bool(const UsageRow&)>& fn) override {
    store_.scan_usage(first_day, last_day, after, fn);
  }
  bool has_usage(const UsageRow& at) override { return store_.has_usage(at); }
  void prune_usage(std::int64_t first_kept_day) override { store_.prune_usage(first_kept_day); }
  std::vector<MinuteCounts> minute_counts(const std::string& plan_id, const std::string& key_id,
                                          std::int64_t first_minute,
                                          std::int64_t last_minute) override {
    return store_.minute_counts(plan_id, key_id, first_minute, last_minute);
  }
  void prune_minute_counts(std::int64_t first_kept_minute) override {
    store_.prune_minute_counts(first_kept_minute);
  }
  std::vector<std::uint32_t> assign_meter_slots(
      const std::vector<UsageAttribution>& owners) override {
    return store_.assign_meter_slots(owners);
  }
  std::optional<std::int64_t> identity() override { return store_.identity(); }
  void scan_meter_slots(const std::function<void(const MeterSlot&)>& fn) override {
    store_.scan_meter_slots(fn);
  }
  std::size_t meter_slot_count() override { return store_.meter_slot_count(); }
  std::int64_t usage_between(const std::string& plan_id, const std::string& key_id,
                             std::int64_t first_day, std::int64_t last_day) override {
    return store_.usage_between(plan_id, key_id, first_day, last_day);
  }
  std::vector<DailyUsage> usage_days(const std::string& plan_id, const std::string& key_id,
                                     std::int64_t first_day, std::int64_t last_day) override {
    return store_.usage_days(plan_id, key_id, first_day, last_day);
  }
  std::vector<DailyUsage> plan_usage_days(const std::string& plan_id, std::int64_t first_day,
                                          std::int64_t last_day) override {
    return store_.plan_usage_days(plan_id, first_day, last_day);
  }
  std::unordered_map<std::string, std::int64_t> quota_used_by_key(const std::string& plan_id,
                                                                  QuotaPeriod period,
                                                                  std::int64_t first_day,
                                                                  std::int64_t last_day) override {
    return store_.quota_used_by_key(plan_id, period, first_day, last_day);
  }
  std::vector<std::string> former_members(const std::string& plan_id) override {
    return store_.former_members(plan_id);
  }
  void put_meter_progress(const MeterProgress& progress) override {
    check();
    store_.put_meter_progress(progress);
  }
  std::vector<MeterProgress> meter_progress() override { return store_.meter_progress(); }
  void add_adjustment(const UsageAdjustment& adjustment) override {
    store_.add_adjustment(adjustment);
  }
  std::vector<UsageAdjustment> adjustments(const std::string& plan_id, const std::string& key_id,
                                           std::int64_t first_day, std::int64_t last_day) override {
    return store_.adjustments(plan_id, key_id, first_day, last_day);
  }
  std::vector<UsageAdjustment> adjustments_between(std::int64_t first_day,
                                                   std::int64_t last_day) override {
    return store_.adjustments_between(first_day, last_day);
  }

 private:
  void check() const {
    if (!writable) throw StoreUnavailable("the store cannot be written (as a full disk)");
  }
  Store& store_;
};

}  // namespace tollgate
