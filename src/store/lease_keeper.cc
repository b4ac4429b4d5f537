#include "store/lease_keeper.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "core/ids.h"
#include "core/thread_name.h"

namespace tollgate {

struct LeaseKeeper::Lease {
  std::string plan_id;
  std::string key_id;
  QuotaCounter* counter = nullptr;
  std::int64_t window_id = 0;
  std::int64_t window_end_s = 0;
  std::int64_t first_day = 0;
  std::int64_t last_day = 0;
  QuotaPeriod period = QuotaPeriod::kMonth;
  std::int64_t limit = 0;
  bool limit_known = true;  // not after the plan's quota changed, until a request claims again
  std::optional<std::int64_t> used_before;  // read once, for Redis's first sight of the window

  // What Redis counts this node as holding (held:NODE), as far as it knows.
  std::int64_t redis_held = 0;
  // Taken back from the counter while Redis could not be told; returned at
  // the next report.
  std::int64_t withdrawn = 0;
  std::int64_t size = 0;  // what a grant asks for
  double rate = 0;        // units served per second, as reports find them
  SteadyTime last_served{};
  bool spent = false;
  std::int64_t refusals = 0;  // as counted on the spent mark when last asked
  SteadyTime recheck_at{};
  std::int64_t want = 0;  // asked for in this step
  // Redis took the lease back: a report, if only of nothing, comes before
  // the next grant.
  bool must_report = false;
  std::vector<std::function<void(LeaseOutcome)>> waiters;

  std::int64_t left() const { return counter->lease_left(window_id); }
  std::int64_t served() const { return std::max<std::int64_t>(0, redis_held - withdrawn - left()); }
  void answer(LeaseOutcome outcome) {
    for (auto& done : waiters) done(outcome);
    waiters.clear();
  }
};

// A report as sent, and the leases it was about.
struct LeaseKeeper::ReportBatch {
  struct From {
    QuotaCounter* counter;
    std::int64_t window_id;
    std::int64_t withdrawn;  // what of the lease's `withdrawn` the report gave back
  };
  std::string op;
  std::vector<LeaseReport> reports;  // those of retired leases, then one per `from`
  std::vector<From> from;
  bool stopping = false;
};

// Grant requests as sent, and the lease each is for.
struct LeaseKeeper::GrantBatch {
  struct For {
    QuotaCounter* counter;
    std::int64_t window_id;
  };
  std::string op;
  std::vector<LeaseRequest> requests;
  std::vector<For> leases;
};

namespace {

// A spent key that is still asked for is asked of Redis again this often:
// quota given back by another node (a quiet or dead one) is served within it.
constexpr std::chrono::milliseconds kRecheck{100};
constexpr std::chrono::milliseconds kFirstBreakerWait{100};
constexpr std::chrono::milliseconds kLastBreakerWait{2000};
// Spent keys asked again in one step, at most: a million spent keys must not
// become a million calls a second.
constexpr std::size_t kRechecksPerStep = 256;

double seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

LeaseKeeper::LeaseKeeper(RedisAddress address, std::string node, UsageReader usage,
                         const Clock& clock, Options options, RedisMetrics* redis_metrics)
    // A dead Redis costs a waiting request this long at most, once: the
    // breaker answers the next ones at once.
    : redis_(std::move(address), redis_metrics, std::chrono::milliseconds(250)),
      leases_(redis_, std::move(node), options.lease, options.spread),
      usage_(std::move(usage)),
      clock_(clock),
      options_(options),
      incarnation_(random_id(10)) {}

LeaseKeeper::~LeaseKeeper() { stop(); }

void LeaseKeeper::start() {
  thread_ = std::thread([this] {
    name_this_thread("lease-keeper");
    run();
  });
}

void LeaseKeeper::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LeaseKeeper::request(const QuotaClaim& claim, std::function<void(LeaseOutcome)> done) {
  waits_.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      pending_.push_back(
          {claim, std::string(claim.plan_id), std::string(claim.key_id), std::move(done)});
      pending_.back().claim.plan_id = {};
      pending_.back().claim.key_id = {};
      wake_.notify_one();
      return;
    }
  }
  unavailable_.fetch_add(1, std::memory_order_relaxed);
  done(LeaseOutcome::kUnavailable);
}

std::int64_t LeaseKeeper::set_remaining(const LeaseRequest& window, std::int64_t remaining) {
  const std::int64_t delta = leases_.set_remaining(window, remaining);
  recheck_spent_ = true;
  wake_.notify_one();
  return delta;
}

void LeaseKeeper::requote(const std::string& plan_id) {
  std::lock_guard lock(mutex_);
  requoted_.push_back(plan_id);
}

