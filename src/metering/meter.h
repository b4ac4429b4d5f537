#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/clock.h"
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

  Meter(Store& store, CounterFile& counters, const Clock& clock, Options options);
  ~Meter();  // stops and flushes

  // The slot a key under a plan counts into; assigned in the store on first
  // use. Control plane; thread-safe.
  UsageSlot* slot_for(const std::string& plan_id, const std::string& key_id);
  // Assigns slots to every pair not yet known, in one store transaction,
  // so that slot_for then finds them without touching the store.
  void register_slots(const std::vector<std::pair<std::string, std::string>>& plan_keys);

  void start();
  // Stops the thread after a final flush.
  void stop();
  // Writes every unflushed count now. Returns false if the store refused
  // (the counts stay pending and are retried). Thread-safe.
  bool flush();
  // Seconds since the last successful flush.
  double flush_lag_seconds() const;

 private:
  struct Entry {
    std::string plan_id;
    std::string key_id;
    UsageSlot* slot;
    SlotWatermark flushed[2];
  };
  std::vector<UsageSlot*> register_locked(const std::vector<std::pair<std::string, std::string>>& plan_keys);
  void run();
  void prune();

  Store& store_;
  CounterFile& counters_;
  const Clock& clock_;
  Options options_;
  std::mutex mutex_;  // guards entries_ and serialises flushes
  std::unordered_map<std::uint32_t, Entry> entries_;
  std::unordered_map<std::string, std::uint32_t> by_name_;  // "plan\nkey" → slot
  std::atomic<std::int64_t> last_flush_ns_{0};
  std::int64_t last_prune_day_ = -1;

  std::mutex wake_mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tollgate
