#include "metering/meter.h"

#include <spdlog/spdlog.h>

#include <vector>

#include "core/utc_date.h"

namespace tollgate {

Meter::Meter(LimitStates& limits, Store& store, const Clock& clock, std::chrono::milliseconds interval)
    : limits_(limits), store_(store), clock_(clock), interval_(interval) {}

Meter::~Meter() { stop(); }

void Meter::start() { thread_ = std::thread([this] { run(); }); }

void Meter::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  flush();
}

void Meter::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, interval_, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    flush();
    lock.lock();
  }
}

bool Meter::flush() {
  std::lock_guard serial(flush_mutex_);
  struct Pending {
    KeyPlanState* state;
    std::uint64_t served;
  };
  std::vector<Pending> pending;
  std::vector<UsageDelta> deltas;
  // Counts are attributed to the UTC day of the flush; with a one-second
  // interval a request admitted just before midnight may land on the next day.
  const std::int64_t today = day_of_unix_seconds(clock_.now() / kNanosPerSecond);
  limits_.for_each_key_plan([&](KeyPlanState& s) {
    const std::uint64_t served = s.served.load(std::memory_order_relaxed);
    const std::uint64_t flushed = s.flushed.load(std::memory_order_relaxed);
    if (served == flushed) return;
    pending.push_back({&s, served});
    deltas.push_back({s.plan_id, s.key_id, today, static_cast<std::int64_t>(served - flushed)});
  });
  if (deltas.empty()) return true;
  try {
    store_.add_usage(deltas);
  } catch (const std::exception& e) {
    spdlog::error("usage flush failed, will retry: {}", e.what());
    return false;
  }
  for (const auto& p : pending) p.state->flushed.store(p.served, std::memory_order_relaxed);
  return true;
}

}  // namespace tollgate
