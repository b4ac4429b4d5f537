#include "store/quota_leases.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "redis_server.h"

namespace tollgate {
namespace {

LeaseRequest request(std::int64_t want, std::int64_t limit = 100, std::int64_t used_before = 0) {
  return {"p1", "k1", 7, 2'000'000'000, limit, used_before, want};
}

class QuotaLeasesTest : public ::testing::Test {
 protected:
  RedisServer server;
  RedisClient redis{RedisAddress::parse(server.url())};
  QuotaLeases a{redis, "node-a", 5000};
  QuotaLeases b{redis, "node-b", 5000};
};

TEST_F(QuotaLeasesTest, GrantsNeverHandOutMoreThanTheQuotaHasLeft) {
  EXPECT_EQ(a.grant({request(30, 100, 20)}, 1000), (std::vector<std::int64_t>{30}));
  EXPECT_EQ(b.grant({request(40)}, 1000), (std::vector<std::int64_t>{40}));
  EXPECT_EQ(a.grant({request(40)}, 1000), (std::vector<std::int64_t>{10}));  // 20 used before + 30 + 40 + 10
  EXPECT_EQ(b.grant({request(1)}, 1000), (std::vector<std::int64_t>{0}));
  EXPECT_EQ(a.state("p1", "k1", 7, "node-a").granted, 100);
  EXPECT_EQ(a.state("p1", "k1", 7, "node-a").held, 40);

  // Served requests stay handed out; what is released goes back.
  a.report({{"p1", "k1", 7, 25, true}}, 1500);
  EXPECT_EQ(a.state("p1", "k1", 7, "node-a").granted, 85);
  EXPECT_EQ(b.grant({request(50)}, 1500), (std::vector<std::int64_t>{15}));
  // A raised limit is there to lease at once.
  EXPECT_EQ(a.grant({request(50, 120)}, 1500), (std::vector<std::int64_t>{20}));
}

TEST_F(QuotaLeasesTest, ALeaseNotRenewedGoesBackAndARenewedOneStays) {
  a.grant({request(60)}, 1000);
  b.grant({request(10)}, 1000);
  a.report({{"p1", "k1", 7, 5, false}}, 5000);  // a renews until 10,000; b's ends at 6,000
  // At 7,000 b's lease is taken back whole: 10 units; a keeps its 55.
  EXPECT_EQ(a.grant({request(100)}, 7000), (std::vector<std::int64_t>{40}));
  EXPECT_EQ(b.state("p1", "k1", 7, "node-b").held, 0);
  EXPECT_EQ(a.state("p1", "k1", 7, "node-a").held, 95);
}

TEST_F(QuotaLeasesTest, ConcurrentNodesTogetherGetExactlyTheQuota) {
  constexpr int kNodes = 4;
  std::atomic<std::int64_t> total{0};
  std::vector<std::thread> nodes;
  for (int n = 0; n < kNodes; ++n) {
    nodes.emplace_back([&, n] {
      RedisClient own(RedisAddress::parse(server.url()));
      QuotaLeases leases(own, "node-" + std::to_string(n), 60000);
      for (;;) {
        const std::int64_t got = leases.grant({request(7, 1000)}, 1000).front();
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
