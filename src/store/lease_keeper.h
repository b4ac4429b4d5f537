#pragma once

// A node's side of quota leases (store/quota_leases.h): one thread that asks
// Redis for the leases requests wait on, tops up leases before they run out,
// reports what was served, keeps the node's leases alive, and gives back the
// leases of keys gone quiet. The request path only reads and takes from the
// counters the leases are put in.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/outage_log.h"
#include "limits/quota_claim.h"
#include "store/quota_leases.h"
#include "store/redis_client.h"

namespace tollgate {

class LeaseKeeper final : public LeaseSource {
 public:
  struct Options {
    std::chrono::milliseconds lease{
        5000};  // a node that stops renewing loses its leases after this
    std::chrono::milliseconds report{100};  // how often served requests are reported
    std::chrono::milliseconds tick{10};     // how often leases are topped up
    std::chrono::milliseconds idle{1000};   // a lease unused this long goes back
    double lease_seconds = 0.5;             // a lease covers this much of the key's recent rate
    std::int64_t first_lease = 16;
    std::int64_t spread = 4;   // see QuotaLeases
    bool fail_closed = false;  // while Redis is unreachable, serve no lease at all
  };
  // What a key has used of its quota in a window (served requests and
  // adjustments), read the first time Redis hears of the window.
  using UsageReader = std::function<std::int64_t(const std::string& plan_id,
                                                 const std::string& key_id, QuotaPeriod period,
                                                 std::int64_t first_day, std::int64_t last_day)>;

  LeaseKeeper(RedisAddress address, std::string node, UsageReader usage, const Clock& clock,
              Options options, RedisMetrics* redis_metrics = nullptr);
  ~LeaseKeeper() override;

  void start();
  // Gives back every lease this node holds.
  void stop();

  void request(const QuotaClaim& claim, std::function<void(LeaseOutcome)> done) override;
  // UpdateUsage: see QuotaLeases::set_remaining. Spent keys are asked for
  // again at once. Throws StoreUnavailable.
  std::int64_t set_remaining(const LeaseRequest& window, std::int64_t remaining);

  // The plan's quota changed: the node stops serving its leases of the plan
  // (and forgets which of its keys were spent), so that the next requests
  // ask with the new limit.
  void requote(const std::string& plan_id);

  // tollgate_quota_lease_* and tollgate_redis_breaker_open lines.
  void render(std::string& out) const;

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;
  struct Lease;
  struct ReportBatch;
  struct GrantBatch;
  struct Pending {
    QuotaClaim claim;
    std::string plan_id;
    std::string key_id;
    std::function<void(LeaseOutcome)> done;
  };

  void run();
  void step(SteadyTime now, std::vector<Pending>& pending);
  void grant(SteadyTime now);
  void report(SteadyTime now, bool stopping);
  // A batch is unanswered until Redis answers it; `send` keeps it so, and
  // `resend_unanswered` sends it again as it was before anything else.
  void send(ReportBatch batch);
  void send(GrantBatch batch, SteadyTime now);
  void resend_unanswered(SteadyTime now);
  std::string next_op();
  Lease* find(QuotaCounter* counter, std::int64_t window_id);
  // Stops serving from every lease (the node could not keep them alive).
  void withdraw_all();
  void withdraw_requoted(std::vector<std::string>& plans);
  void fail(std::vector<Pending>& pending);
  Lease& lease_for(Pending& p);

  RedisClient redis_;
  QuotaLeases leases_;
  UsageReader usage_;
  const Clock& clock_;
  Options options_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Pending> pending_;
  std::vector<std::string> requoted_;  // plans whose quota changed
  bool stopping_ = false;
  std::atomic<bool> recheck_spent_{false};
  std::thread thread_;

  // The keeper thread's own.
  std::unordered_map<QuotaCounter*, std::unique_ptr<Lease>> by_counter_;
  // Batches are named `incarnation_.N`, new for each start of the node.
  const std::string incarnation_;
  std::uint64_t batches_ = 0;
  // A batch Redis may or may not have applied: its answer was lost.
  std::unique_ptr<ReportBatch> unanswered_report_;
  std::unique_ptr<GrantBatch> unanswered_grant_;
  SteadyTime
      alive_until_{};  // the node's leases are kept alive in Redis until then, as last renewed
  SteadyTime next_report_{};
  SteadyTime last_report_{};
  std::vector<LeaseReport> retired_;  // leases of windows that ended, to give back
  SteadyTime breaker_until_{};        // while Redis failed, asked again only after this
  std::chrono::milliseconds breaker_wait_{0};
  OutageLog outage_{"quota lease renewal (serving the leases held meanwhile)"};

  // For /metrics.
  std::atomic<std::uint64_t> grants_{0};
  std::atomic<std::uint64_t> granted_units_{0};
  std::atomic<std::uint64_t> waits_{0};
  std::atomic<std::uint64_t> unavailable_{0};
  std::atomic<std::uint64_t> withdrawals_{0};
  std::atomic<std::int64_t> held_units_{0};
  std::atomic<std::int64_t> active_leases_{0};
  std::atomic<bool> breaker_open_{false};
};

}  // namespace tollgate
