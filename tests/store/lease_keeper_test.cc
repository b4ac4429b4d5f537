#include "store/lease_keeper.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "lossy_relay.h"
#include "redis_server.h"

namespace tollgate {
namespace {

using std::chrono::milliseconds;

constexpr std::int64_t kWindow = 20000;
// Redis expires the lease hashes a day after their window: the window must
// end in Redis's future.
const std::int64_t kNowS = SystemClock().now() / kNanosPerSecond;

// One node's keeper, with a counter for key k1 under plan p1.
struct Node {
  Node(const RedisServer& server, const std::string& name, LeaseKeeper::Options options = {})
      : Node(server.url(), name, options) {}
  Node(const std::string& url, const std::string& name, LeaseKeeper::Options options = {})
      : keeper(
            RedisAddress::parse(url), name,
            [](const std::string&, const std::string&, QuotaPeriod, std::int64_t, std::int64_t) {
              return std::int64_t{0};
            },
            clock, options) {
    keeper.start();
  }

  QuotaClaim claim(std::int64_t limit) {
    return {&counter, "p1", "k1", kWindow, kNowS + 3600, 0, 0, limit};
  }
  // Asks for a lease and waits for the answer.
  LeaseOutcome ask(std::int64_t limit) {
    std::promise<LeaseOutcome> answered;
    keeper.request(claim(limit), [&answered](LeaseOutcome o) { answered.set_value(o); });
    return answered.get_future().get();
  }
  // Serves requests as the gate would until the quota is spent everywhere.
  std::int64_t serve_all(std::int64_t limit) {
    std::int64_t served = 0;
    for (;;) {
      if (counter.try_take(kWindow, 0) >= 0) {
        ++served;
        continue;
      }
      if (counter.used(kWindow) > 0) {
        counter.count_refusal(kWindow);  // as the gate does: the key is still asked for
        return served;
      }
      const LeaseOutcome outcome = ask(limit);
      if (outcome == LeaseOutcome::kSpent) return served;
      if (outcome == LeaseOutcome::kUnavailable) {
        ADD_FAILURE() << "no lease could be had";
        return served;
      }
    }
  }