void LeaseKeeper::run() {
  std::vector<Pending> pending;
  std::vector<std::string> requoted;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, options_.tick, [this] { return stopping_ || !pending_.empty(); });
      if (stopping_) break;
      pending.swap(pending_);
      requoted.swap(requoted_);
    }
    const SteadyTime now = std::chrono::steady_clock::now();
    withdraw_requoted(requoted);
    try {
      step(now, pending);
    } catch (const std::exception& e) {
      outage_.failed(e);
      breaker_wait_ = std::clamp(breaker_wait_ * 2, kFirstBreakerWait, kLastBreakerWait);
      breaker_until_ = now + breaker_wait_;
      breaker_open_ = true;
      if (options_.fail_closed) withdraw_all();
      fail(pending);
    }
    pending.clear();
  }
  // Pending requests are answered; every lease goes back.
  std::lock_guard lock(mutex_);
  fail(pending_);
  try {
    const SteadyTime now = std::chrono::steady_clock::now();
    resend_unanswered(now);
    report(now, true);
  } catch (const std::exception& e) {
    spdlog::warn("quota leases not given back at stop (they expire within {} ms): {}",
                 options_.lease.count(), e.what());
  }
}

void LeaseKeeper::step(SteadyTime now, std::vector<Pending>& pending) {
  for (Pending& p : pending) {
    Lease& l = lease_for(p);
    // A top-up may have landed since the request looked.
    if (l.left() > 0) {
      p.done(LeaseOutcome::kGranted);
    } else {
      l.waiters.push_back(std::move(p.done));
    }
  }
  pending.clear();
  // A node that could not keep its leases alive stops serving from them
  // before Redis could hand them to another node.
  if (now >= alive_until_ - options_.lease / 5) withdraw_all();
  if (now < breaker_until_) {
    fail(pending);
    return;
  }
  resend_unanswered(now);
  // After an outage the served requests are told first: a lease given back
  // must not take a grant made in the same step with it.
  const bool outage_over = breaker_open_.load();
  if (outage_over || now >= next_report_) report(now, false);
  grant(now);
  if (outage_over) {
    breaker_open_ = false;
    breaker_wait_ = {};
    outage_.succeeded();
  }
}

LeaseKeeper::Lease& LeaseKeeper::lease_for(Pending& p) {
  std::unique_ptr<Lease>& slot = by_counter_[p.claim.counter];
  if (slot && slot->window_id < p.claim.window_id) {
    // The window rolled over; the old lease's remains are in the next report.
    retired_.push_back({slot->plan_id, slot->key_id, slot->window_id,
                        slot->redis_held - slot->withdrawn, slot->withdrawn, true});
    slot->answer(LeaseOutcome::kGranted);
    slot.reset();
  }
  if (!slot) {
    slot = std::make_unique<Lease>();
    slot->plan_id = std::move(p.plan_id);
    slot->key_id = std::move(p.key_id);
    slot->counter = p.claim.counter;
    slot->window_id = p.claim.window_id;
    slot->window_end_s = p.claim.window_end_s;
    slot->first_day = p.claim.first_day;
    slot->last_day = p.claim.last_day;
    slot->period = p.claim.period;
    slot->size = options_.first_lease;
    active_leases_.store(static_cast<std::int64_t>(by_counter_.size()), std::memory_order_relaxed);
  } else if (slot->window_id == p.claim.window_id) {
    // Requests waited: the lease ran out before a top-up came.
    if (slot->redis_held > 0 || slot->rate > 0)
      slot->size = std::min<std::int64_t>(slot->size * 2, 1 << 24);
  }
  // The claim has the plan's quota as the request's catalog has it.
  slot->limit = p.claim.limit;
  slot->limit_known = true;
  return *slot;
}

void LeaseKeeper::grant(SteadyTime now) {
  const bool recheck = recheck_spent_.exchange(false);
  GrantBatch batch;
  std::size_t rechecks = 0;
  for (auto& [counter, lease] : by_counter_) {
    Lease& l = *lease;
    const std::int64_t left = l.left();
    l.want = 0;
    if (!l.waiters.empty()) {
      l.want = std::max<std::int64_t>(l.size, static_cast<std::int64_t>(l.waiters.size()));
    } else if (l.spent) {
      const std::int64_t refusals = l.counter->used(l.window_id);
      if ((recheck || (now >= l.recheck_at && refusals > l.refusals)) &&
          rechecks < kRechecksPerStep) {
        ++rechecks;
        l.refusals = refusals;
        l.want = options_.first_lease;
      }
    } else if (l.redis_held > 0 && left < l.size / 2 && now - l.last_served < options_.idle) {
      l.want = l.size - left;
    }
    if (l.want <= 0 || !l.limit_known || l.must_report) continue;
    if (!l.used_before)
      l.used_before = usage_(l.plan_id, l.key_id, l.period, l.first_day, l.last_day);
    batch.requests.push_back(
        {l.plan_id, l.key_id, l.window_id, l.window_end_s, l.limit, *l.used_before, l.want});
    batch.leases.push_back({counter, l.window_id});
  }
  if (batch.requests.empty()) return;
  batch.op = next_op();
  send(std::move(batch), now);
}

