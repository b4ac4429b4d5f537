#include "metering/meter.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite_store.h"

#include "temp_dir.h"
#include "unwritable_store.h"

namespace tollgate {
namespace {

constexpr std::int64_t kDay = 20000;  // a UTC day number

// An hour into `day`.
constexpr UnixNanos at_day(std::int64_t day) { return day * kNanosPerDay + 3600 * kNanosPerSecond; }

class MeterTest : public ::testing::Test {
 protected:
  TempDir temp_;
  const std::filesystem::path dir = temp_.path();

  void SetUp() override { clock.set(kDay * 86400 * kNanosPerSecond + 3600 * kNanosPerSecond); }

  ManualClock clock;

  // A crash right now: what was counted since the last flush is only in the
  // mapped file. Leaving the scope would flush it, so the run after the
  // crash uses a copy of the store as it is at this moment.
  void copy_store_as_crashed() {
    std::filesystem::copy_file(dir / "t.db", dir / "crashed.db");
    std::filesystem::copy_file(dir / "t.db-wal", dir / "crashed.db-wal");
  }

  // What the run after the crash has for key k under plan p on kDay once it
  // has flushed.
  std::int64_t used_after_the_crash() {
    SqliteStore store(dir / "crashed.db");
    EXPECT_FALSE(claim_counters(dir / "counters", *store.identity()));  // a copy is the same store
    CounterFile counters(dir / "counters");
    Meter meter(store, counters, clock, {});
    EXPECT_TRUE(meter.flush());
    return store.usage_between("p", "k", kDay, kDay);
  }
};

TEST_F(MeterTest, SlotCountsPerDayAcrossTheParityWords) {
  UsageSlot slot{};
  for (int i = 0; i < 3; ++i) slot.count(at_day(kDay));
  slot.count(at_day(kDay + 1));
  EXPECT_EQ(slot.served_on(kDay), 3);
  EXPECT_EQ(slot.served_on(kDay + 1), 1);
  slot.count(at_day(kDay + 2));  // reuses the even word
  EXPECT_EQ(slot.served_on(kDay), 0);
  EXPECT_EQ(slot.served_on(kDay + 2), 1);
}

TEST_F(MeterTest, FlushWritesExactDailyCountsOnce) {
  SqliteStore store(dir / "t.db");
  CounterFile counters(dir / "counters");
  Meter meter(store, counters, clock, {});
  UsageSlot* slot = meter.slot_for("p", "k");
  for (int i = 0; i < 5; ++i) slot->count(at_day(kDay));
  ASSERT_TRUE(meter.flush());
  slot->count(at_day(kDay));
  slot->count(at_day(kDay + 1));
  ASSERT_TRUE(meter.flush());
  ASSERT_TRUE(meter.flush());
  EXPECT_EQ(store.usage_between("p", "k", kDay, kDay), 6);
  EXPECT_EQ(store.usage_between("p", "k", kDay + 1, kDay + 1), 1);
}

TEST_F(MeterTest, SlotsForManyPairsComeInTheirOrderAndSurviveARestart) {
  std::vector<Meter::Member> first;
  {
    SqliteStore store(dir / "t.db");
    CounterFile counters(dir / "counters");
    Meter meter(store, counters, clock, {});
    UsageSlot* known = meter.slot_for("gold", "k2");
    first = meter.members(
        {{"gold", "k1", 0}, {"gold", "k2", 0}, {"silver", "k1", 0}, {"gold", "k1", 0}});
    ASSERT_EQ(first.size(), 4u);
    EXPECT_EQ(first[1].slot, known);
    EXPECT_EQ(first[3].slot, first[0].slot);  // listed twice: one slot
    EXPECT_EQ(first[3].pair_id, first[0].pair_id);
    EXPECT_NE(first[0].slot, first[2].slot);  // one key under two plans: two slots
    EXPECT_NE(first[0].pair_id, first[2].pair_id);
    first[2].slot->count(at_day(kDay));
    first[2].slot->count(at_day(kDay));
  }
  SqliteStore store(dir / "t.db");
  CounterFile counters(dir / "counters");
  Meter meter(store, counters, clock, {});
  const std::vector<Meter::Member> again = meter.members({{"silver", "k1", 0}, {"gold", "k1", 0}});
  EXPECT_EQ(again[0].slot->served_on(kDay), 2);
  EXPECT_EQ(again[1].slot->served_on(kDay), 0);
  ASSERT_TRUE(meter.flush());
  EXPECT_EQ(store.usage_between("silver", "k1", kDay, kDay), 2);
}

TEST_F(MeterTest, CountsOfACrashedRunAreRecoveredFromTheCounterFile) {
  {
    SqliteStore store(dir / "t.db");
    CounterFile counters(dir / "counters");
    Meter meter(store, counters, clock, {});
    UsageSlot* slot = meter.slot_for("p", "k");
    for (int i = 0; i < 4; ++i) slot->count(at_day(kDay));
    ASSERT_TRUE(meter.flush());
    for (int i = 0; i < 3; ++i) slot->count(at_day(kDay));
    copy_store_as_crashed();
  }
  EXPECT_EQ(used_after_the_crash(), 7);
}

TEST_F(MeterTest, ASlotAssignedWhenTheKeyJoinedCountsAndIsRecoveredAfterACrash) {
  {
    SqliteStore store(dir / "t.db");
    auto tx = store.begin();
    tx->put(UsagePlanKey{"p", "k", 0});
    tx->commit();
    ASSERT_EQ(store.meter_slot_count(), 1u);
    ASSERT_FALSE(claim_counters(dir / "counters", *store.identity()));
    CounterFile counters(dir / "counters");
    Meter meter(store, counters, clock, {});
    UsageSlot* slot = meter.members({{"p", "k", 0}}).front().slot;
    EXPECT_EQ(counters.index_of(*slot), 0u);
    for (int i = 0; i < 3; ++i) slot->count(at_day(kDay));
    copy_store_as_crashed();  // before the first flush: the store still says "never counted"
  }
  EXPECT_EQ(used_after_the_crash(), 3);
}

TEST_F(MeterTest, CountsLeftByAnotherStoreAreMovedAsideNotBilled) {
  {
    SqliteStore old_store(dir / "old.db");
    ASSERT_FALSE(claim_counters(dir / "counters", *old_store.identity()));
    CounterFile counters(dir / "counters");
    for (int i = 0; i < 5; ++i) counters.slot(0).count(at_day(kDay));  // never flushed
  }
  // A store made afresh beside the old counters: its first key's slot is 0.
  SqliteStore store(dir / "t.db");
  {
    auto tx = store.begin();
    tx->put(UsagePlanKey{"p", "k", 0});
    tx->commit();
  }
  const std::optional<std::filesystem::path> moved =
      claim_counters(dir / "counters", *store.identity());
  ASSERT_TRUE(moved);
  EXPECT_TRUE(std::filesystem::exists(*moved / "segment-0"));
  EXPECT_FALSE(std::filesystem::exists(dir / "counters" / "segment-0"));
  EXPECT_FALSE(claim_counters(dir / "counters", *store.identity()));  // now this store's
  CounterFile counters(dir / "counters");
  Meter meter(store, counters, clock, {});
  UsageSlot* slot = meter.members({{"p", "k", 0}}).front().slot;
  slot->count(at_day(kDay));
  ASSERT_TRUE(meter.flush());
  EXPECT_EQ(store.usage_between("p", "k", kDay, kDay), 1);
}

TEST_F(MeterTest, CountsMovedAsideTwiceFromOneStoreAreBothKept) {
  SqliteStore first(dir / "first.db");
  SqliteStore second(dir / "second.db");
  std::vector<std::filesystem::path> moved;
  for (int round = 0; round < 2; ++round) {
    claim_counters(dir / "counters", *first.identity());  // the first store's (again)
    CounterFile(dir / "counters").slot(0).count(at_day(kDay));
    const std::optional<std::filesystem::path> to =
        claim_counters(dir / "counters", *second.identity());
    ASSERT_TRUE(to);
    moved.push_back(*to);
  }
  EXPECT_NE(moved[0], moved[1]);
  for (const auto& place : moved) EXPECT_TRUE(std::filesystem::exists(place / "segment-0"));
}

TEST_F(MeterTest, ACounterFileFromBeforeOwnersWereRecordedIsKept) {
  {
    CounterFile counters(dir / "counters");
    counters.slot(0).count(at_day(kDay));
  }
  SqliteStore store(dir / "t.db");
  EXPECT_FALSE(claim_counters(dir / "counters", *store.identity()));
  CounterFile counters(dir / "counters");
  EXPECT_EQ(counters.slot(0).served_on(kDay), 1);
}

TEST_F(MeterTest, ConcurrentCountingIsExact) {
  SqliteStore store(dir / "t.db");
  CounterFile counters(dir / "counters");
  Meter meter(store, counters, clock, {});
  UsageSlot* slot = meter.slot_for("p", "k");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 25000; ++i) {
        slot->count(at_day(kDay));
        if (i % 5000 == 0) meter.flush();
      }
    });
  for (auto& t : threads) t.join();
  ASSERT_TRUE(meter.flush());
  EXPECT_EQ(store.usage_between("p", "k", kDay, kDay), 100000);
}

