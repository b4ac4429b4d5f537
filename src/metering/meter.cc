#include "metering/meter.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

#include "core/utc_date.h"

namespace tollgate {

Meter::Meter(Store& store, CounterFile& counters, const Clock& clock, Options options, KeyPlanIds* ids)
    : store_(store),
      counters_(counters),
      clock_(clock),
      options_(options),
      own_ids_(ids ? nullptr : std::make_unique<KeyPlanIds>()),
      ids_(ids ? *ids : *own_ids_) {
  const std::size_t known = store_.meter_slot_count();
  ids_.reserve(ids_.size() + known);
  entries_.reserve(ids_.size() + known);
  const std::int64_t minute = current_minute();
  store_.scan_meter_slots([this, minute](const MeterSlot& m) {
    const std::uint32_t id = ids_.intern(m.plan_id, m.key_id).id;
    Entry& e = entry_for(id);
    if (e.slot) return;  // the store has one slot per pair
    e.slot = &counters_.slot(m.slot);
    for (int p = 0; p < 2; ++p) e.set_flushed(p, {m.flushed[p].day, m.flushed[p].count});
    mark_recent_minutes(id, *e.slot, minute);
  });
  entries_.resize(ids_.size());
  last_flush_ns_ = clock_.now();
}

Meter::~Meter() { stop(); }

Meter::Entry& Meter::entry_for(std::uint32_t id) {
  if (id >= entries_.size()) entries_.resize(std::max<std::size_t>(id + 1, entries_.size() + entries_.size() / 2));
  return entries_[id];
}

UsageSlot* Meter::slot_for(const std::string& plan_id, const std::string& key_id) {
  return members({{plan_id, key_id, 0}}).front().slot;
}

std::vector<Meter::Member> Meter::members(const std::vector<UsagePlanKey>& plan_keys) {
  std::lock_guard lock(mutex_);
  std::vector<Member> out(plan_keys.size());
  std::vector<std::pair<std::string, std::string>> missing;
  std::vector<std::size_t> missing_at;
  const auto pair_at = [&plan_keys](std::size_t i) {
    return std::pair<std::string_view, std::string_view>(plan_keys[i].plan_id, plan_keys[i].key_id);
  };
  ids_.find_each(plan_keys.size(), pair_at, [&](std::size_t i, std::optional<std::uint32_t> id) {
    if (id && id < entries_.size() && entries_[*id].slot) {
      out[i] = {entries_[*id].slot, *id};
    } else {
      missing.emplace_back(plan_keys[i].plan_id, plan_keys[i].key_id);
      missing_at.push_back(i);
    }
  });
  if (missing.empty()) return out;
  const std::vector<Member> fresh = register_locked(missing);
  for (std::size_t j = 0; j < missing.size(); ++j) out[missing_at[j]] = fresh[j];
  return out;
}

std::vector<Meter::Member> Meter::register_locked(
    const std::vector<std::pair<std::string, std::string>>& plan_keys) {
  const std::vector<std::uint32_t> indexes = store_.assign_meter_slots(plan_keys);
  std::vector<Entry> fresh;
  fresh.reserve(plan_keys.size());
  std::vector<SlotWatermark> marks;
  marks.reserve(2 * plan_keys.size());
  for (std::size_t i = 0; i < plan_keys.size(); ++i) {
    const std::uint32_t index = indexes[i];
    // A new slot is normally all zeros; if the store was reset under an old
    // counter file it holds stale counts, which are not this store's usage.
    Entry& e = fresh.emplace_back();
    e.slot = &counters_.slot(index);
    for (int p = 0; p < 2; ++p) {
      const PeriodCount c = e.slot->read(p);
      e.set_flushed(p, c);
      // The store's row starts at "never counted", which an empty word
      // matches: only stale words need a mark, and a first start with a
      // million new slots writes two million fewer rows.
      if (c.period >= 0 || c.count != 0) marks.push_back({index, p, c.period, c.count});
    }
  }
  store_.add_usage({}, marks);
  // Registered only once everything above succeeded, so a failure leaves
  // nothing half-known and the next call tries again.
  std::vector<Member> out;
  out.reserve(fresh.size());
  entries_.resize(std::max(entries_.size(), ids_.size() + fresh.size()));
  const std::int64_t minute = current_minute();
  for (std::size_t i = 0; i < fresh.size(); ++i) {
    const std::uint32_t id = ids_.intern(plan_keys[i].first, plan_keys[i].second).id;
    Entry& e = entry_for(id);
    if (!e.slot) {
      e = fresh[i];
      mark_recent_minutes(id, *e.slot, minute);
    }  // else listed twice: the first slot stands
    out.push_back({e.slot, id});
  }
  return out;
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
  const std::int64_t minute = current_minute();
  MinuteBatch minutes;
  std::vector<UsageDelta> deltas;
  std::vector<SlotWatermark> marks;
  std::vector<std::uint32_t> marked;  // the entry of each mark
  for (std::uint32_t id = 0; id < entries_.size(); ++id) {
    const Entry& e = entries_[id];
    if (!e.slot) continue;
    for (int p = 0; p < 2; ++p) {
      const PeriodCount now = e.slot->read(p);
      const PeriodCount was = e.flushed(p);
      // A word moved on to a later day starts again from zero; an earlier
      // day (a clock stepped back across midnight) was already counted.
      if (now.period < 0 || now.period < was.period || (now.period == was.period && now.count == was.count))
        continue;
      // Below zero when requests were taken back (UsageSlot::uncount) since.
      const std::int64_t delta = now.period == was.period ? now.count - was.count : now.count;
      if (delta != 0) deltas.push_back({ids_.plan_id(id), ids_.key_id(id), now.period, delta});
      marks.push_back({counters_.index_of(*e.slot), p, now.period, now.count});
      marked.push_back(id);
    }
    collect_minutes(id, *e.slot, minute, minutes);
  }
  if (!marks.empty() || !minutes.deltas.empty()) {
    for (auto& [plan_minute, counts] : minutes.plan_totals) minutes.deltas.push_back({plan_minute.first, "", counts});
    try {
      store_.add_usage(deltas, marks, minutes.deltas);
      flush_outage_.succeeded();
    } catch (const std::exception& e) {
      flush_outage_.failed(e);
      return false;
    }
    for (std::size_t i = 0; i < marks.size(); ++i)
      entries_[marked[i]].set_flushed(marks[i].parity, {marks[i].day, marks[i].count});
    for (const auto& [id, refusals] : minutes.marks) minute_marks_[id] = refusals;
    counters_.sync();
  }
  forget_minute_marks(minute);
  last_flush_ns_ = clock_.now();
  return true;
}

std::int64_t Meter::current_minute() const { return clock_.now() / (kNanosPerSecond * 60); }

namespace {

bool any_recent(const Meter::MinuteWords& words, std::int64_t minute) {
  for (const auto& parity : words)
    for (const PeriodCount& word : parity)
      if (word.period >= minute - 1) return true;
  return false;
}

void read_minutes(const UsageSlot& slot, Meter::MinuteWords& words) {
  for (int p = 0; p < 2; ++p) {
    words[p][0] = slot.read_served_minute(p);
    for (int r = 0; r < kRefusalKinds; ++r) words[p][1 + r] = slot.read_refusals(p, static_cast<RefusalKind>(r));
  }
}

MinuteCounts& counts_of(std::vector<MinuteCounts>& counted, std::int64_t minute) {
  for (MinuteCounts& c : counted)
    if (c.minute == minute) return c;
  return counted.emplace_back(MinuteCounts{minute});
}

// The count of `counts` that word `kind` of MinuteWords feeds.
std::int64_t& count_of_kind(MinuteCounts& counts, int kind) {
  if (kind == 0) return counts.allowed;
  return static_cast<RefusalKind>(kind - 1) == RefusalKind::kThrottled ? counts.throttled : counts.quota_exceeded;
}

}  // namespace

void Meter::mark_recent_minutes(std::uint32_t id, const UsageSlot& slot, std::int64_t minute) {
  MinuteMarks marks;
  read_minutes(slot, marks.words);
  if (any_recent(marks.words, minute)) minute_marks_[id] = marks;
}

void Meter::collect_minutes(std::uint32_t id, const UsageSlot& slot, std::int64_t minute, MinuteBatch& batch) {
  MinuteWords now;
  read_minutes(slot, now);
  // Nothing served or refused lately: the common case with many keys,
  // decided without a lookup.
  if (!any_recent(now, minute)) return;
  const auto known = minute_marks_.find(id);
  MinuteMarks marks = known == minute_marks_.end() ? MinuteMarks{} : known->second;
  std::vector<MinuteCounts> counted;
  for (int p = 0; p < 2; ++p)
    for (int k = 0; k < kMinuteKinds; ++k) {
      const PeriodCount n = now[p][k];
      PeriodCount& was = marks.words[p][k];
      if (n.period < 0 || n.period < was.period) continue;
      if (known == minute_marks_.end() && n.period < minute - 1) continue;
      // Below zero when served requests were taken back since.
      const std::int64_t delta = n.period == was.period ? n.count - was.count : n.count;
      was = n;
      if (delta != 0) count_of_kind(counts_of(counted, n.period), k) += delta;
    }
  if (counted.empty()) return;
  const std::string plan_id = ids_.plan_id(id);
  const std::string key_id = ids_.key_id(id);
  for (const MinuteCounts& c : counted) {
    batch.deltas.push_back({plan_id, key_id, c});
    MinuteCounts& total = batch.plan_totals[{plan_id, c.minute}];
    total.minute = c.minute;
    total.allowed += c.allowed;
    total.throttled += c.throttled;
    total.quota_exceeded += c.quota_exceeded;
  }
  batch.marks.emplace_back(id, marks);
}

void Meter::forget_minute_marks(std::int64_t minute) {
  std::erase_if(minute_marks_, [minute](const auto& entry) { return !any_recent(entry.second.words, minute); });
}

double Meter::flush_lag_seconds() const {
  return static_cast<double>(clock_.now() - last_flush_ns_.load()) / kNanosPerSecond;
}

void Meter::prune() {
  // Per-minute counts are few minutes deep: a sweep every ten keeps them so.
  constexpr std::int64_t kMinutePruneEvery = 10;
  const std::int64_t minute = current_minute();
  if (minute - last_minute_prune_ >= kMinutePruneEvery) {
    try {
      store_.prune_minute_counts(minute - kMinuteCountsKept);
      last_minute_prune_ = minute;
    } catch (const std::exception& e) {
      spdlog::error("per-minute counts prune failed, will retry: {}", e.what());
    }
  }
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