void LeaseKeeper::send(GrantBatch batch, SteadyTime now) {
  unanswered_grant_ = std::make_unique<GrantBatch>(std::move(batch));
  const SteadyTime sent = std::chrono::steady_clock::now();
  const std::vector<LeaseGrant> grants =
      leases_.grant(unanswered_grant_->requests, unanswered_grant_->op);
  alive_until_ = sent + options_.lease;
  const std::unique_ptr<GrantBatch> answered = std::move(unanswered_grant_);
  for (std::size_t i = 0; i < answered->leases.size(); ++i) {
    Lease* found = find(answered->leases[i].counter, answered->leases[i].window_id);
    // A window that ended since: what it got stays unserved in Redis.
    if (!found) continue;
    Lease& l = *found;
    const LeaseGrant& g = grants[i];
    if (g.report_first) {
      // Requests wait for the grant after that report.
      l.must_report = true;
      next_report_ = now;
    }
    if (g.units > 0) {
      l.counter->add_lease(l.window_id, g.units);
      l.redis_held += g.units;
      l.spent = false;
      if (l.last_served == SteadyTime{}) l.last_served = now;
      grants_.fetch_add(1, std::memory_order_relaxed);
      granted_units_.fetch_add(static_cast<std::uint64_t>(g.units), std::memory_order_relaxed);
      l.answer(LeaseOutcome::kGranted);
    } else if (l.left() > 0) {
      l.answer(LeaseOutcome::kGranted);
    } else if (!g.report_first) {
      l.counter->mark_spent(l.window_id);
      if (!l.spent) l.refusals = l.counter->used(l.window_id);
      l.spent = true;
      l.recheck_at = now + kRecheck;
      l.answer(l.left() > 0 ? LeaseOutcome::kGranted : LeaseOutcome::kSpent);
    }
  }
}

void LeaseKeeper::report(SteadyTime now, bool stopping) {
  const double elapsed = last_report_ == SteadyTime{} ? 0 : seconds(now - last_report_);
  const std::int64_t now_s = clock_.now() / kNanosPerSecond;
  ReportBatch batch;
  batch.reports = std::move(retired_);
  retired_.clear();
  batch.stopping = stopping;
  std::int64_t held = 0;
  for (auto& [counter, lease] : by_counter_) {
    Lease& l = *lease;
    std::int64_t served = l.served();
    if (served > 0) l.last_served = now;
    if (elapsed > 0) l.rate = 0.5 * l.rate + 0.5 * static_cast<double>(served) / elapsed;
    const std::int64_t sized = static_cast<std::int64_t>(l.rate * options_.lease_seconds);
    // Sized to the rate; a lease that ran out before its top-up was doubled
    // (lease_for) and keeps that while requests wait.
    l.size = l.waiters.empty() ? std::max(options_.first_lease, sized) : std::max(l.size, sized);
    const bool quiet = l.waiters.empty() && now - l.last_served >= options_.idle;
    // A spent key is kept until its window ends, so that it is asked again.
    const bool release = stopping || now_s >= l.window_end_s || (quiet && !l.spent);
    std::int64_t returned = l.withdrawn;
    if (release) {
      returned += l.counter->withdraw_lease(l.window_id);
      served = std::max<std::int64_t>(0, l.redis_held - returned);
    }
    held += l.left();
    if (served == 0 && returned == 0 && !release && !l.must_report) continue;
    batch.reports.push_back({l.plan_id, l.key_id, l.window_id, served, returned, release});
    batch.from.push_back({counter, l.window_id, l.withdrawn});
  }
  batch.op = next_op();
  send(std::move(batch));
  last_report_ = now;
  next_report_ = now + options_.report;
  held_units_.store(held, std::memory_order_relaxed);
}

