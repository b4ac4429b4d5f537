#include "http/upstream_pool.h"

#include <optional>

namespace tollgate {
namespace {

std::string pool_key(const Backend& b) { return b.host + ':' + b.port; }

bool is_timeout(const beast::error_code& ec) { return ec == beast::error::timeout; }

}  // namespace

UpstreamPool::UpstreamPool(asio::any_io_executor executor, Limits limits)
    : executor_(executor), limits_(limits), resolver_(executor) {}

UpstreamPool::ConnectionPtr UpstreamPool::take_idle(const std::string& key) {
  auto it = idle_.find(key);
  if (it == idle_.end() || it->second.empty()) return nullptr;
  ConnectionPtr c = std::move(it->second.back());
  it->second.pop_back();
  idle_total_.fetch_sub(1, std::memory_order_relaxed);
  return c;
}

void UpstreamPool::put_idle(const std::string& key, ConnectionPtr c) {
  auto& list = idle_[key];
  if (list.size() >= limits_.idle_per_backend) return;
  list.push_back(std::move(c));
  idle_total_.fetch_add(1, std::memory_order_relaxed);
}

asio::awaitable<UpstreamPool::ConnectionPtr> UpstreamPool::connect(
    const Backend& backend, std::chrono::steady_clock::time_point deadline, UpstreamError& error) {
  beast::error_code ec;
  auto endpoints = co_await resolver_.async_resolve(backend.host, backend.port,
                                                    asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    error = UpstreamError::kUnreachable;
    co_return nullptr;
  }
  auto c = std::make_unique<Connection>(executor_);
  c->stream.expires_at(deadline);
  co_await c->stream.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    error = is_timeout(ec) ? UpstreamError::kTimeout : UpstreamError::kUnreachable;
    co_return nullptr;
  }
  c->stream.socket().set_option(tcp::no_delay(true), ec);
  co_return c;
}

asio::awaitable<UpstreamResult> UpstreamPool::exchange(const Backend& backend, HttpRequest& request,
                                                       std::chrono::milliseconds timeout) {
  UpstreamResult result;
  const std::string key = pool_key(backend);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int attempt = 0; attempt < 2; ++attempt) {
    ConnectionPtr c = attempt == 0 ? take_idle(key) : nullptr;
    const bool reused = c != nullptr;
    if (!c) {
      c = co_await connect(backend, deadline, result.error);
      if (!c) co_return result;
    }
    c->stream.expires_at(deadline);

    beast::error_code ec;
    co_await http::async_write(c->stream, request, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (reused && !is_timeout(ec)) continue;
      result.error = is_timeout(ec) ? UpstreamError::kTimeout : UpstreamError::kUnreachable;
      co_return result;
    }

    std::size_t bytes = 0;
    std::optional<http::response_parser<http::string_body>> parser;
    // Interim 1xx answers (100 Continue, 103 Early Hints) are not the
    // response: read on until the final one.
    do {
      parser.emplace();
      parser->body_limit(limits_.response_body_limit);
      if (request.method() == http::verb::head) parser->skip(true);
      bytes += co_await http::async_read(c->stream, c->buffer, *parser, asio::redirect_error(asio::use_awaitable, ec));
    } while (!ec && parser->get().result_int() / 100 == 1 && parser->get().result() != http::status::switching_protocols);
    if (ec) {
      // Only a request the backend cannot have acted on is sent again: the
      // connection was found closed before any answer, and the method is
      // idempotent (a POST might have run before the backend hung up).
      const bool idempotent = request.method() == http::verb::get || request.method() == http::verb::head ||
                              request.method() == http::verb::options || request.method() == http::verb::put ||
                              request.method() == http::verb::delete_;
      const bool closed_idle = reused && bytes == 0 && idempotent &&
                               (ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
                                ec == asio::error::eof);
      if (closed_idle) continue;
      result.error = is_timeout(ec) ? UpstreamError::kTimeout : UpstreamError::kBadResponse;
      co_return result;
    }
    result.response = parser->release();
    // Bytes past the response would be read as the next request's answer.
    if (result.response.keep_alive() && c->buffer.size() == 0) {
      c->stream.expires_never();
      put_idle(key, std::move(c));
    }
    co_return result;
  }
  result.error = UpstreamError::kUnreachable;
  co_return result;
}

}  // namespace tollgate
