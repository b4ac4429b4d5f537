#pragma once

// Quota leases: how nodes sharing one Redis keep a key's quota exact. A node
// serves a key's requests from allowance it leased from Redis; a grant is
// one Lua call that never hands out more than the quota has left, so the
// requests served over all nodes never exceed the quota.
//
// Per (plan, key, quota window) Redis holds a hash:
//   granted       what has been handed out and not given back (requests
//                 served count as handed out for good);
//   held:NODE     what NODE holds and has not reported served;
//   until:NODE    when NODE's lease ends unless it is renewed (ms).
// A lease not renewed in time (its node died) goes back to the quota whole:
// requests that node served since its last report are then handed out
// again. That is the one bound on overshoot: what a node that died had
// served since it last reported.
//
// Not yet used by the data plane (see the closing note).

#include <cstdint>
#include <string>
#include <vector>

#include "store/redis_client.h"

namespace tollgate {

struct LeaseRequest {
  std::string plan_id;
  std::string key_id;
  std::int64_t window_id = 0;
  std::int64_t window_end_s = 0;  // the hash is kept until a day after
  std::int64_t limit = 0;         // the plan's quota for the window
  std::int64_t used_before = 0;   // used in the window when Redis first sees it (usage and adjustments)
  std::int64_t want = 0;
};

struct LeaseReport {
  std::string plan_id;
  std::string key_id;
  std::int64_t window_id = 0;
  std::int64_t served = 0;  // served from the lease since the last report
  bool release = false;     // give back what is left of the lease
};

class QuotaLeases {
 public:
  QuotaLeases(RedisClient& redis, std::string node, std::int64_t lease_ms = 5000);

  // Grants each request what it wants, or what its quota has left; one
  // round trip for all. `now_ms`: Redis's clock is not asked, the nodes'
  // must agree to within the lease.
  std::vector<std::int64_t> grant(const std::vector<LeaseRequest>& requests, std::int64_t now_ms);
  // Records requests served from leases, renews them, and gives back what
  // is released. A node reports well within the lease, and stops serving
  // from a lease it could not renew in time.
  void report(const std::vector<LeaseReport>& reports, std::int64_t now_ms);
  // What a (plan, key, window) has handed out, and what `node` holds of it.
  struct State {
    std::int64_t granted = 0;
    std::int64_t held = 0;
  };
  State state(const std::string& plan_id, const std::string& key_id, std::int64_t window_id, const std::string& node);

 private:
  RedisClient& redis_;
  std::string node_;
  std::int64_t lease_ms_;
};

}  // namespace tollgate
