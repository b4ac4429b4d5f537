#include "metering/meter.h"

#include <spdlog/spdlog.h>

#include <vector>

#include "core/utc_date.h"

namespace tollgate {

Meter::Meter(Store& store, CounterFile& counters, const Clock& clock, Options options)
    : store_(store), counters_(counters), clock_(clock), options_(options) {
  const std::vector<MeterSlot> slots = store_.meter_slots();
  ids_.reserve(slots.size());
  entries_.reserve(slots.size());
  for (const auto& m : slots) {
    if (!ids_.intern(m.plan_id, m.key_id).created) continue;  // the store has one slot per pair
    entries_.push_back({m.slot, &counters_.slot(m.slot),
                        {{m.flushed[0].day, m.flushed[0].count}, {m.flushed[1].day, m.flushed[1].count}}});
  }
  last_flush_ns_ = clock_.now();
}

Meter::~Meter() { stop(); }

UsageSlot* Meter::slot_for(const std::string& plan_id, const std::string& key_id) {
  std::lock_guard lock(mutex_);
  if (const auto id = ids_.find(plan_id, key_id)) return entries_[*id].slot;
  return register_locked({{plan_id, key_id}}).front();
}

std::vector<UsageSlot*> Meter::slots_for(const std::vector<std::pair<std::string, std::string>>& plan_keys) {
  std::lock_guard lock(mutex_);
  std::vector<UsageSlot*> slots(plan_keys.size());
  std::vector<std::pair<std::string, std::string>> missing;
  std::vector<std::size_t> missing_at;
  for (std::size_t i = 0; i < plan_keys.size(); ++i) {
    if (const auto id = ids_.find(plan_keys[i].first, plan_keys[i].second)) {
      slots[i] = entries_[*id].slot;
    } else {
      missing.push_back(plan_keys[i]);
      missing_at.push_back(i);
    }
  }
  if (missing.empty()) return slots;
  const std::vector<UsageSlot*> fresh = register_locked(missing);
  for (std::size_t j = 0; j < missing.size(); ++j) slots[missing_at[j]] = fresh[j];
  return slots;
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
    Entry e{index, slot, {}};
    for (int p = 0; p < 2; ++p) {
      e.flushed[p] = slot->read(p);
      marks.push_back({index, p, e.flushed[p].day, e.flushed[p].count});
    }
    fresh.push_back(e);
  }
  store_.add_usage({}, marks);
  // Registered only once everything above succeeded, so a failure leaves
  // nothing half-known and the next call tries again.
  std::vector<UsageSlot*> slots;
  slots.reserve(fresh.size());
  ids_.reserve(ids_.size() + fresh.size());
  entries_.reserve(entries_.size() + fresh.size());
  for (std::size_t i = 0; i < fresh.size(); ++i) {
    // Ids are the entries' positions; a pair listed twice has its first slot.
    const KeyPlanIds::Interned k = ids_.intern(plan_keys[i].first, plan_keys[i].second);
    if (k.created) entries_.push_back(fresh[i]);
    slots.push_back(entries_[k.id].slot);
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
  std::vector<std::uint32_t> marked;  // the entry of each mark
  for (std::uint32_t id = 0; id < entries_.size(); ++id) {
    const Entry& e = entries_[id];
    for (int p = 0; p < 2; ++p) {
      const DayCount now = e.slot->read(p);
      const DayCount& was = e.flushed[p];
      // A word moved on to a later day starts again from zero; an earlier
      // day (a clock stepped back across midnight) was already counted.
      if (now.day < 0 || now.day < was.day || (now.day == was.day && now.count == was.count)) continue;
      const std::int64_t delta = now.day == was.day ? now.count - was.count : now.count;
      if (delta > 0) deltas.push_back({std::string(ids_.plan_id(id)), std::string(ids_.key_id(id)), now.day, delta});
      marks.push_back({e.slot_index, p, now.day, now.count});
      marked.push_back(id);
    }
  }
  if (!marks.empty()) {
    try {
      store_.add_usage(deltas, marks);
    } catch (const std::exception& e) {
      spdlog::error("usage flush failed, will retry: {}", e.what());
      return false;
    }
    for (std::size_t i = 0; i < marks.size(); ++i)
      entries_[marked[i]].flushed[marks[i].parity] = {marks[i].day, marks[i].count};
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
