#include "catalog/route_tree.h"

#include <gtest/gtest.h>

namespace tollgate {
namespace {

class RouteTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tree.add("/", "GET", 0);
    tree.add("/pets", "GET", 1);
    tree.add("/pets", "POST", 2);
    tree.add("/pets/{petId}", "ANY", 3);
    tree.add("/pets/mine", "GET", 4);
    tree.add("/files/{proxy+}", "GET", 5);
    tree.add("/pets/{petId}/toys/{toyId}", "DELETE", 6);
  }
  std::uint32_t match(std::string_view path, std::string_view method) {
    return tree.match(path, method, params);
  }
  RouteTree tree;
  PathParams params;
};

TEST_F(RouteTreeTest, RootAndLiterals) {
  EXPECT_EQ(match("/", "GET"), 0u);
  EXPECT_EQ(match("", "GET"), 0u);
  EXPECT_EQ(match("/pets", "GET"), 1u);
  EXPECT_EQ(match("/pets/", "POST"), 2u);
}

TEST_F(RouteTreeTest, LiteralBeatsParam) {
  EXPECT_EQ(match("/pets/mine", "GET"), 4u);
  // The literal has no POST, so the {petId} ANY method serves it.
  EXPECT_EQ(match("/pets/mine", "POST"), 3u);
  EXPECT_EQ(params.find("petId"), "mine");
}

TEST_F(RouteTreeTest, ParamsAreCaptured) {
  EXPECT_EQ(match("/pets/42/toys/7", "DELETE"), 6u);
  EXPECT_EQ(params.find("petId"), "42");
  EXPECT_EQ(params.find("toyId"), "7");
}

TEST_F(RouteTreeTest, AnyServesEveryMethod) {
  EXPECT_EQ(match("/pets/1", "PATCH"), 3u);
  EXPECT_EQ(match("/pets/1", "OPTIONS"), 3u);
}

TEST_F(RouteTreeTest, GreedyTakesTheRest) {
  EXPECT_EQ(match("/files/a/b/c.txt", "GET"), 5u);
  EXPECT_EQ(params.find("proxy"), "a/b/c.txt");
  EXPECT_EQ(match("/files", "GET"), RouteTree::kNoMatch);
}

TEST_F(RouteTreeTest, UnknownPathOrMethod) {
  EXPECT_EQ(match("/cats", "GET"), RouteTree::kNoMatch);
  EXPECT_EQ(match("/pets", "DELETE"), RouteTree::kNoMatch);
  EXPECT_EQ(match("/pets/1/toys/2", "GET"), RouteTree::kNoMatch);
}

}  // namespace
}  // namespace tollgate
