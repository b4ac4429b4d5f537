#include "http/request_refusal.h"

#include <gtest/gtest.h>

namespace tollgate {
namespace {

TEST(ReadRefusal, SizesHaveTheirOwnStatus) {
  EXPECT_EQ(read_refusal(http::error::header_limit, RequestFault::kNone).status, 431u);
  EXPECT_EQ(read_refusal(http::error::buffer_overflow, RequestFault::kNone).status, 431u);
  EXPECT_EQ(read_refusal(http::error::body_limit, RequestFault::kNone).status, 413u);
  EXPECT_EQ(read_refusal(http::error::bad_value, RequestFault::kTargetTooLong).status, 414u);
  EXPECT_EQ(read_refusal(http::error::bad_value, RequestFault::kTooManyFields).status, 431u);
}

TEST(ReadRefusal, FramingFaultsAreBadRequestsThatSayWhy) {
  const Refusal conflict = read_refusal(http::error::bad_transfer_encoding, RequestFault::kNone);
  EXPECT_EQ(conflict.status, 400u);
  EXPECT_NE(conflict.message.find("Content-Length"), std::string_view::npos);
  EXPECT_EQ(read_refusal(http::error::bad_chunk, RequestFault::kNone).message,
            "Invalid chunked encoding");
  EXPECT_NE(read_refusal(http::error::bad_value, RequestFault::kObsFold).message.find("obs-fold"),
            std::string_view::npos);
  EXPECT_EQ(read_refusal(http::error::bad_value, RequestFault::kChunkedNotFinal).status, 400u);
  EXPECT_EQ(read_refusal(http::error::bad_value, RequestFault::kUnknownCoding).status, 501u);
  EXPECT_EQ(read_refusal(http::error::bad_version, RequestFault::kNone).status, 505u);
  EXPECT_EQ(read_refusal(http::error::bad_method, RequestFault::kNone).message, "Invalid method");
}

TEST(TargetProblem, PathsPass) {
  for (std::string_view ok :
       {"/", "/a/b", "/a/b/", "/a?x=../y", "/a/.b", "/a/..b/", "/a/b.", "/%2e%2ex", "//a"})
    EXPECT_EQ(target_problem(ok), "") << ok;
}

TEST(TargetProblem, DotSegmentsNulAndNonPathsAreRefused) {
  for (std::string_view bad :
       {"/..", "/a/../b", "/a/./b", "/a/.", "/%2e%2e/x", "/a/%2E./b", "/a/.%2e", "/%2e"})
    EXPECT_NE(target_problem(bad), "") << bad;
  EXPECT_NE(target_problem("/a%00b"), "");
  EXPECT_NE(target_problem("http://host/a"), "");
  EXPECT_NE(target_problem("*"), "");
  EXPECT_NE(target_problem(""), "");
}

}  // namespace
}  // namespace tollgate
