// A listing goes on from its position token even when the item the token
// names was deleted between two pages, in each order the stores list keys
// and memberships, in SQLite and in Redis alike.

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "redis_server.h"
#include "store/redis_store.h"
#include "store/sqlite_store.h"
#include "temp_dir.h"

namespace tollgate {
namespace {

constexpr int kKeys = 12;

// Keys k00 … k11, two by two made in the same second (so ties are broken by
// id), all named "n…" and of customer "c", all in plan "p".
void fill(Store& store) {
  auto tx = store.begin();
  UsagePlan plan;
  plan.id = "p";
  plan.name = "p";
  tx->put(plan);
  for (int i = 0; i < kKeys; ++i) {
    const std::string id = (i < 10 ? "k0" : "k") + std::to_string(i);
    ApiKey k;
    k.id = id;
    k.value = "value-" + id + "-0123456789abcdef";
    k.name = "n" + id;
    k.customer_id = "c";
    k.enabled = true;
    k.created_date = k.last_updated_date = 1000 + i / 2;
    tx->put(k);
    tx->put(UsagePlanKey{"p", id, 2000 + i / 2});
  }
  tx->commit();
}

using Page = std::function<std::pair<std::vector<std::string>, std::string>(const std::string&)>;

// Lists every page after deleting, before the second page, the key its token
// names; the ids listed.
std::vector<std::string> list_deleting_boundary(Store& store, const Page& page, std::size_t limit) {
  auto [ids, position] = page("");
  EXPECT_EQ(ids.size(), limit);
  EXPECT_FALSE(position.empty());
  bool deleted = false;
  while (!position.empty()) {
    if (!deleted) {
      // The token begins with the id of the next page's first key.
      const std::string boundary = position.substr(0, position.find('.'));
      auto tx = store.begin();
      tx->erase_api_key(boundary);
      tx->commit();
      deleted = true;
    }
    auto [more, next] = page(position);
    EXPECT_FALSE(more.empty()) << "a page after " << position;
    ids.insert(ids.end(), more.begin(), more.end());
    position = next;
  }
  return ids;
}

// With pages of 2 the key deleted is the first of its two made in one
// second to be listed, with pages of 3 the second.
void check_every_order(Store& store, std::size_t limit) {
  const auto keys_page = [&](KeyQuery q) {
    return [&store, q, limit](const std::string& position) mutable {
      q.position = position;
      q.limit = limit;
      const KeyListing listing = store.list_api_keys(q);
      EXPECT_TRUE(listing.position_found) << position;
      std::vector<std::string> ids;
      for (const auto& k : listing.keys) ids.push_back(k.id);
      return std::pair{ids, listing.next_position};
    };
  };
  // Newest first, ties by id descending: k11 k10 k09 | (k08 deleted) k07 …
  // with pages of 3.
  const std::vector<std::string> newest = {"k11", "k10", "k09", "k08", "k07", "k06",
                                           "k05", "k04", "k03", "k02", "k01", "k00"};
  const auto without = [](std::vector<std::string> ids, std::size_t at) {
    ids.erase(ids.begin() + static_cast<std::ptrdiff_t>(at));
    return ids;
  };
  // Each order on a fresh fill, since each deletes its boundary key.
  const std::vector<std::pair<const char*, std::function<std::vector<std::string>()>>> orders = {
      {"by creation", [&] { return list_deleting_boundary(store, keys_page(KeyQuery{}), limit); }},
      {"of a customer",
       [&] {
         KeyQuery q;
         q.customer_id = "c";
         return list_deleting_boundary(store, keys_page(q), limit);
       }},
      {"with a name prefix",
       [&] {
         KeyQuery q;
         q.name_prefix = "nk";
         return list_deleting_boundary(store, keys_page(q), limit);
       }},
      {"in a plan", [&] {
         return list_deleting_boundary(
             store,
             [&](const std::string& position) {
               MemberQuery q;
               q.plan_id = "p";
               q.position = position;
               q.limit = limit;
               const MemberListing listing = store.list_plan_keys(q);
               EXPECT_TRUE(listing.position_found) << position;
               std::vector<std::string> ids;
               for (const auto& m : listing.members) ids.push_back(m.member.key_id);
               return std::pair{ids, listing.next_position};
             },
             limit);
       }}};
  for (const auto& [name, list] : orders) {
    fill(store);
    EXPECT_EQ(list(), without(newest, limit)) << name << ", pages of " << limit;
  }
  // By name, ascending: nk00 nk01 nk02 | (nk03 deleted) nk04 …
  fill(store);
  KeyQuery by_name;
  by_name.by_name = true;
  std::vector<std::string> ascending(newest.rbegin(), newest.rend());
  EXPECT_EQ(list_deleting_boundary(store, keys_page(by_name), limit), without(ascending, limit))
      << "by name, pages of " << limit;

  // A token of an id alone, as earlier versions wrote, still names its key.
  fill(store);
  KeyQuery from_id;
  from_id.position = "k05";
  EXPECT_EQ(store.list_api_keys(from_id).keys.at(0).id, "k05");

  // A token naming no key, and not saying where it sorted, names no place.
  KeyQuery unknown;
  unknown.position = "nosuchkey";
  EXPECT_FALSE(store.list_api_keys(unknown).position_found);
}

TEST(ListingPosition, SqliteListingsGoOnPastADeletedBoundaryKey) {
  TempDir dir;
  SqliteStore store(dir.path() / "t.db");
  for (const std::size_t limit : {2u, 3u}) check_every_order(store, limit);
}

TEST(ListingPosition, RedisListingsGoOnPastADeletedBoundaryKey) {
  RedisServer server;
  RedisStore store{RedisAddress::parse(server.url()), "node-a"};
  for (const std::size_t limit : {2u, 3u}) check_every_order(store, limit);
}

}  // namespace
}  // namespace tollgate
