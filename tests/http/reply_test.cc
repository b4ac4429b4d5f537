#include "http/reply.h"

#include <gtest/gtest.h>

#include <string>

namespace tollgate {
namespace {

std::string wire(Reply& reply, bool keep_alive, unsigned version, bool head) {
  std::string out;
  for (const auto& b : reply.finish(keep_alive, version, head))
    out.append(static_cast<const char*>(b.data()), b.size());
  return out;
}

TEST(Reply, FramesTheBodyWithItsLength) {
  Reply r;
  r.start(200);
  r.add("Content-Type", "application/json");
  r.body() = R"({"ok":true})";
  EXPECT_EQ(wire(r, true, 11, false),
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            "11\r\n\r\n{\"ok\":true}");
}

TEST(Reply, FieldsOfAnyLengthAreWrittenWhole) {
  // A line of up to 256 bytes is put together on the stack, a longer one
  // appended piece by piece: "X-Long: " and CRLF are 10 of them.
  for (const std::size_t length : {0, 1, 245, 246, 247, 4096}) {
    Reply r;
    r.start(204);
    const std::string value(length, 'v');
    r.add("X-Long", value);
    r.add("X-Next", "1");
    EXPECT_EQ(wire(r, true, 11, false),
              "HTTP/1.1 204 No Content\r\nX-Long: " + value + "\r\nX-Next: 1\r\n\r\n")
        << length;
  }
}

TEST(Reply, HeadAnswerKeepsTheLengthAndSendsNoBody) {
  Reply r;
  r.start(200);
  r.body() = "12345";
  EXPECT_EQ(wire(r, true, 11, true), "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
}

TEST(Reply, BodilessStatusesCarryNeitherLengthNorBody) {
  for (unsigned status : {204u, 304u, 103u}) {
    Reply r;
    r.start(status);
    r.body() = "ignored";
    const std::string out = wire(r, true, 11, false);
    EXPECT_EQ(out.find("Content-Length"), std::string::npos) << status;
    EXPECT_EQ(out.substr(out.size() - 4), "\r\n\r\n") << status;
  }
}

TEST(Reply, GivenLengthStandsForAForwardedHeadAnswer) {
  Reply r;
  r.start(200);
  r.add("Content-Length", "42");
  r.keep_given_length();
  EXPECT_EQ(wire(r, true, 11, true), "HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n");
}

TEST(Reply, ConnectionFieldFollowsKeepAliveAndVersion) {
  Reply r;
  r.start(200);
  EXPECT_NE(wire(r, false, 11, false).find("Connection: close\r\n"), std::string::npos);
  r.start(200);
  EXPECT_NE(wire(r, true, 10, false).find("Connection: keep-alive\r\n"), std::string::npos);
  r.start(200);
  EXPECT_EQ(wire(r, true, 11, false).find("Connection:"), std::string::npos);
}

TEST(Reply, ErrorReplyIsTheContractsJson) {
  Reply r;
  set_error_reply(r, 429, "TooManyRequestsException", "Too \"Many\" Requests");
  EXPECT_EQ(r.status(), 429u);
  EXPECT_EQ(r.body(), R"({"message":"Too \"Many\" Requests"})");
  const std::string out = wire(r, true, 11, false);
  EXPECT_EQ(out.rfind("HTTP/1.1 429 Too Many Requests\r\n", 0), 0u);
  EXPECT_NE(out.find("x-amzn-ErrorType: TooManyRequestsException\r\n"), std::string::npos);
}

}  // namespace
}  // namespace tollgate
