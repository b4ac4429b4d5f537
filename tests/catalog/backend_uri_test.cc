#include "catalog/backend_uri.h"

#include <gtest/gtest.h>

namespace tollgate {
namespace {

TEST(BackendUri, SplitsHostPortAndTarget) {
  auto b = parse_backend_uri("http://127.0.0.1:9000/pets/{petId}?a=1");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "127.0.0.1");
  EXPECT_EQ(b->port, "9000");
  EXPECT_EQ(b->host_header, "127.0.0.1:9000");
  EXPECT_EQ(b->target, "/pets/{petId}?a=1");
}

TEST(BackendUri, DefaultsPortAndPath) {
  auto b = parse_backend_uri("http://backend.internal");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->port, "80");
  EXPECT_EQ(b->target, "/");
  auto q = parse_backend_uri("http://h?x=1");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->target, "/?x=1");
}

TEST(BackendUri, Ipv6) {
  auto b = parse_backend_uri("http://[::1]:8080/x");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, "8080");
}

TEST(BackendUri, RejectsOtherSchemesAndBadPorts) {
  EXPECT_FALSE(parse_backend_uri("ftp://h/x"));
  EXPECT_FALSE(parse_backend_uri("http://h:99999/"));
  EXPECT_FALSE(parse_backend_uri("http://:80/"));
}

TEST(MockResponse, ReadsStatusBodyAndHeaders) {
  Integration i;
  i.request_templates["application/json"] = R"({"statusCode": 201})";
  IntegrationResponse r;
  r.status_code = "201";
  r.response_templates["text/plain"] = "made";
  r.response_parameters["method.response.header.X-Thing"] = "'yes'";
  i.integration_responses["201"] = r;
  const MockResponse m = mock_response_of(i);
  EXPECT_EQ(m.status, 201);
  EXPECT_EQ(m.content_type, "text/plain");
  EXPECT_EQ(m.body, "made");
  ASSERT_EQ(m.headers.size(), 1u);
  EXPECT_EQ(m.headers[0].first, "X-Thing");
  EXPECT_EQ(m.headers[0].second, "yes");
}

TEST(BackendUri, StageVariablesAreFilledPerStage) {
  const std::map<std::string, std::string> blue{{"host", "127.0.0.1:9001"}, {"v", "2"}};
  EXPECT_EQ(with_stage_variables("http://${stageVariables.host}/v${stageVariables.v}/{id}", blue),
            "http://127.0.0.1:9001/v2/{id}");
  EXPECT_EQ(with_stage_variables("http://h/${stageVariables.none}x", blue), "http://h/x");
  EXPECT_EQ(with_stage_variables("http://h/${stageVariables.open", blue),
            "http://h/${stageVariables.open");
}

}  // namespace
}  // namespace tollgate
