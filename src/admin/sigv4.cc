#include "admin/sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <utility>

#include "core/ascii.h"
#include "core/percent_encoding.h"

namespace tollgate {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kService = "apigateway";

std::string to_hex(const unsigned char* data, std::size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (std::size_t i = 0; i < size; ++i) {
    out[2 * i] = kHex[data[i] >> 4];
    out[2 * i + 1] = kHex[data[i] & 15];
  }
  return out;
}

std::string hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &size);
  return std::string(reinterpret_cast<char*>(out), size);
}

// Trims and folds runs of spaces, as the canonical header form wants.
std::string canonical_value(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// The query string decoded, re-encoded with the unreserved set and sorted.
std::string canonical_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  for (const auto& [raw_name, raw_value] : split_query(query)) {
    const auto name = percent_decode(raw_name).value_or(std::string(raw_name));
    const auto value = percent_decode(raw_value).value_or(std::string(raw_value));
    params.emplace_back(percent_encode(name), percent_encode(value));
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    out += name + "=" + value;
  }
  return out;
}

// The signing input for `signed_headers` (lower-case, sorted, ';'-joined).
std::string canonical_request(const HttpRequest& request, const std::string& signed_headers,
                              const std::string& payload_hash) {
  const std::string_view target = request.target();
  const std::size_t q = target.find('?');
  std::string out;
  out += request.method_string();
  out += '\n';
  // The clients encode the path once more for signing; '/' stays.
  out += percent_encode(target.substr(0, q), true);
  out += '\n';
  out += canonical_query(q == std::string_view::npos ? "" : target.substr(q + 1));
  out += '\n';
  std::map<std::string, std::string> values;
  for (const auto& field : request) {
    const std::string name = ascii_lower(field.name_string());
    auto& slot = values[name];
    slot += (slot.empty() ? "" : ",") + canonical_value(field.value());
  }
  std::string_view names = signed_headers;
  while (!names.empty()) {
    const std::size_t semi = names.find(';');
    const std::string name(names.substr(0, semi));
    names.remove_prefix(semi == std::string_view::npos ? names.size() : semi + 1);
    out += name + ":" + values[name] + "\n";
  }
  out += '\n';
  out += signed_headers;
  out += '\n';
  out += payload_hash;
  return out;
}

std::string signature(const std::string& secret, const std::string& date, const std::string& region,
                      const std::string& amz_date, const std::string& canonical) {
  const std::string scope = date + "/" + region + "/" + std::string(kService) + "/aws4_request";
  const std::string to_sign =
      std::string(kAlgorithm) + "\n" + amz_date + "\n" + scope + "\n" + sha256_hex(canonical);
  std::string key = hmac("AWS4" + secret, date);
  key = hmac(key, region);
  key = hmac(key, kService);
  key = hmac(key, "aws4_request");
  const std::string sig = hmac(key, to_sign);
  return to_hex(reinterpret_cast<const unsigned char*>(sig.data()), sig.size());
}