TEST_F(MeterTest, SlotCountsRefusalsPerMinuteApartFromServedRequests) {
  UsageSlot slot{};
  slot.count_refusal(7, RefusalKind::kThrottled);
  slot.count_refusal(7, RefusalKind::kThrottled);
  slot.count_refusal(8, RefusalKind::kQuotaExceeded);
  slot.count_refusal(9, RefusalKind::kThrottled);  // reuses the odd word
  EXPECT_EQ(slot.read_refusals(1, RefusalKind::kThrottled).period, 9);
  EXPECT_EQ(slot.read_refusals(1, RefusalKind::kThrottled).count, 1);
  EXPECT_EQ(slot.read_refusals(0, RefusalKind::kQuotaExceeded).count, 1);
  EXPECT_EQ(slot.read_refusals(0, RefusalKind::kThrottled).period, -1);
  EXPECT_EQ(slot.read(0).period, -1);  // no request served
}

// What the store holds of one minute, as "allowed/throttled/quota exceeded".
std::string minute_of(Store& store, const std::string& plan, const std::string& key,
                      std::int64_t minute) {
  const std::vector<MinuteCounts> c = store.minute_counts(plan, key, minute, minute);
  if (c.empty()) return "none";
  return std::to_string(c[0].allowed) + "/" + std::to_string(c[0].throttled) + "/" +
         std::to_string(c[0].quota_exceeded);
}

