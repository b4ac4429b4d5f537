#pragma once

// The data plane's I/O types, bound to the io_context's own executor rather
// than the type-erased any_io_executor: every copy of an any_io_executor
// costs a virtual call and shows in the request path's profile.

#include "http/beast.h"

namespace tollgate {

using Executor = asio::io_context::executor_type;
using Socket = asio::basic_stream_socket<tcp, Executor>;
using Acceptor = asio::basic_socket_acceptor<tcp, Executor>;
using Resolver = asio::ip::basic_resolver<tcp, Executor>;

template <class T>
using Task = asio::awaitable<T, Executor>;

// Completion token for a Task: `co_await op(..., as_result)` gives
// std::tuple<error_code, ...> instead of throwing.
inline constexpr auto as_result = asio::as_tuple(asio::use_awaitable_t<Executor>{});

}  // namespace tollgate
