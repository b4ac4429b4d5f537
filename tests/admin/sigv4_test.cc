#include "admin/sigv4.h"

#include <gtest/gtest.h>

namespace tollgate {
namespace {

constexpr std::int64_t kNow = 1'767'225'600;  // 2026-01-01T00:00:00Z
const AdminCredentials kCreds{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"};

HttpRequest signed_request(const std::string& target = "/usageplans?limit=10&name=a%20b%2Bc",
                           const std::string& body = R"({"name":"gold"})") {
  HttpRequest r{http::verb::post, target, 11};
  r.set(http::field::host, "127.0.0.1:9180");
  r.set(http::field::content_type, "application/json");
  r.body() = body;
  r.prepare_payload();
  sign_sigv4(r, kCreds, "eu-west-1", kNow);
  return r;
}

TEST(SigV4, GoodSignaturePasses) {
  const SignatureCheck c = verify_sigv4(signed_request(), {kCreds}, kNow + 10);
  EXPECT_TRUE(c.ok) << c.error_type << ": " << c.message;
  EXPECT_EQ(c.access_key_id, "AKIDEXAMPLE");
}

TEST(SigV4, EncodedPathIsSignedDoubleEncoded) {
  const auto r =
      signed_request("/tags/arn%3Aaws%3Aapigateway%3Aus-east-1%3A%3A%2Fusageplans%2Fabc", "");
  EXPECT_TRUE(verify_sigv4(r, {kCreds}, kNow).ok);
}

TEST(SigV4, AlteredBodyFails) {
  HttpRequest r = signed_request();
  r.body() = R"({"name":"platinum"})";
  r.prepare_payload();
  const SignatureCheck c = verify_sigv4(r, {kCreds}, kNow);
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.error_type, "InvalidSignatureException");
}

TEST(SigV4, AlteredSignedHeaderFails) {
  HttpRequest r = signed_request();
  r.set(http::field::host, "evil.example:9180");
  EXPECT_EQ(verify_sigv4(r, {kCreds}, kNow).error_type, "InvalidSignatureException");
}

TEST(SigV4, AlteredQueryFails) {
  HttpRequest r = signed_request();
  r.target("/usageplans?limit=11&name=a%20b%2Bc");
  EXPECT_EQ(verify_sigv4(r, {kCreds}, kNow).error_type, "InvalidSignatureException");
}

TEST(SigV4, WrongSecretFails) {
  const AdminCredentials server{"AKIDEXAMPLE", "another-secret"};
  EXPECT_EQ(verify_sigv4(signed_request(), {server}, kNow).error_type, "InvalidSignatureException");
}

TEST(SigV4, UnknownAccessKeyIsUnrecognized) {
  const AdminCredentials server{"AKIDOTHER", kCreds.secret_access_key};
  EXPECT_EQ(verify_sigv4(signed_request(), {server}, kNow).error_type,
            "UnrecognizedClientException");
}

TEST(SigV4, ExpiredOrFutureDateFails) {
  const SignatureCheck old = verify_sigv4(signed_request(), {kCreds}, kNow + 301);
  EXPECT_EQ(old.error_type, "InvalidSignatureException");
  EXPECT_NE(old.message.find("Signature expired"), std::string::npos);
  EXPECT_FALSE(verify_sigv4(signed_request(), {kCreds}, kNow - 301).ok);
}

TEST(SigV4, MissingAuthorizationIsMissingToken) {
  HttpRequest r{http::verb::get, "/apikeys", 11};
  r.set(http::field::host, "h");
  EXPECT_EQ(verify_sigv4(r, {kCreds}, kNow).error_type, "MissingAuthenticationTokenException");
}

TEST(SigV4, MismatchedContentShaFails) {
  HttpRequest r = signed_request();
  r.set("X-Amz-Content-Sha256", sha256_hex("something else"));
  EXPECT_EQ(verify_sigv4(r, {kCreds}, kNow).error_type, "InvalidSignatureException");
}

TEST(SigV4, SignatureMatchesAnIndependentComputation) {
  // Expected value computed separately with Python's hmac and hashlib from the
  // canonical request of spec §8.
  HttpRequest r{http::verb::get, "/apikeys?limit=2&includeValues=true", 11};
  r.set(http::field::host, "127.0.0.1:9180");
  sign_sigv4(r, kCreds, "us-east-1", kNow);
  const std::string auth(r[http::field::authorization]);
  EXPECT_NE(auth.find("SignedHeaders=host;x-amz-content-sha256;x-amz-date,"), std::string::npos)
      << auth;
  EXPECT_NE(auth.find("Signature=0b7f70facde4bb174488ed15c26a7afa03fe5ef6fb8b8b8fb3b2d1786c31a8e6"),
            std::string::npos)
      << auth;
}

}  // namespace
}  // namespace tollgate
