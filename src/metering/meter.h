#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/clock.h"
#include "limits/limit_states.h"
#include "store/store.h"

namespace tollgate {

// Moves served-request counts from the live counters into the store's daily
// usage, from one background thread, in batches. A request is counted by the
// gate the moment it is admitted; the meter only makes it durable.
class Meter {
 public:
  Meter(LimitStates& limits, Store& store, const Clock& clock,
        std::chrono::milliseconds interval = std::chrono::milliseconds(1000));
  ~Meter();  // stops and flushes

  void start();
  // Stops the thread after a final flush.
  void stop();
  // Writes every unflushed count now. Returns false if the store refused
  // (the counts stay pending and are retried).
  bool flush();

 private:
  void run();

  LimitStates& limits_;
  Store& store_;
  const Clock& clock_;
  std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
  std::mutex flush_mutex_;
};

}  // namespace tollgate