TEST_F(MeterTest, FlushWritesPerMinuteCountsOfEachKeyAndThePlan) {
  SqliteStore store(dir / "t.db");
  CounterFile counters(dir / "counters");
  Meter meter(store, counters, clock, {});
  const std::int64_t minute = clock.now() / (60 * kNanosPerSecond);
  UsageSlot* k1 = meter.slot_for("p", "k1");
  UsageSlot* k2 = meter.slot_for("p", "k2");
  for (int i = 0; i < 3; ++i) k1->count(clock.now());
  k1->count_refusal(minute, RefusalKind::kThrottled);
  k1->count_refusal(minute, RefusalKind::kThrottled);
  k1->count_refusal(minute, RefusalKind::kQuotaExceeded);
  for (int i = 0; i < 4; ++i) k2->count(clock.now());
  ASSERT_TRUE(meter.flush());
  ASSERT_TRUE(meter.flush());  // nothing new: nothing written twice
  EXPECT_EQ(minute_of(store, "p", "k1", minute), "3/2/1");
  EXPECT_EQ(minute_of(store, "p", "k2", minute), "4/0/0");
  EXPECT_EQ(minute_of(store, "p", "", minute), "7/2/1");

  clock.advance(60 * kNanosPerSecond);
  k1->count(clock.now());
  k1->count_refusal(minute + 1, RefusalKind::kThrottled);
  ASSERT_TRUE(meter.flush());
  EXPECT_EQ(minute_of(store, "p", "k1", minute), "3/2/1");
  EXPECT_EQ(minute_of(store, "p", "k1", minute + 1), "1/1/0");
  EXPECT_EQ(minute_of(store, "p", "", minute + 1), "1/1/0");
  EXPECT_EQ(minute_of(store, "p", "k2", minute + 1), "none");
}