void LeaseKeeper::send(ReportBatch batch) {
  unanswered_report_ = std::make_unique<ReportBatch>(std::move(batch));
  const SteadyTime sent = std::chrono::steady_clock::now();
  leases_.report(unanswered_report_->reports, unanswered_report_->op);
  alive_until_ = sent + options_.lease;
  const std::unique_ptr<ReportBatch> answered = std::move(unanswered_report_);
  const std::size_t first = answered->reports.size() - answered->from.size();
  for (std::size_t i = 0; i < answered->from.size(); ++i) {
    const ReportBatch::From& from = answered->from[i];
    Lease* l = find(from.counter, from.window_id);
    if (!l) continue;
    const LeaseReport& r = answered->reports[first + i];
    l->redis_held -= r.served + r.returned;
    l->withdrawn -= from.withdrawn;
    l->must_report = false;
    if (r.release) {
      // A request still waiting on a window that ended asks in the next one.
      l->answer(answered->stopping ? LeaseOutcome::kUnavailable : LeaseOutcome::kGranted);
      by_counter_.erase(from.counter);
    }
  }
  active_leases_.store(static_cast<std::int64_t>(by_counter_.size()), std::memory_order_relaxed);
}

void LeaseKeeper::resend_unanswered(SteadyTime now) {
  if (unanswered_report_) send(std::move(*unanswered_report_));
  if (unanswered_grant_) send(std::move(*unanswered_grant_), now);
}

std::string LeaseKeeper::next_op() { return incarnation_ + '.' + std::to_string(++batches_); }

LeaseKeeper::Lease* LeaseKeeper::find(QuotaCounter* counter, std::int64_t window_id) {
  const auto it = by_counter_.find(counter);
  return it != by_counter_.end() && it->second->window_id == window_id ? it->second.get() : nullptr;
}

void LeaseKeeper::withdraw_all() {
  std::uint64_t taken = 0;
  for (auto& [counter, lease] : by_counter_) {
    const std::int64_t w = counter->withdraw_lease(lease->window_id);
    lease->withdrawn += w;
    taken += static_cast<std::uint64_t>(w);
  }
  if (taken == 0) return;
  withdrawals_.fetch_add(1, std::memory_order_relaxed);
  held_units_.store(0, std::memory_order_relaxed);
  spdlog::warn(
      "quota leases withdrawn ({} units): Redis could not be told in time; keyed requests wait for "
      "it",
      taken);
}

void LeaseKeeper::withdraw_requoted(std::vector<std::string>& plans) {
  if (plans.empty()) return;
  for (auto& [counter, lease] : by_counter_) {
    if (std::find(plans.begin(), plans.end(), lease->plan_id) == plans.end()) continue;
    lease->withdrawn += counter->withdraw_lease(lease->window_id);
    counter->forget_spent(lease->window_id);
    lease->spent = false;
    lease->limit_known = false;
  }
  plans.clear();
}

void LeaseKeeper::fail(std::vector<Pending>& pending) {
  for (Pending& p : pending) {
    if (p.claim.counter->lease_left(p.claim.window_id) > 0) {
      p.done(LeaseOutcome::kGranted);
    } else {
      unavailable_.fetch_add(1, std::memory_order_relaxed);
      p.done(LeaseOutcome::kUnavailable);
    }
  }
  pending.clear();
  for (auto& [counter, lease] : by_counter_) {
    if (lease->waiters.empty()) continue;
    if (lease->left() > 0) {
      lease->answer(LeaseOutcome::kGranted);
    } else {
      unavailable_.fetch_add(lease->waiters.size(), std::memory_order_relaxed);
      lease->answer(LeaseOutcome::kUnavailable);
    }
  }
}

void LeaseKeeper::render(std::string& out) const {
  const auto line = [&out](const char* type, const char* name, const char* help, auto value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
  };
  line("counter", "tollgate_quota_lease_grants_total",
       "Quota leases granted to this node by Redis.", grants_.load(std::memory_order_relaxed));
  line("counter", "tollgate_quota_lease_granted_units_total",
       "Requests' worth of quota leased by this node.",
       granted_units_.load(std::memory_order_relaxed));
  line("counter", "tollgate_quota_lease_waits_total", "Requests that waited for a lease.",
       waits_.load(std::memory_order_relaxed));
  line("counter", "tollgate_quota_lease_unavailable_total",
       "Requests refused because no lease could be had (Redis unreachable).",
       unavailable_.load(std::memory_order_relaxed));
  line("counter", "tollgate_quota_lease_withdrawals_total",
       "Times this node stopped serving its leases because it could not renew them.",
       withdrawals_.load(std::memory_order_relaxed));
  line("gauge", "tollgate_quota_leased_units",
       "Quota this node holds unserved (stranded if its keys go quiet), at the last report.",
       held_units_.load(std::memory_order_relaxed));
  line("gauge", "tollgate_quota_leases", "Keys this node holds or watches a lease for.",
       active_leases_.load(std::memory_order_relaxed));
  line("gauge", "tollgate_redis_breaker_open",
       "1 while Redis failed and lease requests are refused at once.",
       breaker_open_.load(std::memory_order_relaxed) ? 1 : 0);
}

}  // namespace tollgate
