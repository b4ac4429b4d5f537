#include "limits/quota_counter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace tollgate {
namespace {

TEST(QuotaCounter, AdmitsExactlyTheLimit) {
  QuotaCounter c;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(c.try_take(7, 3), 2 - i);
  EXPECT_EQ(c.try_take(7, 3), -1);
  EXPECT_EQ(c.used(7), 3);
}

TEST(QuotaCounter, NewWindowStartsEmpty) {
  QuotaCounter c;
  c.try_take(7, 1);
  EXPECT_EQ(c.try_take(7, 1), -1);
  EXPECT_EQ(c.try_take(8, 1), 0);
  EXPECT_EQ(c.used(8), 1);
}

TEST(QuotaCounter, GiveBackOnlyInTheSameWindow) {
  QuotaCounter c;
  c.try_take(7, 5);
  c.give_back(6);
  EXPECT_EQ(c.used(7), 1);
  c.give_back(7);
  EXPECT_EQ(c.used(7), 0);
}

TEST(QuotaCounter, ZeroLimitRefuses) {
  QuotaCounter c;
  EXPECT_EQ(c.try_take(1, 0), -1);
}

TEST(QuotaCounter, NeverOvershootsUnderContention) {
  QuotaCounter c;
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i)
        if (c.try_take(42, 10000) >= 0) admitted.fetch_add(1);
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(admitted.load(), 10000);
  EXPECT_EQ(c.used(42), 10000);
}

TEST(QuotaCounter, AdjustCanGrantBeyondTheLimit) {
  QuotaCounter c;
  for (int i = 0; i < 3; ++i) c.try_take(5, 3);
  c.adjust(5, -5);  // grant five more than the limit
  EXPECT_EQ(c.used(5), -2);
  int admitted = 0;
  while (c.try_take(5, 3) >= 0) ++admitted;
  EXPECT_EQ(admitted, 5);
  c.adjust(6, 10);  // a new window starts from zero
  EXPECT_EQ(c.used(6), 10);
}

TEST(QuotaCounter, SetUsedSeedsTheWindow) {
  QuotaCounter c;
  c.set_used(9, 4);
  EXPECT_EQ(c.try_take(9, 5), 0);
  EXPECT_EQ(c.try_take(9, 5), -1);
}

TEST(QuotaCounter, ALeaseIsTakenFromBelowZero) {
  QuotaCounter c;
  EXPECT_EQ(c.try_take(3, 0), -1);  // no lease yet
  EXPECT_EQ(c.used(3), 0);
  c.add_lease(3, 2);
  EXPECT_EQ(c.lease_left(3), 2);
  EXPECT_EQ(c.try_take(3, 0), 1);
  c.add_lease(3, 5);
  EXPECT_EQ(c.lease_left(3), 6);
  EXPECT_EQ(c.withdraw_lease(3), 6);
  EXPECT_EQ(c.try_take(3, 0), -1);
  EXPECT_EQ(c.used(3), 0);
}

TEST(QuotaCounter, ASpentQuotaIsMarkedAndALeaseReplacesTheMark) {
  QuotaCounter c;
  c.mark_spent(3);
  EXPECT_EQ(c.try_take(3, 0), -1);
  EXPECT_EQ(c.used(3), 1);
  c.count_refusal(3);
  c.mark_spent(3);
  EXPECT_EQ(c.used(3), 2);  // refusals counted on the mark stay
  c.forget_spent(3);
  EXPECT_EQ(c.used(3), 0);
  c.mark_spent(3);
  EXPECT_EQ(c.withdraw_lease(3), 0);
  c.add_lease(3, 1);
  EXPECT_EQ(c.try_take(3, 0), 0);
  EXPECT_EQ(c.used(3), 0);
  // A lease that came first is not marked over.
  c.add_lease(3, 4);
  c.mark_spent(3);
  EXPECT_EQ(c.lease_left(3), 4);
}

TEST(QuotaCounter, ALeaseEndsWithItsWindow) {
  QuotaCounter c;
  c.add_lease(3, 10);
  EXPECT_EQ(c.try_take(4, 0), -1);  // the next window needs its own
  EXPECT_EQ(c.lease_left(4), 0);
  c.add_lease(4, 2);
  EXPECT_EQ(c.withdraw_lease(3), 0);  // the old lease is gone
  EXPECT_EQ(c.lease_left(4), 2);
}

}  // namespace
}  // namespace tollgate
