#include "metering/export_output.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "temp_dir.h"

namespace tollgate {
namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::size_t files_in(const std::filesystem::path& dir) {
  return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(dir), {}));
}

TEST(ExportOutput, AFileAppearsWholeAtCommitAndNotBefore) {
  TempDir temp;
  const auto target = temp.path() / "usage.csv";
  ExportOutput out(target.string());
  for (int i = 0; i < 100000; ++i) out.stream() << "line " << i << '\n';
  EXPECT_FALSE(std::filesystem::exists(target));
  out.commit();
  const std::string text = read_file(target);
  EXPECT_EQ(text.substr(0, 7), "line 0\n");
  EXPECT_TRUE(text.ends_with("\nline 99999\n"));
  EXPECT_EQ(files_in(temp.path()), 1u);
}

TEST(ExportOutput, AnExportNotCommittedLeavesTheTargetAsItWas) {
  TempDir temp;
  const auto target = temp.path() / "usage.csv";
  std::ofstream(target) << "the last export\n";
  {
    ExportOutput out(target.string());
    out.stream() << "half of the next\n";
  }
  EXPECT_EQ(read_file(target), "the last export\n");
  EXPECT_EQ(files_in(temp.path()), 1u);  // no temporary file left behind
}

TEST(ExportOutput, AFullDeviceFailsTheCommit) {
  ExportOutput out("/dev/full");
  out.stream() << "a record\n";
  EXPECT_THROW(out.commit(), std::runtime_error);
}

TEST(ExportOutput, AClosedPipeFailsTheCommit) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ::close(fds[0]);
  const std::string path = "/proc/self/fd/" + std::to_string(fds[1]);
  {
    ExportOutput out(path);
    out.stream() << "a record\n";
    EXPECT_THROW(out.commit(), std::runtime_error);
  }
  ::close(fds[1]);
}

TEST(ExportOutput, ADirectoryThatCannotBeWrittenFailsAtOnce) {
  EXPECT_THROW(ExportOutput("/proc/no-such-dir/usage.csv"), std::runtime_error);
}

}  // namespace
}  // namespace tollgate
