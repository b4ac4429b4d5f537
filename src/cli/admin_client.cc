#include "cli/admin_client.h"

#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>

#include <ctime>

namespace tollgate {
namespace {

// Sends `request` and reads the answer over a connected stream.
template <class Stream>
HttpResponse round_trip(Stream& stream, const HttpRequest& request) {
  beast::error_code ec;
  http::write(stream, request, ec);
  beast::flat_buffer buffer;
  HttpResponse response;
  if (!ec) http::read(stream, buffer, response, ec);
  if (ec) throw AdminClientError("admin API call failed: " + ec.message());
  return response;
}

}  // namespace

AdminClient::AdminClient(const std::string& endpoint, AdminCredentials credentials,
                         std::string ca_file)
    : ca_file_(std::move(ca_file)), credentials_(std::move(credentials)) {
  https_ = endpoint.rfind("https://", 0) == 0;
  if (!https_ && endpoint.rfind("http://", 0) != 0)
    throw std::invalid_argument("endpoint '" + endpoint + "' must start with http:// or https://");
  std::string rest = endpoint.substr(https_ ? 8 : 7);
  const std::size_t slash = rest.find('/');
  if (slash != std::string::npos) {
    prefix_ = rest.substr(slash);
    while (!prefix_.empty() && prefix_.back() == '/') prefix_.pop_back();
    rest.resize(slash);
  }
  const std::size_t colon = rest.rfind(':');
  host_ = rest.substr(0, colon);
  port_ = colon == std::string::npos ? (https_ ? "443" : "80") : rest.substr(colon + 1);
  if (host_.empty()) throw std::invalid_argument("endpoint '" + endpoint + "' has no host");
}

boost::json::value AdminClient::call(http::verb verb, const std::string& target,
                                     const std::string& body, const std::string& content_type) {
  const HttpResponse response = exchange(verb, target, body, content_type, "application/json");
  boost::json::value json = boost::json::object{};
  if (!response.body().empty()) {
    beast::error_code ec;
    json = boost::json::parse(response.body(), ec);
    if (ec)
      throw AdminClientError("admin API answered " + std::to_string(response.result_int()) +
                             " with no JSON");
  }
  return json;
}

std::string AdminClient::fetch(const std::string& target, const std::string& accept) {
  return exchange(http::verb::get, target, "", "", accept).body();
}

HttpResponse AdminClient::exchange(http::verb verb, const std::string& target,
                                   const std::string& body, const std::string& content_type,
                                   const std::string& accept) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  beast::error_code ec;
  tcp::resolver resolver(io);
  const auto endpoints = resolver.resolve(host_, port_, ec);
  if (!ec) {
    stream.expires_after(std::chrono::seconds(30));
    stream.connect(endpoints, ec);
  }
  if (ec)
    throw AdminClientError("cannot reach the admin API at " + host_ + ":" + port_ + ": " +
                           ec.message());

  HttpRequest request{verb, prefix_ + target, 11};
  const bool default_port = port_ == (https_ ? "443" : "80");
  request.set(http::field::host, default_port ? host_ : host_ + ":" + port_);
  request.set(http::field::accept, accept);
  request.set(http::field::user_agent, "tollgate-cli");
  if (!body.empty()) request.set(http::field::content_type, content_type);
  request.body() = body;
  request.prepare_payload();
  sign_sigv4(request, credentials_, "us-east-1", static_cast<std::int64_t>(std::time(nullptr)));

  HttpResponse response;
  if (!https_) {
    response = round_trip(stream, request);
  } else {
    asio::ssl::context tls(asio::ssl::context::tls_client);
    tls.set_default_verify_paths(ec);
    if (!ca_file_.empty()) tls.load_verify_file(ca_file_, ec);
    if (ec) throw AdminClientError("cannot read CA file '" + ca_file_ + "': " + ec.message());
    tls.set_verify_mode(asio::ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream&> secure(stream, tls);
    secure.set_verify_callback(asio::ssl::host_name_verification(host_));
    // SNI names a host, never an address (RFC 6066 §3).
    asio::ip::make_address(host_, ec);
    if (ec) SSL_set_tlsext_host_name(secure.native_handle(), host_.c_str());
    secure.handshake(asio::ssl::stream_base::client, ec);
    if (ec)
      throw AdminClientError("TLS with the admin API at " + host_ + ":" + port_ +
                             " failed: " + ec.message());
    response = round_trip(secure, request);
  }

  if (response.result_int() >= 300) {
    std::string type(response["x-amzn-ErrorType"]);
    type = type.substr(0, type.find(':'));
    const boost::json::value json = boost::json::parse(response.body(), ec);
    std::string message;
    if (!ec && json.is_object() && json.as_object().contains("message") &&
        json.at("message").is_string())
      message = json.at("message").as_string().c_str();
    throw AdminClientError((type.empty() ? std::to_string(response.result_int()) : type) + ": " +
                           message);
  }
  return response;
}

}  // namespace tollgate
