#include "http/data_plane.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <thread>

#include "http/listener.h"
#include "limits/limit_states.h"

#include "control_state_builders.h"

namespace tollgate {
namespace {

constexpr std::string_view kPrefix = "/restapis/shop/prod/_user_request_";

// API "shop", stage prod: GET /open and POST /open need no key; GET /keyed
// needs one, and alice's is in plan "gold". `with_post`: POST /open exists.
ControlState shop(bool with_post) {
  ControlState s;
  RestApi api;
  api.id = "shop";
  Resource root{"r0", "", "", "/", {}};
  Resource open{"r1", "r0", "open", "/open", {}};
  open.methods["GET"] = mock_method("GET", false);
  if (with_post) open.methods["POST"] = mock_method("POST", false);
  Resource keyed{"r2", "r0", "keyed", "/keyed", {}};
  keyed.methods["GET"] = mock_method("GET", true);
  keyed.methods["POST"] = mock_method("POST", true);
  api.resources = {root, open, keyed};
  s.apis.push_back(api);
  s.deployments.push_back({"shop", "d1", "", 0, api.resources, {}});
  s.stages.push_back(stage_of("shop", "prod", "d1"));
  s.api_keys.push_back({"k1", "alice-key-0123456789", "alice", "", "", true, 0, 0, {}});
  s.usage_plans.push_back(usage_plan("gold", "gold", {{"shop", "prod", {}}}));
  s.usage_plan_keys = {{"gold", "k1", 0}};
  return s;
}

struct Response {
  unsigned status = 0;
  std::map<std::string, std::string> fields;  // names in lower case
  std::string body;
};

// One worker's data plane on a loopback port, its io_context on a thread of
// its own; the test is the client, over plain blocking sockets.
class DataPlaneTest : public ::testing::Test {
 protected:
  DataPlaneTest() {
    publish(shop(true));
    plane = std::make_unique<DataPlane>(io.get_executor(), deadlines, catalogs, clock, stats,
                                        metrics, nullptr, 0);
    asio::co_spawn(io, deadlines.run(), asio::detached);
    asio::co_spawn(
        io,
        accept_each(acceptor,
                    [this](Socket s) { return plane->serve_connection(std::move(s), limits); }),
        asio::detached);
    thread = std::thread([this] { io.run(); });
  }
  ~DataPlaneTest() override {
    io.stop();
    thread.join();
  }

  void publish(const ControlState& state) {
    const MemberProvider slots = [this](std::size_t) { return MemberRefs{&slot, std::nullopt}; };
    catalogs.publish(build_catalog(state, limit_states, no_stored_usage(), slots,
                                   CatalogBuild{.version = ++version}));
  }

  tcp::socket connect() {
    tcp::socket s(client_io);
    s.connect(acceptor.local_endpoint());
    return s;
  }
  static void send(tcp::socket& s, std::string_view bytes) { asio::write(s, asio::buffer(bytes)); }

  // The next response on `s`; status 0 when the connection closed first.
  Response read(tcp::socket& s) {
    Response r;
    std::size_t end;
    while ((end = pending[&s].find("\r\n\r\n")) == std::string::npos)
      if (!fill(s)) return r;
    const std::string head = pending[&s].substr(0, end);
    pending[&s].erase(0, end + 4);
    r.status = static_cast<unsigned>(std::stoi(head.substr(9, 3)));
    for (std::size_t at = head.find("\r\n"); at != std::string::npos;) {
      const std::size_t next = head.find("\r\n", at + 2);
      const std::string line =
          head.substr(at + 2, next == std::string::npos ? std::string::npos : next - at - 2);
      const std::size_t colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.fields[name] = line.substr(line.find_first_not_of(' ', colon + 1));
      at = next;
    }
    const std::size_t length =
        r.fields.count("content-length") ? std::stoul(r.fields["content-length"]) : 0;
    while (pending[&s].size() < length)
      if (!fill(s)) return {};
    r.body = pending[&s].substr(0, length);
    pending[&s].erase(0, length);
    return r;
  }
  bool closed(tcp::socket& s) { return !fill(s); }

