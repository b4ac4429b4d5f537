#include "http/whole_message_parser.h"

#include <gtest/gtest.h>

#include <string>

#include "whole_message_check.h"

namespace tollgate {
namespace {

using testing::read_both_ways;

const WholeMessageLimits kLimits{1024, 64, RequestRules{64, 4}};

// Read by the fast path, exactly as Beast reads it.
void expect_taken(std::string_view wire, bool is_request, bool head_request = false) {
  const auto r = read_both_ways(wire, kLimits, is_request, head_request);
  EXPECT_TRUE(r.agree()) << "used " << r.whole_used << " / " << r.beast_used
                         << "\nwhole: " << r.whole << "\nbeast: " << r.beast;
}

// Left to Beast, with nothing left behind in the message.
void expect_left(std::string_view wire, bool is_request, bool head_request = false) {
  InboundMessage m;
  const std::size_t used = is_request ? parse_whole_request(wire, kLimits, m)
                                      : parse_whole_response(wire, kLimits, head_request, m);
  EXPECT_EQ(used, 0u) << wire;
  EXPECT_EQ(testing::describe(m), testing::describe(InboundMessage{})) << wire;
}

TEST(WholeMessageParser, ReadsAPlainRequestAsBeastDoes) {
  InboundMessage m;
  const std::string_view wire =
      "GET /restapis/a/prod/_user_request_/pets?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
      "x-api-key: key-0123\r\nAccept:\t*/* \t\r\nEmpty:\r\n\r\n";
  ASSERT_EQ(parse_whole_request(wire, kLimits, m), wire.size());
  EXPECT_EQ(m.verb, http::verb::get);
  EXPECT_EQ(m.target, "/restapis/a/prod/_user_request_/pets?x=1");
  EXPECT_EQ(m.fields.find("X-Api-Key"), "key-0123");
  EXPECT_EQ(m.fields.find(http::field::accept), "*/*");
  EXPECT_TRUE(m.keep_alive);
  EXPECT_FALSE(m.has_body_framing);
  expect_taken(wire, true);
}

TEST(WholeMessageParser, TakesABodyOnlyWhenAllOfItHasCome) {
  const std::string_view wire = "POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
  expect_taken(wire, true);
  expect_left(wire.substr(0, wire.size() - 1), true);
  expect_taken("POST /p HTTP/1.1\r\nContent-Length: 0\r\n\r\n", true);
  expect_taken("POST /p HTTP/1.1\r\nContent-Length: 007\r\n\r\n1234567", true);
}

TEST(WholeMessageParser, TakesTheFirstOfPipelinedRequests) {
  const std::string_view first = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
  const std::string wire = std::string(first) + "GET /b HTTP/1.1\r\nHost: h\r\n\r\n";
  InboundMessage m;
  EXPECT_EQ(parse_whole_request(wire, kLimits, m), first.size());
  expect_taken(wire, true);
}

TEST(WholeMessageParser, KeepsAliveAsBeastDoes) {
  expect_taken("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", true);
  expect_taken("GET / HTTP/1.1\r\nConnection: Keep-Alive\r\n\r\n", true);
  expect_taken("GET / HTTP/1.0\r\n\r\n", true);
  expect_taken("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true);
  expect_taken("GET / HTTP/1.0\r\nConnection: keep-alive\r\nProxy-Connection: close\r\n\r\n", true);
  InboundMessage m;
  ASSERT_NE(parse_whole_request("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", kLimits, m), 0u);
  EXPECT_FALSE(m.keep_alive);
}

TEST(WholeMessageParser, LeavesIncompleteMessagesToBeast) {
  const std::string_view wire = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
  for (std::size_t n = 0; n < wire.size(); ++n) expect_left(wire.substr(0, n), true);
}

TEST(WholeMessageParser, LeavesUnusualFramingToBeast) {
  expect_left("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", true);
  expect_left("GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", true);
  expect_left("GET / HTTP/1.1\r\nConnection: keep-alive, x-hop\r\n\r\n", true);
  expect_left("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\na", true);
  expect_left("POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\na", true);
  expect_left("POST / HTTP/1.1\r\nContent-Length: 1,1\r\n\r\na", true);
  expect_left("POST / HTTP/1.1\r\nContent-Length: \r\n\r\n", true);
}

TEST(WholeMessageParser, LeavesMalformedHeadsToBeast) {
  expect_left("GET / HTTP/1.1\nHost: h\n\n", true);
  expect_left("GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", true);
  expect_left("GET / HTTP/1.1\r\nHost : h\r\n\r\n", true);
  expect_left("GET / HTTP/1.1\r\n: h\r\n\r\n", true);
  expect_left("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", true);
  expect_left("GET / HTTP/1.1\r\nHost: a\x7f\r\n\r\n", true);
  static constexpr char kNul[] = "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n";
  expect_left(std::string_view(kNul, sizeof kNul - 1), true);
  expect_left("GET / HTTP/2.0\r\n\r\n", true);
  expect_left("GET  / HTTP/1.1\r\n\r\n", true);
  expect_left("GET /a b HTTP/1.1\r\n\r\n", true);
  expect_left("G(T / HTTP/1.1\r\n\r\n", true);
  expect_left("\r\nGET / HTTP/1.1\r\n\r\n", true);
}

TEST(WholeMessageParser, LeavesWhatBreaksALimitToBeast) {
  expect_left("GET /" + std::string(64, 'a') + " HTTP/1.1\r\n\r\n", true);  // the target
  expect_left("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n", true);
  expect_taken("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", true);
  expect_left("GET / HTTP/1.1\r\nA: " + std::string(1024, 'a') + "\r\n\r\n", true);  // the header
  expect_left("POST / HTTP/1.1\r\nContent-Length: 65\r\n\r\n" + std::string(65, 'a'), true);
  expect_taken("POST / HTTP/1.1\r\nContent-Length: 64\r\n\r\n" + std::string(64, 'a'), true);
}

TEST(WholeMessageParser, ReadsAPlainResponseAsBeastDoes) {
  InboundMessage m;
  const std::string_view wire =
      "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: application/json\r\n"
      "Content-Length: 11\r\nConnection: keep-alive\r\n\r\n{\"ok\":true}";
  ASSERT_EQ(parse_whole_response(wire, kLimits, false, m), wire.size());
  EXPECT_EQ(m.status, 200u);
  EXPECT_EQ(m.body, "{\"ok\":true}");
  EXPECT_TRUE(m.keep_alive);
  expect_taken(wire, false);
  expect_taken("HTTP/1.0 404 \r\nContent-Length: 0\r\n\r\n", false);
  expect_taken("HTTP/1.1 200 \xc3\xa9 ok\t\r\nContent-Length: 1\r\n\r\nx", false);
}

TEST(WholeMessageParser, ReadsBodilessResponsesAsBeastDoes) {
  expect_taken("HTTP/1.1 204 No Content\r\n\r\n", false);
  expect_taken("HTTP/1.1 304 Not Modified\r\nContent-Length: 20\r\n\r\n", false);
  expect_taken("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", false);
  expect_taken("HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n", false, true);  // to a HEAD request
}

TEST(WholeMessageParser, LeavesResponsesItCannotFrameToBeast) {
  expect_left("HTTP/1.1 200 OK\r\n\r\nto the close",
              false);  // the body runs to the connection's close
  expect_left("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false);
  expect_left("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab", false);
  expect_left("HTTP/1.1 200 OK\r\nContent-Length: 65\r\n\r\n" + std::string(65, 'a'), false);
  expect_left("HTTP/1.1 20 OK\r\n\r\n", false);
  expect_left("HTTP/1.1 200\r\n\r\n", false);
  expect_left("HTTP/1.1 200 OK\r\nA: 1\r\n b\r\nContent-Length: 0\r\n\r\n", false);
}

}  // namespace
}  // namespace tollgate
