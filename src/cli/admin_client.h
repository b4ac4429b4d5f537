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
  // `endpoint` is http[s]://host:port[/prefix]. An https server's
  // certificate must name the host and chain to the system's CAs or to
  // those in `ca_file`.
  AdminClient(const std::string& endpoint, AdminCredentials credentials, std::string ca_file = "");

  // Sends a request and returns its JSON answer ({} for an empty body).
  // `target` is the path and query, already percent-encoded.
  boost::json::value call(http::verb verb, const std::string& target, const std::string& body = "",
                          const std::string& content_type = "application/json");
  // A GET answered with a document that is no JSON answer (an export).
  std::string fetch(const std::string& target, const std::string& accept);

 private:
  // Sends a request; its response when the status is below 300, else throws.
  HttpResponse exchange(http::verb verb, const std::string& target, const std::string& body,
                        const std::string& content_type, const std::string& accept);

  std::string host_;
  std::string port_;
  std::string prefix_;
  bool https_ = false;
  std::string ca_file_;
  AdminCredentials credentials_;
};

}  // namespace tollgate
