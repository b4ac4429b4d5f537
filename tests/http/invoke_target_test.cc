#include "http/invoke_target.h"

#include <gtest/gtest.h>

namespace tollgate {
namespace {

TEST(InvokeTarget, HostStyle) {
  InvokeTarget t;
  ASSERT_TRUE(parse_invoke_target("abc123.execute-api.example.com", "/prod/pets/1?x=2", t));
  EXPECT_EQ(t.api_id, "abc123");
  EXPECT_EQ(t.stage, "prod");
  EXPECT_EQ(t.path, "/pets/1");
  EXPECT_EQ(t.query, "x=2");
}

TEST(InvokeTarget, HostStyleStageRoot) {
  InvokeTarget t;
  ASSERT_TRUE(parse_invoke_target("abc.execute-api.localhost:8080", "/prod", t));
  EXPECT_EQ(t.path, "/");
  EXPECT_FALSE(parse_invoke_target("abc.execute-api.localhost", "/", t));
}

TEST(InvokeTarget, PathStyle) {
  InvokeTarget t;
  ASSERT_TRUE(parse_invoke_target("127.0.0.1:8080", "/restapis/abc/prod/_user_request_/pets?q", t));
  EXPECT_EQ(t.api_id, "abc");
  EXPECT_EQ(t.stage, "prod");
  EXPECT_EQ(t.path, "/pets");
  EXPECT_EQ(t.query, "q");
  ASSERT_TRUE(parse_invoke_target("h", "/restapis/abc/prod/_user_request_", t));
  EXPECT_EQ(t.path, "/");
}

TEST(InvokeTarget, NamesNoApi) {
  InvokeTarget t;
  EXPECT_FALSE(parse_invoke_target("127.0.0.1", "/pets", t));
  EXPECT_FALSE(parse_invoke_target("127.0.0.1", "/restapis/abc/prod/pets", t));
  EXPECT_FALSE(parse_invoke_target("127.0.0.1", "/restapis//prod/_user_request_/", t));
}

}  // namespace
}  // namespace tollgate
