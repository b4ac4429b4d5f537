#include "metering/meter.h"

#include <spdlog/spdlog.h>

#include <vector>

#include "core/utc_date.h"

namespace tollgate {

Meter::Meter(Store& store, CounterFile& counters, const Clock& clock, Options options)
    : store_(store), counters_(counters), clock_(clock), options_(options) {
  const std::vector<MeterSlot> slots = store_.meter_slots();
  entries_.reserve(slots.size());
  by_name_.reserve(slots.size());
  for (const auto& m : slots) {
    entries_.emplace(m.slot, Entry{m.plan_id, m.key_id, &counters_.slot(m.slot), {m.flushed[0], m.flushed[1]}});
    by_name_.emplace(m.plan_id + '\n' + m.key_id, m.slot);
  }
  last_flush_ns_ = clock_.now();
}

Meter::~Meter() { stop(); }

UsageSlot* Meter::slot_for(const std::string& plan_id, const std::string& key_id) {
  std::lock_guard lock(mutex_);
  if (auto it = by_name_.find(plan_id + '\n' + key_id); it != by_name_.end()) return &counters_.slot(it->second);
  return register_locked({{plan_id, key_id}}).front();
}

void Meter::register_slots(const std::vector<std::pair<std::string, std::string>>& plan_keys) {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<std::string, std::string>> missing;
  for (const auto& [plan_id, key_id] : plan_keys)
    if (!by_name_.contains(plan_id + '\n' + key_id)) missing.emplace_back(plan_id, key_id);
  if (!missing.empty()) register_locked(missing);
}

std::vector<UsageSlot*> Meter::register_locked(const std::vector<std::pair<std::string, std::string>>& plan_keys) {
  const std::vector<std::uint32_t> indexes = store_.assign_meter_slots(plan_keys);
  std::vector<Entry> fresh;
  fresh.reserve(plan_keys.size());
  std::vector<SlotWatermark> marks;
  marks.reserve(2 * plan_keys.size());
  for (std::size_t i = 0; i < plan_keys.size(); ++i) {
    const std::uint32_t index = indexes[i];
    // A new slot is normally all zeros; if the store was reset under an old
    // counter file it holds stale counts, which are not this store's usage.
    UsageSlot* slot = &counters_.slot(index);
    Entry e{plan_keys[i].first, plan_keys[i].second, slot, {}};
    for (int p = 0; p < 2; ++p) {
      const DayCount c = slot->read(p);
      e.flushed[p] = {index, p, c.day, c.count};
      marks.push_back(e.flushed[p]);
    }
    fresh.push_back(std::move(e));
  }
  store_.add_usage({}, marks);
  // Registered only once everything above succeeded, so a failure leaves
  // nothing half-known and the next call tries again.
  std::vector<UsageSlot*> slots;
  slots.reserve(fresh.size());
  for (std::size_t i = 0; i < fresh.size(); ++i) {
    by_name_.emplace(fresh[i].plan_id + '\n' + fresh[i].key_id, indexes[i]);
    slots.push_back(fresh[i].slot);
    entries_.emplace(indexes[i], std::move(fresh[i]));
  }
  return slots;
}

void Meter::start() { thread_ = std::thread([this] { run(); }); }

void Meter::stop() {
  {
    std::lock_guard lock(wake_mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  flush();
}

void Meter::run() {
  std::unique_lock lock(wake_mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, options_.interval, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    flush();
    prune();
    lock.lock();
  }
}

bool Meter::flush() {
  std::lock_guard lock(mutex_);
  std::vector<UsageDelta> deltas;
  std::vector<SlotWatermark> marks;
  for (const auto& [index, e] : entries_) {
    for (int p = 0; p < 2; ++p) {
      const DayCount now = e.slot->read(p);
      const SlotWatermark& was = e.flushed[p];
      // A word moved on to a later day starts again from zero; an earlier
      // day (a clock stepped back across midnight) was already counted.
      if (now.day < 0 || now.day < was.day || (now.day == was.day && now.count == was.count)) continue;
      const std::int64_t delta = now.day == was.day ? now.count - was.count : now.count;
      if (delta > 0) deltas.push_back({e.plan_id, e.key_id, now.day, delta});
      marks.push_back({index, p, now.day, now.count});
    }
  }
  if (!marks.empty()) {
    try {
      store_.add_usage(deltas, marks);
    } catch (const std::exception& e) {
      spdlog::error("usage flush failed, will retry: {}", e.what());
      return false;
    }
    for (const auto& m : marks) entries_.at(m.slot).flushed[m.parity] = m;
    counters_.sync();
  }
  last_flush_ns_ = clock_.now();
  return true;
}

double Meter::flush_lag_seconds() const {
  return static_cast<double>(clock_.now() - last_flush_ns_.load()) / kNanosPerSecond;
}

void Meter::prune() {
  const std::int64_t today = day_of_unix_seconds(clock_.now() / kNanosPerSecond);
  if (today == last_prune_day_ || options_.retention_days <= 0) return;
  try {
    store_.prune_usage(today - options_.retention_days + 1);
    last_prune_day_ = today;
  } catch (const std::exception& e) {
    spdlog::error("usage retention prune failed, will retry: {}", e.what());
  }
}

}  // namespace tollgate
