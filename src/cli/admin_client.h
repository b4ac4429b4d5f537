#pragma once

#include <boost/json.hpp>

#include <stdexcept>
#include <string>

#include "admin/sigv4.h"
#include "http/beast.h"

namespace tollgate {

// A refusal from the management API, as "Code: message".
class AdminClientError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A small synchronous client of the management API for the `tollgate` CLI:
// one connection per call, every request signed with SigV4.
class AdminClient {
 public:
  // `endpoint` is http://host:port[/prefix].
  AdminClient(const std::string& endpoint, AdminCredentials credentials);

  // Sends a request and returns its JSON answer ({} for an empty body).
  // `target` is the path and query, already percent-encoded.
  boost::json::value call(http::verb verb, const std::string& target, const std::string& body = "",
                          const std::string& content_type = "application/json");

 private:
  std::string host_;
  std::string port_;
  std::string prefix_;
  AdminCredentials credentials_;
};

}  // namespace tollgate
