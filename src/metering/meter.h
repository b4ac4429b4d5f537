#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/key_plan_ids.h"
#include "core/outage_log.h"
#include "metering/counter_file.h"
#include "store/store.h"

namespace tollgate {

// Moves served-request counts from the usage slots of the counter file into
// the store's daily usage, from one background thread, in batches; and prunes
// usage older than the retention. The gate counts a request the moment it is
// admitted, into memory the process cannot lose (counter_file.h); the meter
// makes it durable in the store and queryable. After a crash, the first flush
// writes whatever the last run counted but had not flushed.
class Meter {
 public:
  struct Options {
    std::chrono::milliseconds interval{1000};
    std::int64_t retention_days = 90;
  };

  // Key/plan pairs are numbered by `ids`, shared with the limit states, or
  // by ids of its own.
  Meter(Store& store, CounterFile& counters, const Clock& clock, Options options, KeyPlanIds* ids = nullptr);
  ~Meter();  // stops and flushes

  // The slot a key under a plan counts into; assigned in the store on first
  // use. Control plane; thread-safe.
  UsageSlot* slot_for(const std::string& plan_id, const std::string& key_id);
  // A key under a plan: its slot, and its number in the pair ids.
  struct Member {
    UsageSlot* slot;
    std::uint32_t pair_id;
  };
  // The members of many usage plan keys, in their order; slots not yet
  // known are assigned in one store transaction.
  std::vector<Member> members(const std::vector<UsagePlanKey>& plan_keys);

  void start();
  // Stops the thread after a final flush.
  void stop();
  // A slot's per-minute words, by parity: served, then each refusal kind.
  static constexpr int kMinuteKinds = 1 + kRefusalKinds;
  using MinuteWords = PeriodCount[2][kMinuteKinds];

  // Writes every unflushed count now. Returns false if the store refused
  // (the counts stay pending and are retried). Thread-safe.
  bool flush();
  // Seconds since the last successful flush.
  double flush_lag_seconds() const;

 private:
  // One per (plan, key), by its id in ids_. With a million keys the meter
  // holds this, the id's share of ids_, and nothing else per key.
  struct Entry {
    UsageSlot* slot = nullptr;
    // How far each parity word is in the store: (day, count) in 12 bytes.
    std::int32_t flushed_day[2] = {-1, -1};
    std::int64_t flushed_count[2] = {0, 0};

    PeriodCount flushed(int parity) const { return {flushed_day[parity], flushed_count[parity]}; }
    void set_flushed(int parity, PeriodCount c) {
      flushed_day[parity] = static_cast<std::int32_t>(c.period);
      flushed_count[parity] = c.count;
    }
  };
  static_assert(sizeof(Entry) == 32);
  // What was written of one pair's per-minute words. Kept only for pairs
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
  // Adds a pair's counts of recent minutes since the last flush to `batch`.
  void collect_minutes(std::uint32_t id, const UsageSlot& slot, std::int64_t minute, MinuteBatch& batch);
  void forget_minute_marks(std::int64_t minute);
  // Marks the pair's recent words as written: they were, by the last run.
  void mark_recent_minutes(std::uint32_t id, const UsageSlot& slot, std::int64_t minute);
  std::int64_t current_minute() const;
  std::vector<Member> register_locked(const std::vector<std::pair<std::string, std::string>>& plan_keys);
  void run();
  void prune();

  Store& store_;
  CounterFile& counters_;
  const Clock& clock_;
  Options options_;
  std::mutex mutex_;  // guards entries_ and serialises flushes
  OutageLog flush_outage_{"usage flush (counts stay in the counter file meanwhile)"};
  std::unordered_map<std::uint32_t, MinuteMarks> minute_marks_;
  std::int64_t last_minute_prune_ = -1;
  Entry& entry_for(std::uint32_t id);  // grows entries_ to hold `id`

  std::unique_ptr<KeyPlanIds> own_ids_;
  KeyPlanIds& ids_;
  std::vector<Entry> entries_;  // by pair id; slot null: a pair the meter has no slot for
  std::atomic<std::int64_t> last_flush_ns_{0};
  std::int64_t last_prune_day_ = -1;

  std::mutex wake_mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tollgate
