#include "store/quota_leases.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "redis_server.h"

namespace tollgate {
namespace {

using std::chrono::milliseconds;

LeaseRequest request(std::int64_t want, std::int64_t limit = 100, std::int64_t used_before = 0) {
  return {"p1", "k1", 7, 2'000'000'000, limit, used_before, want};
}

// A batch name never used before, as a node gives each batch.
std::string fresh_op() {
  static std::atomic<int> ops{0};
  return "test." + std::to_string(++ops);
}

std::int64_t units(QuotaLeases& leases, const LeaseRequest& r) {
  return leases.grant({r}, fresh_op()).front().units;
}

class QuotaLeasesTest : public ::testing::Test {
 protected:
  RedisServer server;
  RedisClient redis{RedisAddress::parse(server.url())};
  // Spread 1: whatever is left may go in one grant.
  QuotaLeases a{redis, "node-a", milliseconds(5000), 1};
  QuotaLeases b{redis, "node-b", milliseconds(5000), 1};
};

TEST_F(QuotaLeasesTest, GrantsNeverHandOutMoreThanTheQuotaHasLeft) {
  const LeaseGrant first = a.grant({request(30, 100, 20)}, fresh_op()).front();
  EXPECT_EQ(first.units, 30);
  EXPECT_EQ(first.left, 50);  // 20 used before
  EXPECT_EQ(units(b, request(40)), 40);
  EXPECT_EQ(units(a, request(40)), 10);
  EXPECT_EQ(units(b, request(1)), 0);
  EXPECT_EQ(a.state("p1", "k1", 7, "node-a").granted, 100);
  EXPECT_EQ(a.state("p1", "k1", 7, "node-a").held, 40);

  // Served requests stay handed out; what is released goes back.
  a.report({{"p1", "k1", 7, 25, 0, true}}, fresh_op());
  EXPECT_EQ(a.state("p1", "k1", 7, "node-a").granted, 85);
  EXPECT_EQ(units(b, request(50)), 15);
  // A raised limit is there to lease at once.
  EXPECT_EQ(units(a, request(50, 120)), 20);
}

TEST_F(QuotaLeasesTest, AReportCanGiveBackPartOfALease) {
  EXPECT_EQ(units(a, request(60)), 60);
  a.report({{"p1", "k1", 7, 10, 30, false}}, fresh_op());  // 10 served, 30 given back
  EXPECT_EQ(a.state("p1", "k1", 7, "node-a").granted, 30);
  EXPECT_EQ(a.state("p1", "k1", 7, "node-a").held, 20);
}

TEST_F(QuotaLeasesTest, NearTheEndAGrantIsAShareOfWhatIsLeft) {
  QuotaLeases spread{redis, "node-c", milliseconds(5000), 4};
  EXPECT_EQ(units(spread, request(1000, 100)), 25);
  EXPECT_EQ(units(spread, request(1000, 100)), 18);  // 75 / 4
  EXPECT_EQ(units(spread, request(5, 100)), 5);
  // The last units still go, one at a time.
  EXPECT_EQ(units(spread, request(1000, 53)), 1);
}

TEST_F(QuotaLeasesTest, TheLeasesOfANodeThatStopsRenewingGoBack) {
  QuotaLeases short_lived{redis, "node-b", milliseconds(300), 1};
  EXPECT_EQ(units(a, request(60)), 60);
  EXPECT_EQ(units(short_lived, request(10)), 10);
  std::this_thread::sleep_for(milliseconds(400));
  // a renews its leases with every call; b's mark expired, and b's 10 go back.
  EXPECT_EQ(units(a, request(100)), 40);
  EXPECT_EQ(b.state("p1", "k1", 7, "node-b").held, 0);
  EXPECT_EQ(a.state("p1", "k1", 7, "node-a").held, 100);
  // Served requests b reports late count as handed out again.
  short_lived.report({{"p1", "k1", 7, 4, 0, false}}, fresh_op());
  EXPECT_EQ(a.state("p1", "k1", 7, "node-a").granted, 104);
}

TEST_F(QuotaLeasesTest, AGrantSentAgainGetsItsFirstAnswer) {
  EXPECT_EQ(a.grant({request(30)}, "a.1").front().units, 30);
  // Its answer was lost: the same batch again takes nothing more.
  EXPECT_EQ(a.grant({request(30)}, "a.1").front().units, 30);
  EXPECT_EQ(a.state("p1", "k1", 7, "node-a").granted, 30);
  EXPECT_EQ(a.state("p1", "k1", 7, "node-a").held, 30);
  EXPECT_EQ(a.grant({request(30)}, "a.2").front().units, 30);
  EXPECT_EQ(a.state("p1", "k1", 7, "node-a").held, 60);
}

TEST_F(QuotaLeasesTest, AReportSentAgainIsCountedOnce) {
  EXPECT_EQ(units(a, request(60)), 60);
  a.report({{"p1", "k1", 7, 10, 30, false}}, "a.7");
  a.report({{"p1", "k1", 7, 10, 30, false}}, "a.7");
  EXPECT_EQ(a.state("p1", "k1", 7, "node-a").granted, 30);
  EXPECT_EQ(a.state("p1", "k1", 7, "node-a").held, 20);
}

TEST_F(QuotaLeasesTest, AReleaseSentAgainGivesNothingBackTwice) {
  EXPECT_EQ(units(a, request(60)), 60);
  EXPECT_EQ(units(b, request(20)), 20);
  a.report({{"p1", "k1", 7, 25, 0, true}}, "a.8");  // 25 served, 35 back
  EXPECT_EQ(a.state("p1", "k1", 7, "node-a").granted, 45);
  a.report({{"p1", "k1", 7, 25, 0, true}}, "a.8");
  EXPECT_EQ(a.state("p1", "k1", 7, "node-a").granted, 45);
  EXPECT_EQ(units(a, request(100)), 55);
}

TEST_F(QuotaLeasesTest, ANodeWhoseLeaseWasTakenBackReportsBeforeItGetsMore) {
  QuotaLeases short_lived{redis, "node-b", milliseconds(300), 1};
  EXPECT_EQ(units(a, request(60)), 60);
  EXPECT_EQ(short_lived.grant({request(10)}, "b.1").front().units, 10);
  short_lived.report({{"p1", "k1", 7, 4, 0, false}}, "b.2");  // 6 held
  std::this_thread::sleep_for(milliseconds(400));
  EXPECT_EQ(units(a, request(100)), 36);  // b's 6 came back
  // b's answers were lost meanwhile: its batches again change nothing,
  // and its grant is void.
  short_lived.report({{"p1", "k1", 7, 4, 0, false}}, "b.2");
  const LeaseGrant again = short_lived.grant({request(10)}, "b.1").front();
  EXPECT_EQ(again.units, 0);
  EXPECT_TRUE(again.report_first);
  EXPECT_EQ(a.state("p1", "k1", 7, "node-a").granted, 100);
  // b served 2 more of its 6 before it stopped serving them: they count.
  short_lived.report({{"p1", "k1", 7, 2, 4, false}}, "b.3");
  EXPECT_EQ(a.state("p1", "k1", 7, "node-a").granted, 102);
  const LeaseGrant after = short_lived.grant({request(10, 110)}, "b.4").front();
  EXPECT_FALSE(after.report_first);
  EXPECT_EQ(after.units, 8);
}

TEST_F(QuotaLeasesTest, SettingWhatRemainsLeavesTheLeasesHeld) {
  // Redis has not seen the window: it starts from what was used before.
  EXPECT_EQ(a.set_remaining(request(0, 100, 30), 50), 20);
  EXPECT_EQ(units(a, request(100)), 50);
  a.report({{"p1", "k1", 7, 10, 0, false}}, fresh_op());  // 60 served, 40 held by a
  // What remains counts what nodes hold: 20 more to lease, beside a's 40.
  EXPECT_EQ(b.set_remaining(request(0), 60), -20);
  EXPECT_EQ(a.state("p1", "k1", 7, "node-a").held, 40);
  EXPECT_EQ(units(b, request(100)), 20);
}

TEST_F(QuotaLeasesTest, ConcurrentNodesTogetherGetExactlyTheQuota) {
  constexpr int kNodes = 4;
  std::atomic<std::int64_t> total{0};
  std::vector<std::thread> nodes;
  for (int n = 0; n < kNodes; ++n) {
    nodes.emplace_back([&, n] {
      RedisClient own(RedisAddress::parse(server.url()));
      QuotaLeases leases(own, "node-" + std::to_string(n), milliseconds(60000), 4);
      for (;;) {
        const std::int64_t got = units(leases, request(7, 1000));
        if (got == 0) break;
        total += got;
      }
    });
  }
  for (auto& t : nodes) t.join();
  EXPECT_EQ(total.load(), 1000);
}

}  // namespace
}  // namespace tollgate
