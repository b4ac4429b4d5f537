#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace tollgate {

// A fresh directory named after the running test, removed when done.
class TempDir {
 public:
  TempDir()
      : path_(std::filesystem::temp_directory_path() /
              ("tollgate-" +
               std::string(
                   ::testing::UnitTest::GetInstance()->current_test_info()->test_suite_name()) +
               "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace tollgate