TEST_F(MeterTest, PerMinuteCountsAreNotWrittenAgainByTheNextRun) {
  const std::int64_t minute = clock.now() / (60 * kNanosPerSecond);
  {
    SqliteStore store(dir / "t.db");
    CounterFile counters(dir / "counters");
    Meter meter(store, counters, clock, {});
    UsageSlot* slot = meter.slot_for("p", "k");
    slot->count(clock.now());
    slot->count_refusal(minute, RefusalKind::kQuotaExceeded);
    slot->count_refusal(minute, RefusalKind::kQuotaExceeded);
  }  // stops with a last flush
  clock.advance(10 * kNanosPerSecond);
  SqliteStore store(dir / "t.db");
  CounterFile counters(dir / "counters");
  Meter meter(store, counters, clock, {});
  ASSERT_TRUE(meter.flush());
  EXPECT_EQ(minute_of(store, "p", "k", minute), "1/0/2");
  meter.slot_for("p", "k")->count_refusal(minute, RefusalKind::kQuotaExceeded);
  ASSERT_TRUE(meter.flush());
  EXPECT_EQ(minute_of(store, "p", "k", minute), "1/0/3");
}

TEST_F(MeterTest, AServedRequestCountsInTheMinuteItWasAdmittedWhenEverItIsFlushed) {
  SqliteStore store(dir / "t.db");
  CounterFile counters(dir / "counters");
  Meter meter(store, counters, clock, {});
  const std::int64_t minute = clock.now() / kNanosPerMinute;
  UsageSlot* slot = meter.slot_for("p", "k");
  slot->count(clock.now());
  clock.advance(kNanosPerMinute);
  ASSERT_TRUE(meter.flush());
  EXPECT_EQ(minute_of(store, "p", "k", minute), "1/0/0");
  EXPECT_EQ(minute_of(store, "p", "k", minute + 1), "none");
}

TEST_F(MeterTest, ARequestTakenBackAfterAFlushIsTakenOffTheStoredCounts) {
  SqliteStore store(dir / "t.db");
  CounterFile counters(dir / "counters");
  Meter meter(store, counters, clock, {});
  const std::int64_t minute = clock.now() / kNanosPerMinute;
  UsageSlot* slot = meter.slot_for("p", "k");
  for (int i = 0; i < 3; ++i) slot->count(clock.now());
  ASSERT_TRUE(meter.flush());
  slot->uncount(clock.now());
  ASSERT_TRUE(meter.flush());
  EXPECT_EQ(store.usage_between("p", "k", kDay, kDay), 2);
  EXPECT_EQ(minute_of(store, "p", "k", minute), "2/0/0");
  EXPECT_EQ(minute_of(store, "p", "", minute), "2/0/0");
}

TEST_F(MeterTest, AKeyWhoseCustomerChangesCountsForEachCustomerApart) {
  SqliteStore store(dir / "t.db");
  CounterFile counters(dir / "counters");
  Meter meter(store, counters, clock, {});
  const std::vector<UsagePlanKey> member{{"p", "k", 0}};
  std::string customer = "acme";
  const auto customer_of = [&customer](std::size_t) { return std::string_view(customer); };
  const Meter::Member before = meter.members(member, customer_of).front();
  for (int i = 0; i < 3; ++i) before.slot->count(clock.now());
  customer = "globex";
  const Meter::Member after = meter.members(member, customer_of).front();
  EXPECT_NE(after.slot, before.slot);
  EXPECT_EQ(after.pair_id, before.pair_id);  // one key under one plan: one quota
  after.slot->count(clock.now());
  customer = "acme";  // and back: its first slot again
  EXPECT_EQ(meter.members(member, customer_of).front().slot, before.slot);
  ASSERT_TRUE(meter.flush());
  std::vector<std::string> rows;
  store.scan_usage(kDay, kDay, {}, [&](const UsageRow& r) {
    rows.push_back(r.customer_id + "=" + std::to_string(r.used));
    return true;
  });
  EXPECT_EQ(rows, (std::vector<std::string>{"acme=3", "globex=1"}));
}

