#include "admin/admin_api.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "core/key_plan_ids.h"
#include "store/sqlite_store.h"

#include "temp_dir.h"

namespace tollgate {
namespace {

namespace json = boost::json;

constexpr std::int64_t kNowS = 1'780'000'000;
const AdminCredentials kAdmin{"AKIDEXAMPLE0000000", "secret-of-the-test-000000000000000000000"};

// The management API as a process has it, over a real SQLite file, answering
// requests signed as the AWS CLI signs them.
class AdminApiTest : public ::testing::Test {
 protected:
  HttpResponse call(http::verb verb, const std::string& target, const std::string& body = "",
                    bool signed_request = true) {
    HttpRequest request{verb, target, 11};
    request.set(http::field::host, "127.0.0.1");
    if (!body.empty()) request.set(http::field::content_type, "application/json");
    request.body() = body;
    request.prepare_payload();
    if (signed_request) sign_sigv4(request, kAdmin, "us-east-1", kNowS);
    return api.respond(request);
  }
  static std::string error_type(const HttpResponse& r) {
    return std::string(r[std::string_view("x-amzn-ErrorType")]);
  }
  static json::value body(const HttpResponse& r) { return json::parse(r.body()); }

  TempDir temp_;
  SqliteStore store{temp_.path() / "t.db"};
  ManualClock clock{kNowS * kNanosPerSecond};
  CounterFile counters{temp_.path() / "counters"};
  KeyPlanIds ids;
  Meter meter{store, counters, clock, {}, &ids};
  LimitStates limits{&ids};
  CatalogHolder catalogs;
  Stats stats;
  MetricsRegistry metrics;
  KeyHashing hashing{temp_.path()};
  AdminApi api{
      AdminContext{store, meter, limits, clock, &hashing},
      {kAdmin},
      catalogs,
      stats,
      AdminApi::Gauges{metrics, [] { return std::size_t{0}; }, [] { return std::size_t{0}; }}};
};

TEST_F(AdminApiTest, EachOperationIsFoundByMethodAndPath) {
  const HttpResponse created = call(http::verb::post, "/usageplans", R"({"name":"gold"})");
  ASSERT_EQ(created.result(), http::status::created) << created.body();
  const std::string id(body(created).at("id").as_string());
  EXPECT_EQ(call(http::verb::get, "/usageplans/" + id).result(), http::status::ok);
  EXPECT_EQ(body(call(http::verb::get, "/usageplans")).at("item").as_array().size(), 1u);
  EXPECT_EQ(call(http::verb::delete_, "/usageplans/" + id).result(), http::status::accepted);
  EXPECT_EQ(error_type(call(http::verb::get, "/usageplans/" + id)), "NotFoundException");
}

TEST_F(AdminApiTest, APathOrMethodWithNoOperationIs404NamingIt) {
  for (const auto& [verb, target] :
       {std::pair{http::verb::get, "/nothing/here"}, std::pair{http::verb::put, "/usageplans"},
        std::pair{http::verb::get, "/usageplans/a/b/c/d"}}) {
    const HttpResponse r = call(verb, target);
    EXPECT_EQ(r.result(), http::status::not_found) << target;
    EXPECT_EQ(error_type(r), "NotFoundException");
    EXPECT_EQ(body(r).at("message").as_string(), std::string("No management operation at ") +
                                                     std::string(http::to_string(verb)) + " " +
                                                     target);
  }
}

TEST_F(AdminApiTest, TheQueryPicksImportApiKeysOverCreateApiKey) {
  // CreateApiKey would refuse a CSV body as JSON that does not parse.
  const HttpResponse r = call(http::verb::post, "/apikeys?mode=import&format=csv",
                              "name,key,enabled\nbob,bob-key-0123456789abcdef,true\n");
  EXPECT_EQ(r.result(), http::status::created) << r.body();
  EXPECT_EQ(body(r).at("ids").as_array().size(), 1u);
}

TEST_F(AdminApiTest, AnEnumViolationIsAValidationExceptionAndOtherBadInputABadRequest) {
  const HttpResponse enum_violation =
      call(http::verb::post, "/usageplans", R"({"name":"p","quota":{"limit":5,"period":"YEAR"}})");
  EXPECT_EQ(enum_violation.result(), http::status::bad_request);
  EXPECT_EQ(error_type(enum_violation), "ValidationException");
  const HttpResponse wrong_type =
      call(http::verb::post, "/usageplans", R"({"name":"p","throttle":{"rateLimit":"fast"}})");
  EXPECT_EQ(wrong_type.result(), http::status::bad_request);
  EXPECT_EQ(error_type(wrong_type), "BadRequestException");
  EXPECT_EQ(error_type(call(http::verb::post, "/usageplans", "{not json")), "BadRequestException");
}

TEST_F(AdminApiTest, OnlyHealthMetricsAndTheConsoleAnswerUnsigned) {
  EXPECT_EQ(call(http::verb::get, "/health", "", false).result(), http::status::ok);
  EXPECT_EQ(call(http::verb::get, "/metrics", "", false).result(), http::status::ok);
  const HttpResponse r = call(http::verb::get, "/usageplans", "", false);
  EXPECT_EQ(r.result(), http::status::forbidden);
  EXPECT_EQ(error_type(r), "MissingAuthenticationTokenException");
}

}  // namespace
}  // namespace tollgate
