#include "metering/meter.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <vector>

#include "core/utc_date.h"
#include "core/thread_name.h"

namespace tollgate {

namespace {

// What a day word holds that its watermark says the store lacks: none when
// nothing, or when the word holds an earlier day than the mark (a clock
// stepped back across midnight: that day was counted). A word moved on to
// a later day counts from zero; the difference is below zero when requests
// were taken back (UsageSlot::uncount) since.
std::optional<std::int64_t> unwritten(PeriodCount now, PeriodCount was) {
  if (now.period < 0 || now.period < was.period ||
      (now.period == was.period && now.count == was.count))
    return std::nullopt;
  return now.period == was.period ? now.count - was.count : now.count;
}

}  // namespace

Meter::Meter(Store& store, CounterFile& counters, const Clock& clock, Options options,
             KeyPlanIds* ids)
    : store_(store),
      counters_(counters),
      clock_(clock),
      options_(std::move(options)),
      own_ids_(ids ? nullptr : std::make_unique<KeyPlanIds>()),
      ids_(ids ? *ids : *own_ids_),
      held_(counters.dir() / "held") {
  const std::size_t known = store_.meter_slot_count();
  ids_.reserve(ids_.size() + known);
  // Slots are numbered from 0 up: a million of them fill these exactly.
  entries_.reserve(known);
  slot_of_pair_.reserve(ids_.size() + known);
  const std::int64_t minute = current_minute();
  store_.scan_meter_slots([this, minute](const MeterSlot& m) {
    // The store has one slot per attribution.
    if (add_entry(m.slot, {m.plan_id, m.key_id, m.customer_id}, m.flushed))
      mark_recent_minutes(m.slot, *entries_[m.slot].slot, minute);
  });
  load_held();
  last_flush_ns_ = clock_.now();
}

Meter::~Meter() { stop(); }

Meter::Entry& Meter::entry_at(std::uint32_t index) {
  // Within the capacity reserved, no copy; past it the vector doubles.
  if (index >= entries_.size()) entries_.resize(index + 1);
  return entries_[index];
}

std::string_view Meter::customer(const Entry& e) const {
  std::uint16_t size = 0;
  std::memcpy(&size, customer_text_.data() + e.customer, sizeof size);
  return std::string_view(customer_text_).substr(e.customer + sizeof size, size);
}

bool Meter::add_entry(std::uint32_t index, const UsageAttribution& owner,
                      const SlotWatermark (&flushed)[2]) {
  if (owner.customer_id.size() > UINT16_MAX)
    throw std::length_error("customer id of API key " + owner.key_id + " over 65,535 bytes");
  Entry& e = entry_at(index);
  if (e.slot) return false;
  const std::uint32_t pair = ids_.intern(owner.plan_id, owner.key_id).id;
  e.slot = &counters_.slot(index);
  e.pair_id = pair;
  e.customer = 0;
  if (!owner.customer_id.empty()) {
    e.customer = static_cast<std::uint32_t>(customer_text_.size());
    const auto size = static_cast<std::uint16_t>(owner.customer_id.size());
    customer_text_.append(reinterpret_cast<const char*>(&size), sizeof size)
        .append(owner.customer_id);
  }
  for (int p = 0; p < 2; ++p) e.set_flushed(p, {flushed[p].day, flushed[p].count});
  if (slot_of_pair_.size() <= pair) slot_of_pair_.resize(pair + 1, kNoSlot);
  if (slot_of_pair_[pair] == kNoSlot)
    slot_of_pair_[pair] = index;
  else
    other_slots_.emplace(pair, index);
  return true;
}

std::optional<std::uint32_t> Meter::known_slot(std::uint32_t pair_id,
                                               std::string_view customer_id) const {
  if (pair_id >= slot_of_pair_.size() || slot_of_pair_[pair_id] == kNoSlot) return std::nullopt;
  const std::uint32_t first = slot_of_pair_[pair_id];
  if (customer(entries_[first]) == customer_id) return first;
  const auto [begin, end] = other_slots_.equal_range(pair_id);
  for (auto it = begin; it != end; ++it)
    if (customer(entries_[it->second]) == customer_id) return it->second;
  return std::nullopt;
}

UsageDelta Meter::delta_of(const Entry& e, std::int64_t day, std::int64_t count) const {
  return {ids_.plan_id(e.pair_id), ids_.key_id(e.pair_id), day, count, std::string(customer(e))};
}

UsageSlot* Meter::slot_for(const std::string& plan_id, const std::string& key_id,
                           const std::string& customer_id) {
  return members({{plan_id, key_id, 0}},
                 [&customer_id](std::size_t) { return std::string_view(customer_id); })
      .front()
      .slot;
}

std::vector<Meter::Member> Meter::members(
    const std::vector<UsagePlanKey>& plan_keys,
    const std::function<std::string_view(std::size_t)>& customer_of) {
  std::lock_guard lock(mutex_);
  std::vector<Member> out(plan_keys.size());
  std::vector<UsageAttribution> missing;
  std::vector<std::size_t> missing_at;
  const auto pair_at = [&plan_keys](std::size_t i) {
    return std::pair<std::string_view, std::string_view>(plan_keys[i].plan_id, plan_keys[i].key_id);
  };
  // The pairs first, then their slots: a million members at a start each
  // touch two more tables at random places, fetched a few members ahead.
  constexpr std::uint32_t kUnknown = UINT32_MAX;
  std::vector<std::uint32_t> pair_ids(plan_keys.size(), kUnknown);
  ids_.find_each(plan_keys.size(), pair_at,
                 [&pair_ids](std::size_t i, std::optional<std::uint32_t> id) {
                   if (id) pair_ids[i] = *id;
                 });
  constexpr std::size_t kAhead = 8;
  const auto prefetch = [&](std::size_t i) {
    if (i < pair_ids.size() && pair_ids[i] < slot_of_pair_.size())
      __builtin_prefetch(&slot_of_pair_[pair_ids[i]]);
    const std::size_t j = i - kAhead / 2;  // its slot is known by now
    if (i >= kAhead / 2 && j < pair_ids.size() && pair_ids[j] < slot_of_pair_.size() &&
        slot_of_pair_[pair_ids[j]] != kNoSlot)
      __builtin_prefetch(&entries_[slot_of_pair_[pair_ids[j]]]);
  };
  for (std::size_t i = 0; i < kAhead; ++i) prefetch(i);
  for (std::size_t i = 0; i < plan_keys.size(); ++i) {
    prefetch(i + kAhead);
    const std::string_view customer_id = customer_of(i);
    if (pair_ids[i] != kUnknown) {
      if (const std::optional<std::uint32_t> slot = known_slot(pair_ids[i], customer_id)) {
        out[i] = {entries_[*slot].slot, pair_ids[i]};
        continue;
      }
    }
    missing.push_back({plan_keys[i].plan_id, plan_keys[i].key_id, std::string(customer_id)});
    missing_at.push_back(i);
  }
  if (missing.empty()) return out;
  const std::vector<Member> fresh = register_locked(missing);
  for (std::size_t j = 0; j < missing.size(); ++j) out[missing_at[j]] = fresh[j];
  return out;
}

std::vector<Meter::Member> Meter::register_locked(const std::vector<UsageAttribution>& owners) {
  const std::vector<std::uint32_t> indexes = store_.assign_meter_slots(owners);
  std::vector<std::array<SlotWatermark, 2>> flushed(owners.size());
  std::vector<SlotWatermark> stale;
  for (std::size_t i = 0; i < owners.size(); ++i) {
    // A new slot is normally all zeros; if the store was reset under an old
    // counter file it holds stale counts, which are not this store's usage.
    const UsageSlot& slot = counters_.slot(indexes[i]);
    for (int p = 0; p < 2; ++p) {
      const PeriodCount c = slot.read(p);
      flushed[i][p] = {indexes[i], p, c.period, c.count};
      // The store's row starts at "never counted", which an empty word
      // matches: only stale words need a mark, and a first start with a
      // million new slots writes two million fewer rows.
      if (c.period >= 0 || c.count != 0) stale.push_back(flushed[i][p]);
    }
  }
  store_.add_usage({}, stale);
  // Registered only once everything above succeeded, so a failure leaves
  // nothing half-known and the next call tries again.
  std::vector<Member> out;
  out.reserve(owners.size());
  const std::int64_t minute = current_minute();
  for (std::size_t i = 0; i < owners.size(); ++i) {
    const SlotWatermark marks[2] = {flushed[i][0], flushed[i][1]};
    if (add_entry(indexes[i], owners[i], marks))
      mark_recent_minutes(indexes[i], *entries_[indexes[i]].slot, minute);
    // else listed twice: the first registration stands
    const Entry& e = entries_[indexes[i]];
    out.push_back({e.slot, e.pair_id});
  }
  return out;
}

void Meter::load_held() {
  // A record the store's watermark has reached was written by the flush
  // that reached it; the others are counts the store still lacks.
  std::map<std::pair<std::uint32_t, int>, PeriodCount> stored;
  for (const HeldCounts::Record& r : held_.records())
    if (r.slot < entries_.size() && entries_[r.slot].slot)
      stored.try_emplace({r.slot, r.parity}, entries_[r.slot].flushed(r.parity));
  for (const HeldCounts::Record& r : held_.records()) {
    const auto at = stored.find({r.slot, r.parity});
    if (at == stored.end()) {
      spdlog::error(
          "held counts of meter slot {} ({} on day {}), which the store does not know, are not "
          "billed",
          r.slot, r.delta, format_date(r.day));
      continue;
    }
    if (std::pair(r.day, r.mark) <= std::pair(at->second.period, at->second.count)) continue;
    Entry& e = entries_[r.slot];
    held_deltas_.push_back(delta_of(e, r.day, r.delta));
    held_marks_.push_back({r.slot, r.parity, r.day, r.mark});
    const PeriodCount now = e.flushed(r.parity);
    if (std::pair(r.day, r.mark) > std::pair(now.period, now.count))
      e.set_flushed(r.parity, {r.day, r.mark});
  }
  if (!held_deltas_.empty())
    spdlog::warn(
        "{} count(s) held while the store could not be written are pending; the next flush writes "
        "them",
        held_deltas_.size());
}

void Meter::start() {
  thread_ = std::thread([this] {
    name_this_thread("meter");
    run();
  });
}

void Meter::stop() {
  {
    std::lock_guard lock(wake_mutex_);
    if (std::exchange(stopped_, true)) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (!flush()) return;  // the counts stay in the counter file: the node still holds some
  std::lock_guard lock(mutex_);
  const UnixNanos now = clock_.now();
  try {
    store_.put_meter_progress(
        {options_.node, (now - kLateCountNanos) / kNanosPerDay, false, now / kNanosPerSecond});
  } catch (const std::exception& e) {
    spdlog::error("could not record that this node's counts are all in the store: {}", e.what());
  }
}

void Meter::run() {
  std::unique_lock lock(wake_mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, options_.interval, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    // A store that refused the flush would refuse the prune too, and every
    // refusal can take its lock wait: the next flush, and its holding of
    // ended days, comes first.
    if (flush()) prune();
    lock.lock();
  }
}

bool Meter::flush() {
  std::lock_guard lock(mutex_);
  const UnixNanos began = clock_.now();
  if (!write_locked(began, [this](const auto& each) {
        for (std::uint32_t index = 0; index < entries_.size(); ++index) each(index);
      }))
    return false;
  forget_minute_marks(began / kNanosPerMinute);
  last_flush_ns_ = clock_.now();
  record_progress(began);
  return true;
}

bool Meter::flush(const std::string& plan_id, const std::string& key_id) {
  {
    std::lock_guard lock(mutex_);
    // Counts held from a refused flush go first, with all the rest.
    if (held_deltas_.empty() && held_marks_.empty()) {
      const std::optional<std::uint32_t> pair = ids_.find(plan_id, key_id);
      if (!pair || *pair >= slot_of_pair_.size() || slot_of_pair_[*pair] == kNoSlot) return true;
      return write_locked(clock_.now(), [this, pair](const auto& each) {
        each(slot_of_pair_[*pair]);
        const auto [begin, end] = other_slots_.equal_range(*pair);
        for (auto it = begin; it != end; ++it) each(it->second);
      });
    }
  }
  return flush();
}

template <typename Slots>
bool Meter::write_locked(UnixNanos began, const Slots& slots) {
  const std::int64_t minute = began / kNanosPerMinute;
  MinuteBatch minutes;
  // Held counts go with their watermarks (a later one of the same word
  // comes after, and is the one the store keeps).
  std::vector<UsageDelta> deltas = held_deltas_;
  std::vector<SlotWatermark> marks = held_marks_;
  slots([&](std::uint32_t index) {
    const Entry& e = entries_[index];
    if (!e.slot) return;
    for (int p = 0; p < 2; ++p) {
      const PeriodCount now = e.slot->read(p);
      const std::optional<std::int64_t> delta = unwritten(now, e.flushed(p));
      if (!delta) continue;
      if (*delta != 0) deltas.push_back(delta_of(e, now.period, *delta));
      marks.push_back({index, p, now.period, now.count});
    }
    collect_minutes(index, e, minute, minutes);
  });
  if (deltas.empty() && marks.empty() && minutes.deltas.empty()) return true;
  for (auto& [plan_minute, counts] : minutes.plan_totals)
    minutes.deltas.push_back({plan_minute.first, "", counts});
  try {
    store_.add_usage(deltas, marks, minutes.deltas);
    flush_outage_.succeeded();
  } catch (const std::exception& e) {
    flush_outage_.failed(e);
    hold_ended_days(began);
    return false;
  }
  for (const SlotWatermark& m : marks) entries_[m.slot].set_flushed(m.parity, {m.day, m.count});
  for (const auto& [index, words] : minutes.marks) minute_marks_[index] = words;
  held_deltas_.clear();
  held_marks_.clear();
  try {
    held_.clear();
  } catch (const std::exception& e) {
    // What it holds is in the store now, which a later start can tell.
    spdlog::warn("{}", e.what());
  }
  counters_.sync();
  return true;
}

void Meter::hold_ended_days(UnixNanos now) {
  const std::int64_t ended_before = (now - kLateCountNanos) / kNanosPerDay;
  std::vector<HeldCounts::Record> records;
  std::vector<UsageDelta> deltas;
  for (std::uint32_t index = 0; index < entries_.size(); ++index) {
    const Entry& e = entries_[index];
    if (!e.slot) continue;
    for (int p = 0; p < 2; ++p) {
      const PeriodCount c = e.slot->read(p);
      if (c.period >= ended_before) continue;
      const std::optional<std::int64_t> delta = unwritten(c, e.flushed(p));
      if (!delta) continue;
      records.push_back({index, p, c.period, c.count, *delta});
      deltas.push_back(delta_of(e, c.period, *delta));
    }
  }
  if (records.empty()) return;
  try {
    held_.append(records);
  } catch (const std::exception& e) {
    spdlog::error(
        "the counts of {} slot(s) for days that have ended cannot be held while the store cannot "
        "be "
        "written ({}); each stays in the counter file until its key counts two days after it",
        records.size(), e.what());
    return;
  }
  for (const HeldCounts::Record& r : records) {
    entries_[r.slot].set_flushed(r.parity, {r.day, r.mark});
    held_marks_.push_back({r.slot, r.parity, r.day, r.mark});
  }
  held_deltas_.insert(held_deltas_.end(), deltas.begin(), deltas.end());
  spdlog::warn(
      "the store cannot be written: the counts of {} slot(s) for days that have ended are held in "
      "{} "
      "until it can",
      records.size(), (counters_.dir() / "held").string());
}

void Meter::record_progress(UnixNanos began) {
  const std::int64_t complete_before = (began - kLateCountNanos) / kNanosPerDay;
  if (complete_before <= progress_written_) return;
  try {
    store_.put_meter_progress({options_.node, complete_before, true, began / kNanosPerSecond});
    progress_written_ = complete_before;
  } catch (const std::exception& e) {
    spdlog::warn(
        "could not record how far this node's counts are in the store (tried again after the next "
        "flush): {}",
        e.what());
  }
}

std::int64_t Meter::current_minute() const { return clock_.now() / kNanosPerMinute; }

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
    for (int r = 0; r < kRefusalKinds; ++r)
      words[p][1 + r] = slot.read_refusals(p, static_cast<RefusalKind>(r));
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
  return static_cast<RefusalKind>(kind - 1) == RefusalKind::kThrottled ? counts.throttled
                                                                       : counts.quota_exceeded;
}

}  // namespace

