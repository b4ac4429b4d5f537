#include "http/ratelimit_fields.h"

#include <gtest/gtest.h>

namespace tollgate {
namespace {

TEST(RateLimitFields, FormatsPolicyAndState) {
  const RateLimitFields f(LimitReport{"quota", 1000, 86400, 12, 3600});
  EXPECT_EQ(f.policy(), "\"quota\";q=1000;w=86400");
  EXPECT_EQ(f.state(), "\"quota\";r=12;t=3600");
}

}  // namespace
}  // namespace tollgate