  ManualClock clock{1'780'000'000 * kNanosPerSecond};
  CatalogHolder catalogs;
  LimitStates limit_states;
  UsageSlot slot;
  std::uint64_t version = 0;
  Stats stats;
  MetricsRegistry metrics;
  // Set before the worker's thread starts, which reads them.
  const ClientLimits limits = [] {
    ClientLimits l;
    l.header_timeout = std::chrono::milliseconds(1000);
    return l;
  }();
  // Before the io_context, so that they outlive the coroutines it destroys.
  Deadlines deadlines;
  std::unique_ptr<DataPlane> plane;
  asio::io_context io{1};
  Acceptor acceptor{io.get_executor(), tcp::endpoint(asio::ip::address_v4::loopback(), 0)};
  std::thread thread;
  asio::io_context client_io;
  std::map<tcp::socket*, std::string> pending;

 private:
  bool fill(tcp::socket& s) {
    char chunk[4096];
    boost::system::error_code ec;
    const std::size_t n = s.read_some(asio::buffer(chunk), ec);
    if (ec) return false;
    pending[&s].append(chunk, n);
    return true;
  }
};

std::string request(std::string_view method, std::string_view path, std::string_view fields = "",
                    std::string_view body = "") {
  std::string r = std::string(method) + " " + std::string(kPrefix) + std::string(path) +
                  " HTTP/1.1\r\nHost: t\r\n";
  r += fields;
  if (!body.empty()) r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return r + "\r\n" + std::string(body);
}

TEST_F(DataPlaneTest, PipelinedRequestsAreAnsweredInOrderOnOneConnection) {
  tcp::socket s = connect();
  send(s, request("GET", "/open") + request("GET", "/nowhere") +
              request("GET", "/keyed", "x-api-key: alice-key-0123456789\r\n"));
  EXPECT_EQ(read(s).status, 200u);
  EXPECT_EQ(read(s).status, 403u);
  EXPECT_EQ(read(s).status, 200u);
  send(s, request("GET", "/open"));
  EXPECT_EQ(read(s).status, 200u);
}

TEST_F(DataPlaneTest, ARequestThatCannotBeAdmittedIsRefusedBeforeItsBodyAndTheConnectionCloses) {
  tcp::socket s = connect();
  send(s, request("POST", "/keyed", "Content-Length: 1000\r\n") + "only part of it");
  Response r = read(s);
  EXPECT_EQ(r.status, 403u);
  EXPECT_EQ(r.fields["connection"], "close");
  EXPECT_TRUE(closed(s));
}

TEST_F(DataPlaneTest, TwoApiKeysOrTwoHostsAre400AndTheConnectionGoesOn) {
  tcp::socket s = connect();
  send(s, request("GET", "/keyed",
                  "x-api-key: alice-key-0123456789\r\nX-API-Key: other-key-0123456789\r\n"));
  Response r = read(s);
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.body, R"({"message":"Request must not have more than one x-api-key header"})");
  send(s, request("GET", "/open", "Host: second\r\n"));
  r = read(s);
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.body, R"({"message":"Request must not have more than one Host header"})");
  send(s, request("GET", "/open"));
  EXPECT_EQ(read(s).status, 200u);
}

TEST_F(DataPlaneTest, ARequestIsServedFromTheCatalogItStartedWith) {
  tcp::socket s = connect();
  // 100 Continue says the request was routed; its body comes after the
  // route is gone from the catalog published meanwhile.
  send(s, request("POST", "/open", "Expect: 100-continue\r\nContent-Length: 5\r\n"));
  EXPECT_EQ(read(s).status, 100u);
  publish(shop(false));
  send(s, "hello");
  EXPECT_EQ(read(s).status, 200u);
  // The next request sees the new catalog.
  send(s, request("POST", "/open", "", "hello"));
  EXPECT_EQ(read(s).status, 403u);
}

TEST_F(DataPlaneTest, AHalfReadRequestAtTheHeaderTimeoutGets408) {
  tcp::socket s = connect();
  send(s, "GET " + std::string(kPrefix) + "/open HTTP/1.1\r\nHost: t\r\n");
  const Response r = read(s);
  EXPECT_EQ(r.status, 408u);
  EXPECT_TRUE(closed(s));
}

}  // namespace
}  // namespace tollgate
