#include "http/deadlines.h"

#include <gtest/gtest.h>

namespace tollgate {
namespace {

TEST(Deadlines, SweepClosesOnlyTheSocketsPastTheirDeadline) {
  asio::io_context io;
  Deadlines deadlines;
  Socket late(io.get_executor());
  Socket early(io.get_executor());
  late.open(tcp::v4());
  early.open(tcp::v4());
  Deadlines::Entry late_entry(deadlines, late);
  Deadlines::Entry early_entry(deadlines, early);
  EXPECT_EQ(deadlines.size(), 2u);

  const auto now = Deadlines::Clock::now();
  late_entry.expires_at(now - std::chrono::milliseconds(1));
  early_entry.expires_at(now + std::chrono::seconds(60));
  deadlines.sweep(now);
  EXPECT_TRUE(late_entry.expired());
  EXPECT_FALSE(late.is_open());
  EXPECT_FALSE(early_entry.expired());
  EXPECT_TRUE(early.is_open());

  // Re-arming clears the mark; an entry that never expires is never swept.
  late_entry.expires_never();
  EXPECT_FALSE(late_entry.expired());
  deadlines.sweep(now + std::chrono::hours(24 * 365));
  EXPECT_FALSE(late_entry.expired());
}

TEST(Deadlines, CancelOnExpiryLeavesTheSocketOpen) {
  asio::io_context io;
  Deadlines deadlines;
  Socket socket(io.get_executor());
  socket.open(tcp::v4());
  Deadlines::Entry entry(deadlines, socket);
  const auto now = Deadlines::Clock::now();
  entry.expires_at(now, Deadlines::OnExpiry::kCancel);
  deadlines.sweep(now);
  EXPECT_TRUE(entry.expired());
  EXPECT_TRUE(socket.is_open());
}

TEST(Deadlines, CloseIdleClosesOnlyIdleSockets) {
  asio::io_context io;
  Deadlines deadlines;
  Socket idle(io.get_executor());
  Socket busy(io.get_executor());
  idle.open(tcp::v4());
  busy.open(tcp::v4());
  Deadlines::Entry idle_entry(deadlines, idle);
  Deadlines::Entry busy_entry(deadlines, busy);
  idle_entry.set_idle(true);
  deadlines.close_idle();
  EXPECT_FALSE(idle.is_open());
  EXPECT_TRUE(busy.is_open());
  EXPECT_FALSE(idle_entry.expired());
}

TEST(Deadlines, EntriesUnlinkWhenTheyEnd) {
  asio::io_context io;
  Deadlines deadlines;
  Socket a(io.get_executor());
  {
    Deadlines::Entry entry(deadlines, a);
    EXPECT_EQ(deadlines.size(), 1u);
  }
  EXPECT_EQ(deadlines.size(), 0u);
  deadlines.sweep(Deadlines::Clock::now());
}

}  // namespace
}  // namespace tollgate