  ManualClock clock{kNowS * kNanosPerSecond};
  QuotaCounter counter;
  LeaseKeeper keeper;
};

std::int64_t granted(const RedisServer& server) {
  RedisClient redis(RedisAddress::parse(server.url()));
  QuotaLeases leases(redis, "observer");
  return leases.state("p1", "k1", kWindow, "observer").granted;
}

TEST(LeaseKeeper, AFirstRequestGetsALeaseAndTheGateServesFromIt) {
  RedisServer server;
  Node a(server, "a");
  EXPECT_EQ(a.ask(1000), LeaseOutcome::kGranted);
  EXPECT_EQ(a.counter.lease_left(kWindow), 16);  // the first lease
  EXPECT_GE(a.counter.try_take(kWindow, 0), 0);
}

TEST(LeaseKeeper, NodesTogetherServeExactlyTheQuota) {
  RedisServer server;
  Node a(server, "a");
  Node b(server, "b");
  Node c(server, "c");
  auto served_a = std::async(std::launch::async, [&] { return a.serve_all(5000); });
  auto served_b = std::async(std::launch::async, [&] { return b.serve_all(5000); });
  const std::int64_t served_c = c.serve_all(5000);
  EXPECT_EQ(served_a.get() + served_b.get() + served_c, 5000);
  EXPECT_EQ(granted(server), 5000);
}

TEST(LeaseKeeper, AStoppedNodeGivesItsLeaseBack) {
  RedisServer server;
  {
    Node a(server, "a");
    EXPECT_EQ(a.ask(1000), LeaseOutcome::kGranted);
    for (int i = 0; i < 5; ++i) EXPECT_GE(a.counter.try_take(kWindow, 0), 0);
  }
  EXPECT_EQ(granted(server), 5);  // served stays handed out; the rest went back
}

TEST(LeaseKeeper, AQuietLeaseGoesBackAndTheOtherNodeGetsIt) {
  RedisServer server;
  LeaseKeeper::Options quick;
  quick.idle = milliseconds(400);
  Node a(server, "a", quick);
  Node b(server, "b", quick);
  EXPECT_EQ(a.ask(20), LeaseOutcome::kGranted);
  EXPECT_GT(a.counter.lease_left(kWindow), 0);
  // a's keeper may top its lease up while b serves: what b could not have,
  // a holds.
  const std::int64_t b_first = b.serve_all(20);
  EXPECT_LT(b_first, 20);
  EXPECT_EQ(granted(server), 20);
  // a serves nothing: its lease goes back, and b, asking again, gets it.
  std::this_thread::sleep_for(milliseconds(1000));
  EXPECT_EQ(a.counter.lease_left(kWindow), 0);
  std::int64_t more = 0;
  for (int i = 0; i < 50 && b_first + more < 20; ++i) {
    std::this_thread::sleep_for(milliseconds(100));
    more += b.serve_all(20);
  }
  EXPECT_EQ(b_first + more, 20);
  EXPECT_EQ(granted(server), 20);
}

TEST(LeaseKeeper, WithRedisGoneALeaseServesUntilItCouldHaveExpiredThenRequestsAreRefused) {
  RedisServer server;
  LeaseKeeper::Options options;
  options.lease = milliseconds(1000);
  Node a(server, "a", options);
  EXPECT_EQ(a.ask(1000), LeaseOutcome::kGranted);
  server.stop();
  // Still served from the lease while it lasts.
  EXPECT_GE(a.counter.try_take(kWindow, 0), 0);
  std::this_thread::sleep_for(milliseconds(1000));
  EXPECT_EQ(a.counter.lease_left(kWindow), 0);  // withdrawn before Redis could reclaim it
  const auto asked = std::chrono::steady_clock::now();
  EXPECT_EQ(a.ask(1000), LeaseOutcome::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - asked, milliseconds(400));
}

TEST(LeaseKeeper, AnswersLostOnTheWayNeitherLoseNorOvershootTheQuota) {
  constexpr std::int64_t kLimit = 3000;
  RedisServer server;
  LossyRelay relay(server.port());
  Node a(relay.url(), "a");
  Node b(server, "b");
  // a serves at a steady pace while the answers to its grants and reports
  // are lost now and then, after Redis applied them.
  std::atomic<bool> done{false};
  std::thread losing([&] {
    while (!done) {
      const int lost = relay.answers_lost();
      relay.lose_next_answer();
      while (!done && relay.answers_lost() == lost) std::this_thread::sleep_for(milliseconds(5));
      // Redis answers again once the keeper's breaker lets it ask.
      std::this_thread::sleep_for(milliseconds(200));
    }
  });
  std::int64_t served_by_a = 0;
  std::thread serving([&] {
    for (;;) {
      if (a.counter.try_take(kWindow, 0) >= 0) {
        ++served_by_a;
        std::this_thread::sleep_for(std::chrono::microseconds(300));
        continue;
      }
      if (a.counter.used(kWindow) > 0) return;  // spent
      if (a.ask(kLimit) == LeaseOutcome::kUnavailable)
        std::this_thread::sleep_for(milliseconds(20));
    }
  });
  std::this_thread::sleep_for(milliseconds(500));
  const std::int64_t served_by_b = b.serve_all(kLimit);
  serving.join();
  done = true;
  losing.join();
  EXPECT_GE(relay.answers_lost(), 3);
  EXPECT_EQ(served_by_a + served_by_b, kLimit);
  EXPECT_EQ(granted(server), kLimit);
}

TEST(LeaseKeeper, FailClosedWithdrawsEveryLeaseAtTheFirstFailure) {
  RedisServer server;
  LeaseKeeper::Options options;
  options.fail_closed = true;
  Node a(server, "a", options);
  EXPECT_EQ(a.ask(1000), LeaseOutcome::kGranted);
  server.stop();
  for (int i = 0; i < 100 && a.counter.lease_left(kWindow) > 0; ++i)
    std::this_thread::sleep_for(milliseconds(20));
  EXPECT_EQ(a.counter.lease_left(kWindow), 0);
}

TEST(LeaseKeeper, AnAdjustmentReachesASpentKey) {
  RedisServer server;
  Node a(server, "a");
  EXPECT_EQ(a.serve_all(10), 10);
  EXPECT_GT(a.counter.used(kWindow), 0);           // marked spent
  std::this_thread::sleep_for(milliseconds(250));  // what was served is reported
  EXPECT_EQ(a.keeper.set_remaining({"p1", "k1", kWindow, kNowS + 3600, 10, 0, 0}, 5), -5);
  for (int i = 0; i < 100 && a.counter.lease_left(kWindow) == 0; ++i)
    std::this_thread::sleep_for(milliseconds(10));
  EXPECT_EQ(a.serve_all(10), 5);
}

TEST(LeaseKeeper, AChangedQuotaIsAskedForAgain) {
  RedisServer server;
  Node a(server, "a");
  EXPECT_EQ(a.serve_all(10), 10);
  a.keeper.requote("p1");  // the limit goes up to 25
  for (int i = 0; i < 100 && a.counter.used(kWindow) != 0; ++i)
    std::this_thread::sleep_for(milliseconds(10));
  EXPECT_EQ(a.serve_all(25), 15);

  // A lowered limit: the lease held under the old one is not served from.
  Node b(server, "b");
  EXPECT_EQ(b.ask(1000), LeaseOutcome::kGranted);
  b.keeper.requote("p1");
  for (int i = 0; i < 100 && b.counter.lease_left(kWindow) != 0; ++i)
    std::this_thread::sleep_for(milliseconds(10));
  EXPECT_EQ(b.counter.lease_left(kWindow), 0);
}

}  // namespace
}  // namespace tollgate
