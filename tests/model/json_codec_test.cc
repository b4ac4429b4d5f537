#include "model/json_codec.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "model/json_fields.h"

namespace tollgate {
namespace {

namespace json = boost::json;

// The message `decode` throws as `Error`, or "" when it throws nothing.
template <class Error, class Decode>
std::string thrown(Decode decode) {
  try {
    decode();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(JsonCodecTest, AValueOutsideItsEnumIsAConstraintViolationNamingTheField) {
  const json::value year = json::parse(R"({"limit": 5, "period": "YEAR"})");
  EXPECT_EQ(thrown<ConstraintViolation>([&] { quota_from_json(year, "quota"); }),
            "quota.period: Value 'YEAR' failed to satisfy constraint: Member must satisfy enum "
            "value set: [DAY, WEEK, MONTH]");
  const json::value vpc = json::parse(R"({"type": "VPC_LINK"})");
  EXPECT_EQ(thrown<ConstraintViolation>([&] { integration_from_json(vpc, "integration"); }),
            "integration.type: Value 'VPC_LINK' failed to satisfy constraint: Member must satisfy "
            "enum value set: [HTTP, MOCK, HTTP_PROXY, AWS, AWS_PROXY]");
}

TEST(JsonCodecTest, AMemberOfTheWrongTypeIsBadInputButNoConstraintViolation) {
  const json::value text_limit = json::parse(R"({"limit": "five", "period": "DAY"})");
  try {
    quota_from_json(text_limit, "quota");
    ADD_FAILURE() << "a text limit was taken";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(dynamic_cast<const ConstraintViolation*>(&e), nullptr);
    EXPECT_STREQ(e.what(), "quota.limit: must be an integer");
  }
  EXPECT_EQ(quota_from_json(json::parse(R"({"limit": 5, "period": "WEEK"})"), "quota").period,
            QuotaPeriod::kWeek);
}

}  // namespace
}  // namespace tollgate
