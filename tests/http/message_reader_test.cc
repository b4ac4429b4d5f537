#include "http/message_reader.h"

#include <gtest/gtest.h>

#include <string>

namespace tollgate {
namespace {

// Feeds `wire` to a fresh reader in one piece; returns the parser's error.
template <bool isRequest>
beast::error_code read(std::string_view wire, InboundMessage& into, bool eof = false,
                       RequestFault* fault = nullptr, RequestRules rules = {}) {
  MessageReader<isRequest> reader(into, rules);
  reader.eager(true);
  beast::error_code ec;
  reader.put_input(asio::buffer(wire.data(), wire.size()), ec);
  if (!ec && eof) reader.put_eof(ec);
  if (!ec && !reader.is_done()) ec = http::error::need_more;
  if (fault) *fault = reader.fault();
  return ec;
}

// The fault a request is refused for; kNone if it is read whole.
RequestFault fault_of(std::string_view wire, RequestRules rules = {}) {
  InboundMessage m;
  RequestFault fault = RequestFault::kNone;
  const beast::error_code ec = read<true>(wire, m, false, &fault, rules);
  EXPECT_EQ(ec ? ec : http::error::bad_value, http::error::bad_value) << ec.message();
  return ec ? fault : RequestFault::kNone;
}

TEST(MessageReader, RequestLineFieldsAndBody) {
  InboundMessage m;
  ASSERT_FALSE(read<true>(
      "POST /a?b=1 HTTP/1.1\r\nHost: x\r\nX-Api-Key: k1\r\nContent-Length: 3\r\n\r\nabc", m));
  EXPECT_EQ(m.verb, http::verb::post);
  EXPECT_EQ(m.method, "POST");
  EXPECT_EQ(m.target, "/a?b=1");
  EXPECT_EQ(m.version, 11u);
  EXPECT_EQ(m.fields.size(), 3u);
  EXPECT_EQ(m.fields.find(http::field::host), "x");
  EXPECT_EQ(m.fields.find("x-api-key"), "k1");
  EXPECT_EQ(m.body, "abc");
  EXPECT_TRUE(m.has_body_framing);
  EXPECT_TRUE(m.keep_alive);
}

TEST(MessageReader, ChunkedBodyArrivesDecoded) {
  InboundMessage m;
  ASSERT_FALSE(read<true>(
      "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", m));
  EXPECT_EQ(m.body, "abcde");
  EXPECT_TRUE(m.has_body_framing);
}

TEST(MessageReader, ReuseStartsFromNothing) {
  InboundMessage m;
  ASSERT_FALSE(read<true>("GET /one HTTP/1.1\r\nA: 1\r\nContent-Length: 2\r\n\r\nhi", m));
  ASSERT_FALSE(read<true>("GET /two HTTP/1.0\r\n\r\n", m));
  EXPECT_EQ(m.target, "/two");
  EXPECT_EQ(m.fields.size(), 0u);
  EXPECT_TRUE(m.body.empty());
  EXPECT_FALSE(m.has_body_framing);
  EXPECT_FALSE(m.keep_alive);  // HTTP/1.0 without keep-alive
}

TEST(MessageReader, ResponseStatusAndCloseDelimitedBody) {
  InboundMessage m;
  ASSERT_FALSE(read<false>("HTTP/1.1 404 Not Found\r\nServer: s\r\n\r\nnot here", m, true));
  EXPECT_EQ(m.status, 404u);
  EXPECT_EQ(m.body, "not here");
  EXPECT_FALSE(m.keep_alive);  // the body ended with the connection
}

TEST(MessageReader, MalformedRequestIsAnError) {
  InboundMessage m;
  EXPECT_TRUE(read<true>("GET / HTTP/1.1\r\nBad Field\r\n\r\n", m));
}

TEST(MessageReader, FoldedFieldValueIsRefused) {
  EXPECT_EQ(fault_of("GET / HTTP/1.1\r\nX-A: one\r\n two\r\n\r\n"), RequestFault::kObsFold);
  EXPECT_EQ(fault_of("GET / HTTP/1.1\r\nX-A:\r\n\ttwo\r\n\r\n"), RequestFault::kObsFold);
  EXPECT_EQ(fault_of("GET / HTTP/1.1\r\nX-A: one two\r\nX-B: \r\n\r\n"), RequestFault::kNone);
}

TEST(MessageReader, OnlyALoneChunkedCodingIsRead) {
  EXPECT_EQ(fault_of("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"),
            RequestFault::kChunkedNotFinal);
  EXPECT_EQ(fault_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
            RequestFault::kChunkedNotFinal);
  EXPECT_EQ(fault_of("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"),
            RequestFault::kUnknownCoding);
  EXPECT_EQ(fault_of("POST / HTTP/1.1\r\nTransfer-Encoding: CHUNKED\r\n\r\n0\r\n\r\n"),
            RequestFault::kNone);
  // Beast itself refuses Transfer-Encoding beside Content-Length.
  InboundMessage m;
  EXPECT_EQ(
      read<true>("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", m),
      http::error::bad_transfer_encoding);
  EXPECT_EQ(read<true>("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", m),
            http::error::multiple_content_length);
}

TEST(MessageReader, RulesBoundTargetAndFields) {
  RequestRules rules;
  rules.max_target = 10;
  rules.max_fields = 2;
  EXPECT_EQ(fault_of("GET /123456789 HTTP/1.1\r\n\r\n", rules), RequestFault::kNone);
  EXPECT_EQ(fault_of("GET /1234567890 HTTP/1.1\r\n\r\n", rules), RequestFault::kTargetTooLong);
  EXPECT_EQ(fault_of("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n", rules), RequestFault::kNone);
  EXPECT_EQ(fault_of("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", rules),
            RequestFault::kTooManyFields);
  InboundMessage m;
  EXPECT_EQ(read<true>("GET / HTTP/2.0\r\n\r\n", m), http::error::bad_version);
}

TEST(FieldList, FindIgnoresCaseAndConnectionListsTokens) {
  FieldList f;
  f.add(http::field::unknown, "X-Thing", "1");
  f.add(http::field::connection, "Connection", "keep-alive, X-Thing");
  EXPECT_EQ(f.find("x-thing"), "1");
  EXPECT_TRUE(f.contains(http::field::connection));
  EXPECT_TRUE(connection_lists(f.find(http::field::connection), "x-thing"));
  EXPECT_FALSE(connection_lists(f.find(http::field::connection), "x-other"));
  f.clear();
  EXPECT_EQ(f.size(), 0u);
  EXPECT_TRUE(f.find("x-thing").empty());
}

}  // namespace
}  // namespace tollgate
