#include "gate/gate.h"

#include <gtest/gtest.h>

#include <deque>
#include <map>

#include "catalog/catalog.h"
#include "core/utc_date.h"

#include "control_state_builders.h"

namespace tollgate {
namespace {

constexpr std::int64_t kDay = 86400;
const std::int64_t kStartS = days_from_civil({2026, 3, 14}) * kDay + 12 * 3600;  // a Saturday noon

// One API "api1" with GET /pets (key), POST /pets (key), GET /open (no key),
// deployed to stages prod and beta; keys alice and bob in plan "gold".
ControlState sample_state() {
  ControlState s;
  RestApi api;
  api.id = "api1";
  api.name = "api";
  Resource root{"r0", "", "", "/", {}};
  Resource pets{"r1", "r0", "pets", "/pets", {}};
  pets.methods["GET"] = mock_method("GET", true);
  pets.methods["POST"] = mock_method("POST", true);
  Resource open{"r2", "r0", "open", "/open", {}};
  open.methods["GET"] = mock_method("GET", false);
  api.resources = {root, pets, open};
  s.apis.push_back(api);
  s.deployments.push_back({"api1", "d1", "", 0, api.resources, {}});
  s.stages.push_back(stage_of("api1", "prod", "d1"));
  s.stages.push_back(stage_of("api1", "beta", "d1"));
  s.api_keys.push_back({"k1", "alice-key-0123456789", "alice", "", "", true, 0, 0, {}});
  s.api_keys.push_back({"k2", "bob-key-0123456789ab", "bob", "", "", true, 0, 0, {}});
  s.api_keys.push_back({"k3", "carol-key-0123456789", "carol", "", "", false, 0, 0, {}});
  s.usage_plans.push_back(usage_plan("gold", "gold", {{"api1", "prod", {}}, {"api1", "beta", {}}}));
  s.usage_plan_keys = {{"gold", "k1", kStartS}, {"gold", "k2", kStartS}, {"gold", "k3", kStartS}};
  return s;
}

class GateTest : public ::testing::Test {
 protected:
  void build() {
    stored_usage_calls = 0;
    UsageLoader loader = [this](const std::string&, const std::string&, QuotaPeriod, std::int64_t,
                                std::int64_t) {
      ++stored_usage_calls;
      return stored_usage;
    };
    MemberProvider slots = [this](std::size_t i) {
      const UsagePlanKey& pk = state.usage_plan_keys[i];
      return MemberRefs{&slots_[pk.plan_id + '\n' + pk.key_id], std::nullopt};
    };
    catalog = build_catalog(state, limits, loader, slots,
                            CatalogBuild{.now = clock.now(),
                                         .version = 1,
                                         .key_hasher = hasher,
                                         .throttle_share = throttle_share,
                                         .quota_leased = quota_leased});
  }
  UsagePlan& gold() { return state.usage_plans[0]; }
  GateDecision call(const char* stage, const char* path, const char* verb,
                    std::optional<std::string_view> key) {
    const StageEntry* s = catalog->stage("api1", stage);
    EXPECT_NE(s, nullptr);
    PathParams params;
    const std::uint32_t index = s->routes.match(path, verb, params);
    EXPECT_NE(index, RouteTree::kNoMatch);
    return admit(*catalog, *s, index, key, clock.now());
  }
  int allowed(int attempts, const char* stage = "prod", const char* verb = "GET",
              std::optional<std::string_view> key = "alice-key-0123456789") {
    int n = 0;
    for (int i = 0; i < attempts; ++i)
      n += call(stage, "/pets", verb, key).verdict == Verdict::kAllow;
    return n;
  }

