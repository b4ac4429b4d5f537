#pragma once

// AWS Signature Version 4 for the management API (spec §8): the server
// verifies requests signed by the AWS CLI and SDKs, and the tollgate CLI signs
// its own. Service name "apigateway"; any region.

#include <cstdint>
#include <string>
#include <vector>

#include "http/beast.h"

namespace tollgate {

struct AdminCredentials {
  std::string access_key_id;
  std::string secret_access_key;
};

struct SignatureCheck {
  bool ok = false;
  std::string error_type;  // x-amzn-ErrorType when refused
  std::string message;
  std::string access_key_id;  // who signed, when ok
};

inline constexpr std::int64_t kMaxClockSkewSeconds = 300;

// Checks `request`'s Authorization header against the known credentials at
// time `now_s`. Signatures are compared in constant time.
SignatureCheck verify_sigv4(const HttpRequest& request, const std::vector<AdminCredentials>& known,
                            std::int64_t now_s);

// Signs `request` (its target, headers and body as they will be sent): sets
// X-Amz-Date, X-Amz-Content-Sha256 and Authorization. Host must be set.
void sign_sigv4(HttpRequest& request, const AdminCredentials& credentials,
                const std::string& region, std::int64_t now_s);

std::string sha256_hex(std::string_view data);

}  // namespace tollgate
