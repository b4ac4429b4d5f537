#include "admin/console_sessions.h"

#include <gtest/gtest.h>

namespace tollgate {
namespace {

TEST(ConsoleSessions, ASessionIsFoundByItsIdUntilItEnds) {
  ConsoleSessions sessions;
  const std::string id = sessions.start("AKIDEXAMPLE", 1000);
  EXPECT_EQ(id.size(), 43u);
  ConsoleSessions::Session* s = sessions.find(id, 1001);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(s->csrf_token.size(), 43u);
  EXPECT_NE(s->csrf_token, id);
  EXPECT_EQ(sessions.find("not-" + id, 1001), nullptr);
  EXPECT_EQ(sessions.find("", 1001), nullptr);
  sessions.end(id);
  EXPECT_EQ(sessions.find(id, 1002), nullptr);
}

TEST(ConsoleSessions, ASessionEndsUnusedForAnHourOrAfterEightHours) {
  ConsoleSessions sessions;
  const std::string idle = sessions.start("a", 0);
  EXPECT_EQ(sessions.find(idle, ConsoleSessions::kIdleS), nullptr);
  const std::string busy = sessions.start("b", 0);
  for (std::int64_t t = 1800; t < ConsoleSessions::kLifetimeS; t += 1800)
    EXPECT_NE(sessions.find(busy, t), nullptr);
  EXPECT_EQ(sessions.find(busy, ConsoleSessions::kLifetimeS), nullptr);
}

TEST(ConsoleSessions, PastTheLimitTheSessionUnusedLongestEnds) {
  ConsoleSessions sessions;
  const std::string first = sessions.start("a", 0);
  for (std::size_t i = 1; i < ConsoleSessions::kMaxSessions; ++i) sessions.start("a", 1);
  EXPECT_NE(sessions.find(first, 2), nullptr);  // used now: no longer the oldest
  sessions.start("a", 1);
  sessions.start("a", 3);
  EXPECT_EQ(sessions.size(), ConsoleSessions::kMaxSessions);
  EXPECT_NE(sessions.find(first, 3), nullptr);
}

TEST(CookieValue, FindsTheNamedCookie) {
  EXPECT_EQ(cookie_value("a=1; tollgate_console=xyz; b=2", "tollgate_console"), "xyz");
  EXPECT_EQ(cookie_value("tollgate_console=xyz", "tollgate_console"), "xyz");
  EXPECT_EQ(cookie_value("not_tollgate_console=xyz", "tollgate_console"), "");
  EXPECT_EQ(cookie_value("", "tollgate_console"), "");
}

TEST(SameSecret, ComparesWholeValues) {
  EXPECT_TRUE(same_secret("abc", "abc"));
  EXPECT_FALSE(same_secret("abc", "abd"));
  EXPECT_FALSE(same_secret("abc", "ab"));
}

}  // namespace
}  // namespace tollgate
