#include "http/address_limits.h"

#include <gtest/gtest.h>

namespace tollgate {
namespace {

TEST(AddressLimits, OneClientSpendingItsTokensLeavesOthersTheirs) {
  AddressLimits limits(BucketParams::from(Throttle{1.0, 5}));
  const UnixNanos now = 1'000 * kNanosPerSecond;
  const auto guesser = asio::ip::make_address("192.0.2.7");
  const auto owner = asio::ip::make_address("2001:db8::1");
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limits.try_take(guesser, now));
  EXPECT_FALSE(limits.try_take(guesser, now));
  EXPECT_TRUE(limits.try_take(owner, now));
  EXPECT_TRUE(limits.try_take(asio::ip::make_address("192.0.2.8"), now));
  EXPECT_TRUE(limits.try_take(guesser, now + kNanosPerSecond));  // one a second after the burst
}

}  // namespace
}  // namespace tollgate