// yyyyMMddTHHmmssZ → epoch seconds.
std::optional<std::int64_t> parse_amz_date(std::string_view s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
  std::tm tm{};
  if (std::sscanf(std::string(s).c_str(), "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon,
                  &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<std::int64_t>(timegm(&tm));
}

std::string format_amz_date(std::int64_t now_s) {
  const std::time_t t = static_cast<std::time_t>(now_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[20];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

// The value of `name=` in the Authorization header's comma-separated list.
std::string auth_part(std::string_view header, std::string_view name) {
  std::size_t pos = 0;
  while ((pos = header.find(name, pos)) != std::string_view::npos) {
    const bool at_start = pos == 0 || header[pos - 1] == ' ' || header[pos - 1] == ',';
    if (at_start && pos + name.size() < header.size() && header[pos + name.size()] == '=') {
      const std::size_t start = pos + name.size() + 1;
      const std::size_t end = header.find(',', start);
      return canonical_value(
          header.substr(start, end == std::string_view::npos ? end : end - start));
    }
    pos += name.size();
  }
  return {};
}

SignatureCheck refuse(std::string type, std::string message) {
  return {false, std::move(type), std::move(message), {}};
}

const char* kMismatch =
    "The request signature we calculated does not match the signature you provided. Check your AWS "
    "Secret Access Key and signing method. Consult the service documentation for details.";

}  // namespace

std::string sha256_hex(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), out, &size, EVP_sha256(), nullptr);
  return to_hex(out, size);
}

SignatureCheck verify_sigv4(const HttpRequest& request, const std::vector<AdminCredentials>& known,
                            std::int64_t now_s) {
  const auto auth_it = request.find(http::field::authorization);
  if (auth_it == request.end())
    return refuse("MissingAuthenticationTokenException", "Missing Authentication Token");
  const std::string_view auth = auth_it->value();
  if (auth.substr(0, kAlgorithm.size()) != kAlgorithm)
    return refuse("IncompleteSignatureException",
                  "Authorization header requires the AWS4-HMAC-SHA256 algorithm");

  const std::string credential = auth_part(auth, "Credential");
  const std::string signed_headers = auth_part(auth, "SignedHeaders");
  const std::string provided = auth_part(auth, "Signature");
  // Credential = AKID/yyyyMMdd/region/service/aws4_request
  std::vector<std::string> scope;
  for (std::size_t start = 0;;) {
    const std::size_t slash = credential.find('/', start);
    scope.push_back(credential.substr(start, slash == std::string::npos ? slash : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (scope.size() != 5 || signed_headers.empty() || provided.empty() || scope[4] != "aws4_request")
    return refuse("IncompleteSignatureException",
                  "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' "
                  "parameters");
  if (scope[3] != kService)
    return refuse("InvalidSignatureException",
                  "Credential should be scoped to correct service: 'apigateway'.");
  if ((";" + signed_headers + ";").find(";host;") == std::string::npos)
    return refuse("InvalidSignatureException", "Signed headers must include 'host'.");

  const AdminCredentials* creds = nullptr;
  for (const auto& c : known)
    if (c.access_key_id == scope[0]) creds = &c;
  if (!creds)
    return refuse("UnrecognizedClientException",
                  "The security token included in the request is invalid.");

  const auto date_it = request.find("x-amz-date");
  const std::string amz_date = date_it == request.end() ? "" : std::string(date_it->value());
  const auto signed_at = parse_amz_date(amz_date);
  if (!signed_at || amz_date.substr(0, 8) != scope[1])
    return refuse("IncompleteSignatureException",
                  "Authorization header requires a valid X-Amz-Date "
                  "matching the credential scope date.");
  if (*signed_at < now_s - kMaxClockSkewSeconds || *signed_at > now_s + kMaxClockSkewSeconds)
    return refuse("InvalidSignatureException", "Signature expired: " + amz_date +
                                                   " is now earlier than " +
                                                   format_amz_date(now_s - kMaxClockSkewSeconds) +
                                                   " (" + format_amz_date(now_s) + " - 5 min.)");

  const std::string body_hash = sha256_hex(request.body());
  if (const auto sha = request.find("x-amz-content-sha256");
      sha != request.end() && sha->value() != body_hash)
    return refuse("InvalidSignatureException",
                  "The provided 'x-amz-content-sha256' header does not match "
                  "what was computed.");
  const std::string expected = signature(creds->secret_access_key, scope[1], scope[2], amz_date,
                                         canonical_request(request, signed_headers, body_hash));
  if (expected.size() != provided.size() ||
      CRYPTO_memcmp(expected.data(), provided.data(), expected.size()) != 0)
    return refuse("InvalidSignatureException", kMismatch);
  return {true, {}, {}, creds->access_key_id};
}

void sign_sigv4(HttpRequest& request, const AdminCredentials& credentials,
                const std::string& region, std::int64_t now_s) {
  const std::string amz_date = format_amz_date(now_s);
  const std::string body_hash = sha256_hex(request.body());
  request.set("X-Amz-Date", amz_date);
  request.set("X-Amz-Content-Sha256", body_hash);
  std::string names;
  std::map<std::string, bool> sorted;
  for (const auto& field : request) {
    const std::string name = ascii_lower(field.name_string());
    if (name == "host" || name == "content-type" || name.rfind("x-amz-", 0) == 0)
      sorted[name] = true;
  }
  for (const auto& [name, unused] : sorted) names += (names.empty() ? "" : ";") + name;
  const std::string date = amz_date.substr(0, 8);
  const std::string sig = signature(credentials.secret_access_key, date, region, amz_date,
                                    canonical_request(request, names, body_hash));
  request.set(http::field::authorization,
              std::string(kAlgorithm) + " Credential=" + credentials.access_key_id + "/" + date +
                  "/" + region + "/" + std::string(kService) +
                  "/aws4_request, SignedHeaders=" + names + ", Signature=" + sig);
}

}  // namespace tollgate
