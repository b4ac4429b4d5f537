// Fuzzes what the data plane does with the bytes a client or a backend
// sends: the request reader with its rules, the refusal for each error, the
// target checks and routing; the response reader on the same bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "catalog/route_tree.h"
#include "http/invoke_target.h"
#include "http/message_reader.h"
#include "http/request_refusal.h"

namespace {

using namespace tollgate;

const RouteTree& routes() {
  static const RouteTree tree = [] {
    RouteTree t;
    t.add("/", "GET", 0);
    t.add("/pets", "ANY", 1);
    t.add("/pets/{id}", "GET", 2);
    t.add("/files/{proxy+}", "ANY", 3);
    return t;
  }();
  return tree;
}

// Feeds `wire` in two pieces split at `cut`, as two reads would.
template <bool isRequest>
beast::error_code read(std::string_view wire, std::size_t cut, MessageReader<isRequest>& reader) {
  reader.eager(true);
  reader.header_limit(8 * 1024);
  reader.body_limit(64 * 1024);
  beast::error_code ec;
  std::string pending(wire.substr(0, cut));
  std::string_view rest = wire.substr(cut);
  for (;;) {
    const std::size_t used = reader.put_input(asio::buffer(pending.data(), pending.size()), ec);
    pending.erase(0, used);
    if (ec != http::error::need_more && (ec || reader.is_done())) return ec;
    if (rest.empty()) return http::error::need_more;
    pending.append(rest);
    rest = {};
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t cut = data[0] % size;
  const std::string_view wire(reinterpret_cast<const char*>(data) + 1, size - 1);

  InboundMessage request;
  RequestReader reader(request, RequestRules{256, 16});
  const beast::error_code ec = read(wire, std::min(cut, wire.size()), reader);
  if (ec && ec != http::error::need_more) {
    const Refusal refusal = read_refusal(ec, reader.fault());
    if (refusal.status < 400 || refusal.message.empty()) __builtin_trap();
  } else if (!ec && target_problem(request.target).empty()) {
    InvokeTarget target;
    if (parse_invoke_target(request.fields.find(http::field::host), request.target, target)) {
      PathParams params;
      const std::uint32_t index = routes().match(target.path, request.method, params);
      if (index != RouteTree::kNoMatch) (void)params.find("id");
    }
    for (std::size_t i = 0; i < request.fields.size(); ++i)
      (void)is_hop_by_hop(request.fields[i].id);
  }

  InboundMessage response;
  ResponseReader response_reader(response);
  (void)read(wire, std::min(cut, wire.size()), response_reader);
  return 0;
}