TEST_F(MeterTest, EveryDayIsKeptWhileTheStoreCannotBeWrittenHoweverManyMidnightsPass) {
  SqliteStore sqlite(dir / "t.db");
  UnwritableStore store(sqlite);
  {
    CounterFile counters(dir / "counters");
    Meter meter(store, counters, clock, {});
    UsageSlot* slot = meter.slot_for("p", "k");
    store.writable = false;
    // Four days of traffic with the store down: the even word holds kDay,
    // then kDay + 2, the odd one kDay + 1, then kDay + 3.
    for (int d = 0; d < 4; ++d) {
      clock.set((kDay + d) * kNanosPerDay + 3600 * kNanosPerSecond);
      for (int i = 0; i <= d; ++i) slot->count(clock.now());
      EXPECT_FALSE(meter.flush());
    }
    EXPECT_TRUE(std::filesystem::exists(dir / "counters" / "held"));
  }  // the process ends with the store still down (its last flush fails too)
  // The next run finds the held days and writes them once the store can be.
  CounterFile counters(dir / "counters");
  Meter meter(store, counters, clock, {});
  EXPECT_FALSE(meter.flush());
  store.writable = true;
  ASSERT_TRUE(meter.flush());
  for (int d = 0; d < 4; ++d)
    EXPECT_EQ(sqlite.usage_between("p", "k", kDay + d, kDay + d), d + 1) << d;
  // Nothing is written twice, by this run or the next.
  ASSERT_TRUE(meter.flush());
  Meter again(store, counters, clock, {});
  ASSERT_TRUE(again.flush());
  EXPECT_EQ(sqlite.usage_between("p", "k", kDay, kDay + 3), 10);
}

TEST_F(MeterTest, ADayIsHeldOnlyOnceItHasEnded) {
  SqliteStore sqlite(dir / "t.db");
  UnwritableStore store(sqlite);
  CounterFile counters(dir / "counters");
  Meter meter(store, counters, clock, {});
  UsageSlot* slot = meter.slot_for("p", "k");
  store.writable = false;
  slot->count(clock.now());
  EXPECT_FALSE(meter.flush());
  // Today's count stays in its word: late requests may still add to it.
  slot->count(clock.now());
  store.writable = true;
  ASSERT_TRUE(meter.flush());
  EXPECT_EQ(sqlite.usage_between("p", "k", kDay, kDay), 2);
}

TEST_F(MeterTest, ProgressSaysWhichDaysAreInWholeAndThatACleanStopHoldsNone) {
  SqliteStore store(dir / "t.db");
  {
    CounterFile counters(dir / "counters");
    Meter meter(store, counters, clock, {.node = "n1"});
    meter.slot_for("p", "k")->count(clock.now());
    ASSERT_TRUE(meter.flush());
    std::vector<MeterProgress> p = store.meter_progress();
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].node, "n1");
    EXPECT_EQ(p[0].complete_before_day, kDay);  // an hour into kDay: the days before it are in
    EXPECT_TRUE(p[0].running);
    clock.set((kDay + 1) * kNanosPerDay + kNanosPerSecond);  // a second after midnight: too soon
    ASSERT_TRUE(meter.flush());
    EXPECT_EQ(store.meter_progress()[0].complete_before_day, kDay);
    clock.advance(10 * kNanosPerSecond);
    ASSERT_TRUE(meter.flush());
    EXPECT_EQ(store.meter_progress()[0].complete_before_day, kDay + 1);
  }
  EXPECT_FALSE(store.meter_progress()[0].running);
}

TEST_F(MeterTest, RetentionPrunesOldDays) {
  SqliteStore store(dir / "t.db");
  store.add_usage({{"p", "k", kDay - 100, 5}, {"p", "k", kDay - 9, 2}, {"p", "k", kDay, 1}});
  CounterFile counters(dir / "counters");
  Meter::Options options;
  options.interval = std::chrono::milliseconds(10);
  options.retention_days = 10;
  Meter meter(store, counters, clock, options);
  meter.start();
  for (int i = 0; i < 200 && store.usage_between("p", "k", 0, kDay - 10) != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  meter.stop();
  EXPECT_EQ(store.usage_between("p", "k", 0, kDay - 10), 0);
  EXPECT_EQ(store.usage_between("p", "k", kDay - 9, kDay), 3);
}

}  // namespace
}  // namespace tollgate
