#include "core/ids.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

namespace tollgate {
namespace {

bool has_id_shape(const std::string& id) {
  return id.size() == 10 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z');
         });
}

TEST(NewKeyId, HasTheShapeOfAnAwsIdAndStartsWithItsMinute) {
  const std::int64_t now = 1796688000;  // 2026-12-07T00:00:00Z
  const std::string id = new_key_id(now);
  EXPECT_TRUE(has_id_shape(id)) << id;
  EXPECT_EQ(new_key_id(now + 59).substr(0, 5), id.substr(0, 5));
  EXPECT_NE(new_key_id(now + 60).substr(0, 5), id.substr(0, 5));
}

TEST(NewKeyId, KeysMadeLaterSortAfter) {
  for (const std::int64_t now : {1577836800LL, 1796688000LL, 3000000000LL})
    EXPECT_LT(new_key_id(now).substr(0, 5), new_key_id(now + 60).substr(0, 5)) << now;
}

TEST(NewKeyId, DrawsDifferentIdsInOneMinute) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.insert(new_key_id(1796688000));
  EXPECT_GT(ids.size(), 990u);  // five random characters: 60 million a minute
}

TEST(NewKeyId, ATimeBefore2020CountsAsItsStart) {
  EXPECT_EQ(new_key_id(0).substr(0, 5), "00000");
  EXPECT_TRUE(has_id_shape(new_key_id(-5)));
}

}  // namespace
}  // namespace tollgate