  ControlState state = sample_state();
  ManualClock clock{kStartS * kNanosPerSecond};
  LimitStates limits;
  std::shared_ptr<const Catalog> catalog;
  std::shared_ptr<const KeyHasher> hasher;  // for a state whose keys are hashed
  double throttle_share = 1.0;              // this node's share of every throttle
  bool quota_leased = false;                // quotas served from leases (nodes on Redis)
  std::map<std::string, UsageSlot> slots_;  // a usage slot per key and plan, like the meter's
  std::int64_t stored_usage = 0;
  int stored_usage_calls = 0;
};

TEST_F(GateTest, KeyRequiredRefusesMissingUnknownAndDisabledKeys) {
  build();
  EXPECT_EQ(call("prod", "/pets", "GET", std::nullopt).verdict, Verdict::kForbidden);
  EXPECT_EQ(call("prod", "/pets", "GET", "nobody-0123456789abcd").verdict, Verdict::kForbidden);
  EXPECT_EQ(call("prod", "/pets", "GET", "carol-key-0123456789").verdict, Verdict::kForbidden);
  EXPECT_EQ(call("prod", "/pets", "GET", "alice-key-0123456789").verdict, Verdict::kAllow);
}

TEST_F(GateTest, HashedKeysAreFoundByTheValueAndNeverByTheDigest) {
  hasher = std::make_shared<const KeyHasher>(std::string(32, 's'));
  for (ApiKey& k : state.api_keys) k.value = hasher->stored(k.value);
  state.keys_hashed = true;
  build();
  EXPECT_EQ(call("prod", "/pets", "GET", "alice-key-0123456789").verdict, Verdict::kAllow);
  EXPECT_EQ(call("prod", "/pets", "GET", "alice-key-0123456789").key_id, "k1");
  EXPECT_EQ(call("prod", "/pets", "GET", "carol-key-0123456789").verdict, Verdict::kForbidden);
  EXPECT_EQ(call("prod", "/pets", "GET", state.api_keys[0].value).verdict, Verdict::kForbidden);
  EXPECT_EQ(call("prod", "/pets", "GET", std::string(129, 'a')).verdict, Verdict::kForbidden);
}

TEST_F(GateTest, KeyOutsideThePlansStageIsForbidden) {
  gold().api_stages = {{"api1", "prod", {}}};
  build();
  EXPECT_EQ(call("beta", "/pets", "GET", "alice-key-0123456789").verdict, Verdict::kForbidden);
}

TEST_F(GateTest, KeyInTwoPlansGetsEachStagesPlan) {
  gold().api_stages = {{"api1", "prod", {}}};
  gold().quota = Quota{2, 0, QuotaPeriod::kDay};
  UsagePlan silver;
  silver.id = "silver";
  silver.name = "silver";
  silver.api_stages = {{"api1", "beta", {}}};
  silver.quota = Quota{4, 0, QuotaPeriod::kDay};
  state.usage_plans.push_back(silver);
  // Listed by plan, as the store lists them: alice's bindings are apart.
  state.usage_plan_keys.push_back({"silver", "k1", kStartS});
  build();
  EXPECT_EQ(allowed(5, "prod"), 2);
  EXPECT_EQ(allowed(5, "beta"), 4);
  const GateDecision d = call("beta", "/pets", "GET", "alice-key-0123456789");
  EXPECT_EQ(d.plan_id, "silver");
  EXPECT_EQ(d.key_id, "k1");
  build();  // the counters survive a rebuild under both plans
  EXPECT_EQ(allowed(5, "prod") + allowed(5, "beta"), 0);
}

TEST_F(GateTest, NoKeyMethodIgnoresKeysAndPlans) {
  gold().throttle = Throttle{1.0, 1};
  build();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(call("prod", "/open", "GET", std::nullopt).verdict, Verdict::kAllow);
    EXPECT_EQ(call("prod", "/open", "GET", "unknown-0123456789abc").verdict, Verdict::kAllow);
  }
}

TEST_F(GateTest, PlanThrottleIsPerKeyAndSharedAcrossStages) {
  gold().throttle = Throttle{0.001, 3};
  build();
  EXPECT_EQ(allowed(2, "prod"), 2);
  EXPECT_EQ(allowed(5, "beta"), 1);  // the same bucket across the plan's stages
  EXPECT_EQ(allowed(5, "prod", "GET", "bob-key-0123456789ab"), 3);  // bob has his own
  const GateDecision refused = call("prod", "/pets", "GET", "alice-key-0123456789");
  EXPECT_EQ(refused.verdict, Verdict::kThrottled);
  EXPECT_STREQ(refused.report.policy, "key");
  EXPECT_GE(refused.retry_after_s, 1);
}

TEST_F(GateTest, ANodesShareOfEveryThrottle) {
  gold().throttle = Throttle{0.001, 6};
  state.account.throttle = Throttle{0.001, 5};
  throttle_share = 1.0 / 3;
  build();
  EXPECT_EQ(allowed(5, "prod"), 2);  // a third of the key's burst of 6
  // The account's burst of 5 gives this node 2 (rounded), shared by every key.
  EXPECT_EQ(allowed(5, "prod", "GET", "bob-key-0123456789ab"), 0);

  // A burst too small to split still lets one request through per node.
  gold().throttle = Throttle{0.001, 1};
  state.account.throttle = Throttle{1000, 1000};
  build();
  EXPECT_EQ(allowed(3, "prod", "GET", "bob-key-0123456789ab"), 1);
}

TEST_F(GateTest, MethodThrottleAddsToThePlanThrottle) {
  gold().throttle = Throttle{0.001, 5};
  gold().api_stages[0].throttle["/pets/GET"] = Throttle{0.001, 2};
  build();
  EXPECT_EQ(allowed(4, "prod", "GET"), 2);
  EXPECT_STREQ(call("prod", "/pets", "GET", "alice-key-0123456789").report.policy, "method");
  // POST is not limited by the GET throttle, only by the plan's (5 - 2 taken).
  EXPECT_EQ(allowed(10, "prod", "POST"), 3);
}

TEST_F(GateTest, QuotaAdmitsExactlyTheLimitThenLimitExceeded) {
  gold().quota = Quota{4, 0, QuotaPeriod::kDay};
  build();
  EXPECT_EQ(allowed(10), 4);
  const GateDecision d = call("prod", "/pets", "GET", "alice-key-0123456789");
  EXPECT_EQ(d.verdict, Verdict::kQuotaExceeded);
  EXPECT_EQ(d.retry_after_s, 12 * 3600);  // until UTC midnight
  EXPECT_STREQ(d.report.policy, "quota");
  EXPECT_EQ(d.report.quota, 4);
  EXPECT_EQ(d.report.window_s, kDay);
  clock.advance(12 * 3600 * kNanosPerSecond);
  EXPECT_EQ(allowed(10), 4);
}

TEST_F(GateTest, ALeasedQuotaIsServedFromTheNodesLease) {
  gold().throttle = Throttle{1000, 5};
  gold().quota = Quota{100, 0, QuotaPeriod::kDay};
  quota_leased = true;
  build();
  EXPECT_EQ(stored_usage_calls, 0);  // a leased quota is not seeded
  EXPECT_EQ(call("prod", "/pets", "GET", "alice-key-0123456789").verdict, Verdict::kAwaitLease);
  const std::optional<QuotaClaim> claim = quota_claim(
      *catalog, present_key(*catalog, *catalog->stage("api1", "prod"), "alice-key-0123456789"),
      clock.now());
  ASSERT_TRUE(claim);
  EXPECT_EQ(claim->plan_id, "gold");
  EXPECT_EQ(claim->key_id, "k1");
  EXPECT_EQ(claim->limit, 100);
  EXPECT_EQ(claim->window_end_s, kStartS + 12 * 3600);
  EXPECT_FALSE(quota_claim(*catalog,
                           present_key(*catalog, *catalog->stage("api1", "prod"), "no-such-key"),
                           clock.now()));

  claim->counter->add_lease(claim->window_id, 3);
  const GateDecision first = call("prod", "/pets", "GET", "alice-key-0123456789");
  EXPECT_EQ(first.verdict, Verdict::kAllow);
  EXPECT_STREQ(first.report.policy, "quota");  // the lease left, 2, is the tightest
  EXPECT_EQ(first.report.quota, 100);
  EXPECT_EQ(first.report.remaining, 2);
  EXPECT_EQ(allowed(10), 2);
  EXPECT_EQ(call("prod", "/pets", "GET", "alice-key-0123456789").verdict, Verdict::kAwaitLease);
  claim->counter->mark_spent(claim->window_id);
  const GateDecision spent = call("prod", "/pets", "GET", "alice-key-0123456789");
  EXPECT_EQ(spent.verdict, Verdict::kQuotaExceeded);
  EXPECT_EQ(spent.report.quota, 100);
  // Requests refused for want of a lease gave their throttle tokens back.
  gold().quota.reset();
  build();
  EXPECT_EQ(allowed(10), 2);  // 5 - 3 admitted
}

TEST_F(GateTest, QuotaOffsetAppliesToTheFirstPeriodOnly) {
  gold().quota = Quota{5, 2, QuotaPeriod::kWeek};
  build();
  EXPECT_EQ(allowed(10), 3);
  clock.advance(1 * kDay * kNanosPerSecond);  // Sunday: a new week
  EXPECT_EQ(allowed(10), 5);
}

TEST_F(GateTest, ThrottledRequestsDoNotConsumeQuota) {
  gold().throttle = Throttle{1.0, 2};
  gold().quota = Quota{5, 0, QuotaPeriod::kMonth};
  build();
  EXPECT_EQ(allowed(10), 2);
  clock.advance(10 * kNanosPerSecond);
  EXPECT_EQ(allowed(10), 2);
  clock.advance(10 * kNanosPerSecond);
  EXPECT_EQ(allowed(10), 1);  // 5 in all: throttled attempts were never charged
  EXPECT_EQ(call("prod", "/pets", "GET", "alice-key-0123456789").verdict, Verdict::kQuotaExceeded);
}

TEST_F(GateTest, RefusalLaterInTheChainReturnsEarlierTokens) {
  gold().throttle = Throttle{0.001, 10};
  gold().quota = Quota{100, 0, QuotaPeriod::kMonth};
  state.stages[0].method_settings["~1pets/GET"] = MethodSetting{false, false, 2, 0.001, false, 300};
  build();
  EXPECT_EQ(allowed(5), 2);  // the stage limit refuses from the third on
  const GateDecision d = call("prod", "/pets", "GET", "alice-key-0123456789");
  EXPECT_STREQ(d.report.policy, "stage");
  // The plan bucket gave back what the refused requests took: 8 left of 10.
  EXPECT_EQ(allowed(20, "beta"), 8);
}

TEST_F(GateTest, StageWildcardSettingAppliesToAllCallers) {
  state.stages[0].method_settings["*/*"] = MethodSetting{false, false, 3, 0.001, false, 300};
  build();
  int open = 0;
  for (int i = 0; i < 5; ++i)
    open += call("prod", "/open", "GET", std::nullopt).verdict == Verdict::kAllow;
  EXPECT_EQ(open, 3);
  EXPECT_EQ(allowed(5), 3);  // "*/*" sets each method's limit; GET /pets has its own bucket
}

TEST_F(GateTest, ChangedThrottleStartsFull) {
  gold().throttle = Throttle{0.001, 2};
  build();
  EXPECT_EQ(allowed(5), 2);
  gold().throttle = Throttle{1000.0, 1000};  // raised: takes effect at once
  build();
  EXPECT_EQ(allowed(5), 5);
  build();  // an unchanged throttle keeps its state
  EXPECT_EQ(call("prod", "/pets", "GET", "alice-key-0123456789").report.remaining, 994);
}

TEST_F(GateTest, ChangingTheQuotaPeriodUnderTrafficKeepsWindowsRolling) {
  gold().quota = Quota{5, 0, QuotaPeriod::kMonth};
  build();
  const std::shared_ptr<const Catalog> old_catalog = catalog;
  EXPECT_EQ(allowed(2), 2);
  gold().quota = Quota{3, 0, QuotaPeriod::kDay};
  stored_usage = 2;  // what the store holds for today
  build();
  // A request still served by the old catalog counts on the old period's
  // counter and leaves the new one alone.
  const StageEntry* old_stage = old_catalog->stage("api1", "prod");
  PathParams params;
  const std::uint32_t index = old_stage->routes.match("/pets", "GET", params);
  EXPECT_EQ(admit(*old_catalog, *old_stage, index, "alice-key-0123456789", clock.now()).verdict,
            Verdict::kAllow);
  EXPECT_EQ(allowed(5), 1);
  clock.advance(kDay * kNanosPerSecond);  // the next UTC day starts afresh
  EXPECT_EQ(allowed(5), 3);
}

TEST_F(GateTest, AccountThrottleAppliesToEverything) {
  state.account.throttle = Throttle{0.001, 3};
  build();
  int n = 0;
  for (int i = 0; i < 5; ++i)
    n += call("prod", "/open", "GET", std::nullopt).verdict == Verdict::kAllow;
  EXPECT_EQ(n, 3);
  const GateDecision d = call("prod", "/pets", "GET", "alice-key-0123456789");
  EXPECT_EQ(d.verdict, Verdict::kThrottled);
  EXPECT_STREQ(d.report.policy, "account");
}

TEST_F(GateTest, AllowedReportsTheTightestLimit) {
  gold().throttle = Throttle{100.0, 50};
  gold().quota = Quota{10, 0, QuotaPeriod::kDay};
  build();
  const GateDecision d = call("prod", "/pets", "GET", "alice-key-0123456789");
  ASSERT_EQ(d.verdict, Verdict::kAllow);
  EXPECT_STREQ(d.report.policy, "quota");
  EXPECT_EQ(d.report.remaining, 9);
}

TEST_F(GateTest, AdmittedRequestsAreMetered) {
  build();
  allowed(3);
  call("prod", "/pets", "GET", std::nullopt);
  const std::int64_t today = kStartS / kDay;
  EXPECT_EQ(slots_["gold\nk1"].served_on(today), 3);
}

TEST_F(GateTest, ARefundedRequestIsNeitherMeteredNorChargedToAnyLimit) {
  gold().throttle = Throttle{0.001, 2};
  gold().quota = Quota{2, 0, QuotaPeriod::kDay};
  build();
  const StageEntry* stage = catalog->stage("api1", "prod");
  PathParams params;
  const std::uint32_t index = stage->routes.match("/pets", "GET", params);
  const UnixNanos decided_at = clock.now();
  ASSERT_EQ(admit(*catalog, *stage, index, "alice-key-0123456789", decided_at).verdict,
            Verdict::kAllow);
  clock.advance(kNanosPerSecond);
  refund(*catalog, *stage, index, "alice-key-0123456789", decided_at);
  EXPECT_EQ(slots_["gold\nk1"].served_on(kStartS / kDay), 0);
  EXPECT_EQ(allowed(5), 2);  // the burst and the quota are whole again
}

TEST_F(GateTest, RefusalsAreCountedPerMinuteByWhatRefusedThem) {
  gold().throttle = Throttle{1.0, 2};
  gold().quota = Quota{3, 0, QuotaPeriod::kDay};
  build();
  EXPECT_EQ(allowed(10), 2);
  clock.advance(10 * kNanosPerSecond);
  EXPECT_EQ(allowed(10), 1);  // then the quota is spent
  const std::int64_t minute = clock.now() / (60 * kNanosPerSecond);
  const UsageSlot& slot = slots_["gold\nk1"];
  EXPECT_EQ(slot.read_refusals(minute & 1, RefusalKind::kThrottled).count, 8);
  EXPECT_EQ(slot.read_refusals(minute & 1, RefusalKind::kThrottled).period, minute);
  EXPECT_EQ(slot.read_refusals(minute & 1, RefusalKind::kQuotaExceeded).count, 9);
  EXPECT_EQ(slot.served_on(kStartS / kDay), 3);
}

TEST_F(GateTest, QuotaIsSeededFromStoredUsageAndSurvivesRebuilds) {
  gold().quota = Quota{10, 0, QuotaPeriod::kMonth};
  stored_usage = 7;
  build();
  EXPECT_EQ(allowed(10), 3);
  build();  // a reload keeps the live count rather than re-reading the store
  EXPECT_EQ(stored_usage_calls, 0);
  EXPECT_EQ(allowed(10), 0);
}

}  // namespace
}  // namespace tollgate
