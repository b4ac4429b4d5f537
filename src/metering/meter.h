#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/key_plan_ids.h"
#include "core/outage_log.h"
#include "metering/counter_file.h"
#include "metering/held_counts.h"
#include "store/store.h"

namespace tollgate {

// Moves served-request counts from the usage slots of the counter file into
// the store's daily usage, from one background thread, in batches; and prunes
// usage older than the retention. The gate counts a request the moment it is
// admitted, into memory the process cannot lose (counter_file.h); the meter
// makes it durable in the store and queryable. After a crash, the first flush
// writes whatever the last run counted but had not flushed.
//
// A slot counts for one key under one plan and one customer of the key: a
// key whose customerId changes gets a new slot, so that every count is
// billed to the customer the key had when the gate admitted it. While the
// store cannot be written, each day that has ended is moved from the slots
// into HeldCounts, however many days it lasts. After each flush the meter
// records in the store which days it has written whole (MeterProgress), so
// that an export can tell a day whose counts are all in.
class Meter {
 public:
  struct Options {
    std::chrono::milliseconds interval{1000};
    std::int64_t retention_days = 90;
    std::string node = "local";  // this process's name in the store's MeterProgress
  };

  // Key/plan pairs are numbered by `ids`, shared with the limit states, or
  // by ids of its own.
  Meter(Store& store, CounterFile& counters, const Clock& clock, Options options,
        KeyPlanIds* ids = nullptr);
  ~Meter();  // stops and flushes

  // The slot a key under a plan counts into for a customer; assigned in
  // the store on first use. Control plane; thread-safe.
  UsageSlot* slot_for(const std::string& plan_id, const std::string& key_id,
                      const std::string& customer_id = "");
  // A key under a plan: its slot, and its number in the pair ids.
  struct Member {
    UsageSlot* slot;
    std::uint32_t pair_id;
  };
  // The members of many usage plan keys, in their order, `customer_of(i)`
  // being the customer the i-th one's key has; slots not yet known are
  // assigned in one store transaction.
  std::vector<Member> members(const std::vector<UsagePlanKey>& plan_keys,
                              const std::function<std::string_view(std::size_t)>& customer_of);
  std::vector<Member> members(const std::vector<UsagePlanKey>& plan_keys) {
    return members(plan_keys, [](std::size_t) { return std::string_view(); });
  }

  void start();
  // Stops the thread after a final flush; once every count is in the
  // store, records that this node holds none.
  void stop();
  // Writes every unflushed count now. Returns false if the store refused
  // (the counts stay pending and are retried; days that have ended are
  // held). Thread-safe.
  bool flush();
  // The same for one key under one plan (each of its customers): what a
  // report of one key needs, at the cost of that key and not of all.
  bool flush(const std::string& plan_id, const std::string& key_id);
  // Seconds since the last successful flush.
  double flush_lag_seconds() const;

  // A slot's per-minute words, by parity: served, then each refusal kind.
  static constexpr int kMinuteKinds = 1 + kRefusalKinds;
  using MinuteWords = PeriodCount[2][kMinuteKinds];

 private:
  static constexpr std::uint32_t kNoSlot = UINT32_MAX;
  // One per slot, by its index in the counter file. With a million keys
  // the meter holds this, the pair's share of ids_, the customer's text
  // and nothing else per key.
  struct Entry {
    UsageSlot* slot = nullptr;  // null: an index the meter has no slot for
    std::uint32_t pair_id = 0;
    std::uint32_t customer = 0;  // where the customer's text is in customer_text_
    // How far each parity word is in the store: (day, count) in 12 bytes.
    std::int32_t flushed_day[2] = {-1, -1};
    std::int64_t flushed_count[2] = {0, 0};