void Meter::mark_recent_minutes(std::uint32_t index, const UsageSlot& slot, std::int64_t minute) {
  MinuteMarks marks;
  read_minutes(slot, marks.words);
  if (any_recent(marks.words, minute)) minute_marks_[index] = marks;
}

void Meter::collect_minutes(std::uint32_t index, const Entry& e, std::int64_t minute,
                            MinuteBatch& batch) {
  MinuteWords now;
  read_minutes(*e.slot, now);
  // Nothing served or refused lately: the common case with many keys,
  // decided without a lookup.
  if (!any_recent(now, minute)) return;
  const auto known = minute_marks_.find(index);
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
  const std::string plan_id = ids_.plan_id(e.pair_id);
  const std::string key_id = ids_.key_id(e.pair_id);
  for (const MinuteCounts& c : counted) {
    batch.deltas.push_back({plan_id, key_id, c});
    MinuteCounts& total = batch.plan_totals[{plan_id, c.minute}];
    total.minute = c.minute;
    total.allowed += c.allowed;
    total.throttled += c.throttled;
    total.quota_exceeded += c.quota_exceeded;
  }
  batch.marks.emplace_back(index, marks);
}

void Meter::forget_minute_marks(std::int64_t minute) {
  std::erase_if(minute_marks_,
                [minute](const auto& entry) { return !any_recent(entry.second.words, minute); });
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
