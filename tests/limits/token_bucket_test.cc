#include "limits/token_bucket.h"

#include <gtest/gtest.h>

namespace tollgate {
namespace {

constexpr std::int64_t kMs = 1'000'000;
constexpr UnixNanos kStart = std::int64_t{1'700'000'000} * kNanosPerSecond;

int take_n(TokenBucket& b, const BucketParams& p, UnixNanos now, int n) {
  int taken = 0;
  std::int64_t wait = 0;
  for (int i = 0; i < n; ++i) taken += b.try_take(p, now, wait) ? 1 : 0;
  return taken;
}

TEST(TokenBucket, StartsFullAndServesTheBurstAtOnce) {
  // AWS's worked example: 10,000 rps, burst 5,000, 10,000 requests in the
  // first millisecond → 5,000 served.
  TokenBucket b;
  const auto p = BucketParams::from({10000.0, 5000});
  EXPECT_EQ(take_n(b, p, kStart, 10000), 5000);
}

TEST(TokenBucket, RefillsAtTheSteadyRate) {
  // 5,000 at t=0, then 5,000 at t=101 ms → about 6,000 served in all.
  TokenBucket b;
  const auto p = BucketParams::from({10000.0, 5000});
  const int first = take_n(b, p, kStart, 5000);
  const int second = take_n(b, p, kStart + 101 * kMs, 5000);
  EXPECT_EQ(first, 5000);
  EXPECT_NEAR(second, 1010, 1);
}

TEST(TokenBucket, SteadyRateWithinOnePercentOverTime) {
  TokenBucket b;
  const auto p = BucketParams::from({100.0, 10});
  int served = take_n(b, p, kStart, 10);
  // One attempt every millisecond for 10 s: the rate, not the attempts, decides.
  for (int ms = 1; ms <= 10000; ++ms) served += take_n(b, p, kStart + ms * kMs, 1);
  EXPECT_NEAR(served, 10 + 100 * 10, 10);
}

TEST(TokenBucket, FractionalRate) {
  TokenBucket b;
  const auto p = BucketParams::from({0.5, 1});
  EXPECT_EQ(take_n(b, p, kStart, 3), 1);
  EXPECT_EQ(take_n(b, p, kStart + 1999 * kMs, 1), 0);
  EXPECT_EQ(take_n(b, p, kStart + 2000 * kMs, 1), 1);
}

TEST(TokenBucket, ZeroRateOrBurstRefusesEverything) {
  TokenBucket b;
  EXPECT_EQ(take_n(b, BucketParams::from({0.0, 10}), kStart, 5), 0);
  EXPECT_EQ(take_n(b, BucketParams::from({10.0, 0}), kStart, 5), 0);
}

TEST(TokenBucket, WaitTellsWhenTheNextTokenArrives) {
  TokenBucket b;
  const auto p = BucketParams::from({2.0, 1});
  std::int64_t wait = 0;
  ASSERT_TRUE(b.try_take(p, kStart, wait));
  ASSERT_FALSE(b.try_take(p, kStart + 100 * kMs, wait));
  EXPECT_EQ(wait, 400 * kMs);
}

TEST(TokenBucket, GiveBackRestoresTheToken) {
  TokenBucket b;
  const auto p = BucketParams::from({1.0, 2});
  EXPECT_EQ(take_n(b, p, kStart, 2), 2);
  b.give_back(p);
  EXPECT_EQ(take_n(b, p, kStart, 2), 1);
}

TEST(TokenBucket, LevelReportsRemainingAndTimeToFull) {
  TokenBucket b;
  const auto p = BucketParams::from({1.0, 10});
  EXPECT_EQ(b.level(p, kStart).remaining, 10);
  take_n(b, p, kStart, 4);
  const BucketLevel level = b.level(p, kStart);
  EXPECT_EQ(level.remaining, 6);
  EXPECT_EQ(level.seconds_to_full, 4);
  EXPECT_EQ(b.level(p, kStart + 4 * kNanosPerSecond).remaining, 10);
}

TEST(TokenBucket, IdleBucketDoesNotOverfill) {
  TokenBucket b;
  const auto p = BucketParams::from({1000.0, 5});
  take_n(b, p, kStart, 5);
  EXPECT_EQ(take_n(b, p, kStart + 3600 * kNanosPerSecond, 100), 5);
}

}  // namespace
}  // namespace tollgate
