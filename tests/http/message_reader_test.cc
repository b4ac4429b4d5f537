#include "http/message_reader.h"

#include <gtest/gtest.h>

#include <string>

namespace tollgate {
namespace {

// Feeds `wire` to a fresh reader in one piece; returns the parser's error.
template <bool isRequest>
beast::error_code read(std::string_view wire, InboundMessage& into, bool eof = false) {
  MessageReader<isRequest> reader(into);
  reader.eager(true);
  beast::error_code ec;
  reader.put(asio::buffer(wire.data(), wire.size()), ec);
  if (!ec && eof) reader.put_eof(ec);
  if (!ec && !reader.is_done()) ec = http::error::need_more;
  return ec;
}

TEST(MessageReader, RequestLineFieldsAndBody) {
  InboundMessage m;
  ASSERT_FALSE(read<true>("POST /a?b=1 HTTP/1.1\r\nHost: x\r\nX-Api-Key: k1\r\nContent-Length: 3\r\n\r\nabc", m));
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
  ASSERT_FALSE(read<true>("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", m));
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
