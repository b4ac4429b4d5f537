#include "admin/csv_reader.h"

#include <gtest/gtest.h>

namespace tollgate {
namespace {

TEST(CsvReader, TrimsCellsAndSkipsBlankLines) {
  const auto rows = read_csv("\xEF\xBB\xBFName, Key ,enabled\r\n\r\n alice , k1 ,  tRuE\r\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].cells, (std::vector<std::string>{"Name", "Key", "enabled"}));
  EXPECT_EQ(rows[1].cells, (std::vector<std::string>{"alice", "k1", "tRuE"}));
  EXPECT_EQ(rows[1].line, 3u);
}

TEST(CsvReader, QuotedCellsKeepCommasAndQuotes) {
  const auto rows = read_csv("a,\"x, \"\"y\"\"\",'p1,p2'\n");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].cells, (std::vector<std::string>{"a", "x, \"y\"", "p1,p2"}));
}

TEST(CsvReader, LastLineWithoutNewline) {
  const auto rows = read_csv("a,b\nc,d");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].cells[1], "d");
}

TEST(CsvReader, UnterminatedQuoteIsAnError) {
  EXPECT_THROW(read_csv("a,\"b\n"), std::invalid_argument);
}

// Found by tests/fuzz/key_import_fuzz.cc: a key named with a byte that is not
// UTF-8 was stored as JSON no later load could read.
TEST(CsvReader, TextNotUtf8IsAnErrorNamingTheLine) {
  try {
    read_csv("\xEF\xBB\xBFname,key\r\nk\xBB,abcdefghijklmnopqrstuvwxyz\r\n");
    FAIL() << "read";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "line 2 is not valid UTF-8");
  }
}

}  // namespace
}  // namespace tollgate
