#pragma once

#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <mutex>

#include "store/sqlite_control_reads.h"
#include "store/store.h"

namespace tollgate {

// The embedded default: one SQLite file in WAL mode. Entities are stored as
// their AWS-shaped JSON documents. One connection, serialised by a mutex;
// several processes may open the same file.
//
// A key joining a plan gets its meter slot in the same transaction, so that
// a start after a million keys were applied offline has none to assign.
class SqliteStore final : public Store {
 public:
  // Opens (creating if needed) `path`. Throws std::runtime_error on failure.
  explicit SqliteStore(const std::filesystem::path& path);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

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
  std::optional<std::int64_t> identity() override;
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
  std::vector<std::string> former_members(const std::string& plan_id) override;
  void put_meter_progress(const MeterProgress& progress) override;
  std::vector<MeterProgress> meter_progress() override;
  void add_adjustment(const UsageAdjustment& adjustment) override;
  std::vector<UsageAdjustment> adjustments_between(std::int64_t first_day,
                                                   std::int64_t last_day) override;
  std::vector<UsageAdjustment> adjustments(const std::string& plan_id, const std::string& key_id,
                                           std::int64_t first_day, std::int64_t last_day) override;

 private:
  friend class SqliteControlTransaction;
  void exec(const char* sql);
  bool schema_current();
  void add_key_columns();
  void drop_rowids();
  // Slots for attributions, new or not, under mutex_.
  std::vector<std::uint32_t> give_meter_slots(const std::vector<UsageAttribution>& owners);
  // Runs `read` on the connection inside one read transaction.
  template <typename Read>
  auto read_consistently(Read read);
  void migrate_older_schema();
  enum class KeyDetail { kFull, kServing };
  ControlState load_locked(KeyDetail detail = KeyDetail::kFull);
  ControlState load_in_read_transaction(KeyDetail detail);
  std::size_t row_count(const char* table);  // table: a name of ours, never input

  std::mutex mutex_;
  sqlite3* db_ = nullptr;
  // Reads by key on this connection, their statements kept prepared;
  // used under mutex_.
  std::unique_ptr<SqliteControlReads> reads_;
  // The usage reads made for each key the reloader applies.
  std::unique_ptr<SqliteStatementCache> statements_;
};

}  // namespace tollgate
