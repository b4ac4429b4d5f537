#include "model/validate.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "control_state_builders.h"

namespace tollgate {
namespace {

// The message `check` throws, or "" when it passes.
template <class Check>
std::string refusal(Check check) {
  try {
    check();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(ValidateTest, AuthorizersAreWhatTollgateCanCall) {
  Authorizer token;
  token.name = "auth";
  token.authorizer_uri = "https://auth.example/check";
  token.identity_source = "method.request.header.Authorization";
  token.identity_validation_expression = "^Bearer [-0-9a-zA-Z._]+$";
  EXPECT_EQ(refusal([&] { validate_authorizer(token); }), "");

  Authorizer bad = token;
  bad.identity_validation_expression = "(unclosed";
  EXPECT_NE(refusal([&] { validate_authorizer(bad); }).find("not a regular expression"),
            std::string::npos);
  bad.identity_validation_expression = std::string(1025, 'a');
  EXPECT_NE(refusal([&] { validate_authorizer(bad); }).find("at most 1024"), std::string::npos);
  bad = token;
  bad.name.clear();
  EXPECT_NE(refusal([&] { validate_authorizer(bad); }).find("name is required"), std::string::npos);
  bad = token;
  bad.result_ttl_seconds = 3601;
  EXPECT_NE(refusal([&] { validate_authorizer(bad); }).find("between 0 and 3600"),
            std::string::npos);

  Authorizer request = token;
  request.type = AuthorizerType::kRequest;
  request.identity_source =
      "method.request.header.X-User, method.request.querystring.team, "
      "stageVariables.tier, context.sourceIp";
  EXPECT_EQ(refusal([&] { validate_authorizer(request); }), "");
  request.identity_source = "method.request.path.id";
  EXPECT_NE(refusal([&] { validate_authorizer(request); }).find("Invalid identity source"),
            std::string::npos);
  // Without caching a REQUEST authorizer needs no identity source.
  request.identity_source.clear();
  EXPECT_NE(refusal([&] { validate_authorizer(request); }).find("Identity source must be set"),
            std::string::npos);
  request.result_ttl_seconds = 0;
  EXPECT_EQ(refusal([&] { validate_authorizer(request); }), "");
}

TEST(ValidateTest, ThrottlesAndQuotasNameTheFieldTheyRefuse) {
  EXPECT_EQ(refusal([] { validate_throttle({10.0, 5}, "plan"); }), "");
  EXPECT_EQ(refusal([] {
              validate_throttle({-1.0, 5}, "plan");
            }),
            "plan.rateLimit must be a number >= 0");
  EXPECT_EQ(refusal([] {
              validate_throttle({1.0, -5}, "plan");
            }),
            "plan.burstLimit must be an integer >= 0");
  EXPECT_EQ(refusal([] { validate_quota({100, 0, QuotaPeriod::kDay}, "q"); }), "");
  EXPECT_EQ(refusal([] {
              validate_quota({-1, 0, QuotaPeriod::kDay}, "q");
            }),
            "q.limit must be an integer >= 0");
  EXPECT_EQ(refusal([] {
              validate_quota({100, 100, QuotaPeriod::kDay}, "q");
            }),
            "q.offset must be less than q.limit");
}

TEST(ValidateTest, KeyValuesAreTwentyToOneHundredTwentyEightPrintableCharacters) {
  EXPECT_EQ(refusal([] { validate_key_value(std::string(20, 'a')); }), "");
  EXPECT_EQ(refusal([] { validate_key_value(std::string(128, 'a')); }), "");
  EXPECT_EQ(refusal([] { validate_key_value(std::string(19, 'a')); }),
            "API Key value should be at least 20 characters");
  EXPECT_EQ(refusal([] { validate_key_value(std::string(129, 'a')); }),
            "API Key value exceeds maximum size of 128 characters");
  EXPECT_NE(refusal([] { validate_key_value("with space 0123456789"); }), "");
  EXPECT_NE(refusal([] { validate_key_value("with,comma-0123456789"); }), "");
}

TEST(ValidateTest, PathPartsAreLiteralsOrOneNamedParameter) {
  for (const char* good : {"pets", "{id}", "{proxy+}"})
    EXPECT_EQ(refusal([&] { validate_path_part(good); }), "");
  for (const char* bad : {"", "{}", "{id", "{+}"})
    EXPECT_NE(refusal([&] { validate_path_part(bad); }), "") << bad;
}

TEST(ValidateTest, IntegrationsNeedAnHttpUriAMethodAndASaneTimeout) {
  Integration i;
  i.type = IntegrationType::kHttpProxy;
  i.http_method = "GET";
  i.uri = "http://127.0.0.1:9000/pets";
  EXPECT_EQ(refusal([&] { validate_integration(i, "integration"); }), "");
  Integration bad_uri = i;
  bad_uri.uri = "ftp://host/x";
  EXPECT_EQ(refusal([&] { validate_integration(bad_uri, "integration"); }),
            "integration.uri: Invalid HTTP endpoint specified for URI");
  Integration bad_timeout = i;
  bad_timeout.timeout_ms = 10;
  EXPECT_EQ(refusal([&] { validate_integration(bad_timeout, "integration"); }),
            "integration.timeoutInMillis must be between 50 and 29000");
}

class ControlStateTest : public ::testing::Test {
 protected:
  ControlStateTest() {
    state.stages.push_back(stage_of("api", "prod", "d1"));
    state.stages.push_back(stage_of("api", "test", "d1"));
    state.api_keys.push_back(ApiKey{"k1", std::string(20, 'a'), "alice", "", "", true, 0, 0, {}});
    state.api_keys.push_back(ApiKey{"k2", std::string(20, 'b'), "bob", "", "", true, 0, 0, {}});
    state.usage_plans.push_back(plan("gold", "prod"));
    state.usage_plans.push_back(plan("silver", "test"));
    state.usage_plan_keys = {{"gold", "k1", 0}, {"silver", "k1", 0}, {"gold", "k2", 0}};
  }
  static UsagePlan plan(const std::string& id, const std::string& stage) {
    UsagePlan p;
    p.id = id;
    p.name = id;
    p.api_stages.push_back(ApiStage{"api", stage, {}});
    p.quota = Quota{100, 0, QuotaPeriod::kMonth};
    return p;
  }
  std::string check() const {
    return refusal([this] { validate_control_state(state); });
  }
  ControlState state;
};

TEST_F(ControlStateTest, AValidStatePasses) { EXPECT_EQ(check(), ""); }

TEST_F(ControlStateTest, EveryReferenceMustResolve) {
  state.usage_plans[0].api_stages[0].stage = "nowhere";
  EXPECT_EQ(check(), "Invalid API Stage {api: api, stage: nowhere} specified for usageplan gold");
  state.usage_plans[0].api_stages[0].stage = "prod";
  state.usage_plan_keys.push_back({"gold", "k9", 0});
  EXPECT_EQ(check(), "Invalid API Key identifier specified: k9");
  state.usage_plan_keys.back() = {"bronze", "k2", 0};
  EXPECT_EQ(check(), "Invalid Usage Plan ID specified: bronze");
}

TEST_F(ControlStateTest, AKeyIsInOnePlanPerStage) {
  state.usage_plans[1].api_stages[0].stage = "prod";
  EXPECT_EQ(check(),
            "API key 'alice' cannot be in usage plans 'gold' and 'silver': both cover stage "
            "api:prod, and a key "
            "may be in only one usage plan per stage");
}

TEST_F(ControlStateTest, PlanLimitsAreValidated) {
  state.usage_plans[1].throttle = Throttle{-2.0, 1};
  EXPECT_EQ(check(), "usage plan 'silver' throttle.rateLimit must be a number >= 0");
}

}  // namespace
}  // namespace tollgate
