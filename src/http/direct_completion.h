#pragma once

// Included by http/beast.h, right after Asio, so that every translation unit
// that completes an operation sees the same handler_work_base.
//
// Asio 1.81 (Boost 1.81) tracks work twice for an operation whose handler is
// bound to the I/O object's own io_context executor: the I/O side is
// recognised and left alone, but the handler's side is always made a
// tracked executor, and its completion goes through that executor's
// execute(). That is two atomic read-modify-writes of the scheduler's work
// count and a thread-local lookup for every read, write and wait a worker
// completes, about 1 % of a proxied request's CPU. Asio skips the same work
// for handler executors of other kinds when they equal the I/O executor
// (`ex != candidate`); this does the same for the io_context's own.
//
// The completion then runs where the operation completes, which is the
// io_context's run() on its thread: what the tracked executor's execute()
// would have done after finding itself running there. A handler bound to
// another io_context's executor still gets the tracked path.

#include <boost/asio/io_context.hpp>

#include <optional>
#include <type_traits>

namespace boost::asio::detail {

template <typename IoContext, typename PolymorphicExecutor>
class handler_work_base<io_context::executor_type, io_context::executor_type, IoContext, PolymorphicExecutor,
                        void> {
 public:
  using executor_type = io_context::executor_type;

  handler_work_base(bool /*base1_owns_work*/, const executor_type& ex, const executor_type& candidate) noexcept {
    if (ex != candidate) tracked_.emplace(boost::asio::prefer(ex, execution::outstanding_work.tracked));
  }

  bool owns_work() const noexcept { return tracked_.has_value(); }

  template <typename Function, typename Handler>
  void dispatch(Function& function, Handler& handler) {
    if (!tracked_) return boost_asio_handler_invoke_helpers::invoke(function, handler);
    boost::asio::prefer(*tracked_, execution::allocator((get_associated_allocator)(handler)))
        .execute(static_cast<Function&&>(function));
  }

 private:
  using tracked_type =
      std::decay_t<prefer_result<executor_type, execution::outstanding_work_t::tracked_t>::type>;
  std::optional<tracked_type> tracked_;
};

}  // namespace boost::asio::detail