    PeriodCount flushed(int parity) const { return {flushed_day[parity], flushed_count[parity]}; }
    void set_flushed(int parity, PeriodCount c) {
      flushed_day[parity] = static_cast<std::int32_t>(c.period);
      flushed_count[parity] = c.count;
    }
  };
  static_assert(sizeof(Entry) == 40);
  // What was written of one slot's per-minute words. Kept only for slots
  // counted in the last two minutes: a word holding an older minute was
  // written (or, after an outage of the store over a minute, lost).
  struct MinuteMarks {
    MinuteWords words;
  };
  // Per-minute counts to write in one flush, and the marks they make.
  struct MinuteBatch {
    std::vector<MinuteDelta> deltas;
    std::map<std::pair<std::string, std::int64_t>, MinuteCounts> plan_totals;
    std::vector<std::pair<std::uint32_t, MinuteMarks>> marks;
  };
  // Writes the unflushed counts of the slots `slots` names (it calls its
  // argument with each slot index) and what is held, in one store call.
  template <typename Slots>
  bool write_locked(UnixNanos began, const Slots& slots);
  // Adds a slot's counts of recent minutes since the last flush to `batch`.
  void collect_minutes(std::uint32_t index, const Entry& e, std::int64_t minute,
                       MinuteBatch& batch);
  void forget_minute_marks(std::int64_t minute);
  // Marks the slot's recent words as written: they were, by the last run.
  void mark_recent_minutes(std::uint32_t index, const UsageSlot& slot, std::int64_t minute);
  std::int64_t current_minute() const;

  // The slot of a pair for a customer, if the meter knows it.
  std::optional<std::uint32_t> known_slot(std::uint32_t pair_id, std::string_view customer) const;
  std::string_view customer(const Entry& e) const;
  // Makes the slot at `index` the attribution's; false if it already was.
  bool add_entry(std::uint32_t index, const UsageAttribution& owner,
                 const SlotWatermark (&flushed)[2]);
  std::vector<Member> register_locked(const std::vector<UsageAttribution>& owners);
  Entry& entry_at(std::uint32_t index);  // grows entries_ to hold `index`
  UsageDelta delta_of(const Entry& e, std::int64_t day, std::int64_t count) const;

  // Takes the pending counts a previous run held into account.
  void load_held();
  // The store refused a flush: holds each word of a day that has ended and
  // has counts the store lacks, before the gate counts into it again.
  void hold_ended_days(UnixNanos now);
  // After a flush that began at `began`: records which days are in whole.
  void record_progress(UnixNanos began);

  void run();
  void prune();

  Store& store_;
  CounterFile& counters_;
  const Clock& clock_;
  Options options_;
  std::mutex mutex_;  // guards what follows but the thread's; serialises flushes
  OutageLog flush_outage_{"usage flush (counts stay in the counter file meanwhile)"};
  std::unordered_map<std::uint32_t, MinuteMarks> minute_marks_;  // by slot index
  std::int64_t last_minute_prune_ = -1;

  std::unique_ptr<KeyPlanIds> own_ids_;
  KeyPlanIds& ids_;
  std::vector<Entry> entries_;  // by slot index
  std::vector<std::uint32_t>
      slot_of_pair_;  // by pair id: the slot of its first customer, or kNoSlot
  std::unordered_multimap<std::uint32_t, std::uint32_t>
      other_slots_;  // pair id → slots of its other customers
  // The customers' texts, each as a 2-byte length then its bytes; the
  // empty customer at 0.
  std::string customer_text_ = std::string(2, '\0');

  HeldCounts held_;
  std::vector<UsageDelta> held_deltas_;    // what held_ holds that the store lacks
  std::vector<SlotWatermark> held_marks_;  // and the watermarks that go with it
  std::int64_t progress_written_ = -1;     // the complete_before_day last recorded
  std::atomic<std::int64_t> last_flush_ns_{0};
  std::int64_t last_prune_day_ = -1;

  std::mutex wake_mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool stopped_ = false;
  std::thread thread_;
};

}  // namespace tollgate
