#pragma once

// Quota leases: how nodes sharing one Redis keep a key's quota exact. A node
// serves a key's requests from allowance it leased from Redis; a grant is
// one Lua call that never hands out more than the quota has left, so the
// requests served over all nodes never exceed the quota.
//
// Per (plan, key, quota window) Redis holds a hash:
//   granted    what has been handed out and not given back (requests served
//              count as handed out for good);
//   held:NODE  what NODE holds and has not reported served.
// Each node keeps tollgate:lease-node:NODE alive (it expires after one lease
// period). A grant on another node takes back whole the leases of a node
// whose mark expired: a node killed, or cut off from Redis for longer than
// a lease. A node stops serving from its leases before its mark could
// expire, so overshoot can only come from what such a node served after its
// last report: the one bound, stated in README.md.
//
// Every grant and report names the batch it was sent in (its `op`). A batch
// whose answer was lost (Redis killed after it ran the scripts, before it
// answered) is sent again unchanged, and each script applies at most once:
//   grant:NODE   the batch of NODE's last grant and what it took, so that the
//                same batch again gets the same answer;
//   report:NODE  the batch of NODE's last report;
//   gone:NODE    NODE's lease was taken back while it held some: NODE is
//                granted nothing until it has reported what it served.
// A release drops NODE's fields; a release sent again finds nothing held.

#include <chrono>
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
  std::int64_t used_before =
      0;  // used in the window when Redis first sees it (usage and adjustments)
  std::int64_t want = 0;
};

struct LeaseGrant {
  std::int64_t units = 0;
  std::int64_t left = 0;  // what the quota has left to lease after this grant
  // Redis took this node's lease back (its mark expired): nothing is granted
  // until the node has reported what it served from it.
  bool report_first = false;
};

struct LeaseReport {
  std::string plan_id;
  std::string key_id;
  std::int64_t window_id = 0;
  std::int64_t served = 0;    // served from the lease since the last report
  std::int64_t returned = 0;  // given back unserved
  bool release = false;       // give back all that is left of the lease, and forget it
};

class QuotaLeases {
 public:
  // Near the end of a quota a grant is at most 1/`spread` of what is left,
  // so that the last units go to the nodes still asking, not to one.
  QuotaLeases(RedisClient& redis, std::string node,
              std::chrono::milliseconds lease = std::chrono::seconds(5), std::int64_t spread = 4);

  // Grants each request what it wants, or what its quota can spare; one
  // round trip for all, which also keeps this node's leases alive. `op`
  // names the batch: no space in it, and new for each batch but one sent
  // again after its answer was lost.
  std::vector<LeaseGrant> grant(const std::vector<LeaseRequest>& requests, const std::string& op);
  // Records requests served from leases and gives back what is released;
  // keeps this node's leases alive even when there is nothing to report.
  void report(const std::vector<LeaseReport>& reports, const std::string& op);
  // UpdateUsage: makes what the window has left to hand out `remaining`,
  // leases held aside, and returns by how much its use moved. `request`
  // names the window (its `want` is unused).
  std::int64_t set_remaining(const LeaseRequest& request, std::int64_t remaining);

  // What a (plan, key, window) has handed out, and what `node` holds of it.
  struct State {
    std::int64_t granted = 0;
    std::int64_t held = 0;
  };
  State state(const std::string& plan_id, const std::string& key_id, std::int64_t window_id,
              const std::string& node);
  std::chrono::milliseconds lease() const { return lease_; }

 private:
  RedisCommand keep_alive() const;

  RedisClient& redis_;
  std::string node_;
  std::chrono::milliseconds lease_;
  std::int64_t spread_;
};

}  // namespace tollgate
