// A real full disk: each persistent backend's data directory on an 8 MiB
// tmpfs, filled by `kalam put` in a loop and by a `kalam load` larger than
// the file system. Checks, for every run: no crash (exit 0 or 1); every put
// that exited 0 is there after reopening, with its value; a put whose error
// says "nothing was applied" left no trace; a put that may or may not have
// been applied says so and is OUTCOME_UNKNOWN; and once the file system is
// grown (space freed) the database opens, `kalam check` passes and writes
// succeed again. Needs permission to mount (root, as in CI); skipped with a
// message elsewhere.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "io_faults.h"
#include "tmpfs_mount.h"

namespace kalam::faults {
namespace {

using test::TmpfsMount;

// The state of the default family: key -> value, from `kalam scan`.
std::map<std::string, std::string> contents(const FaultDb& db) {
  const test::CliResult r = db.run({"scan"});
  EXPECT_EQ(r.exit_code, 0) << r;
  std::map<std::string, std::string> out;
  for (const auto& line : test::lines_of(r.out)) {
    const size_t tab = line.find('\t');
    if (tab != std::string::npos)
      out[line.substr(0, tab)] = line.substr(tab + 1);
  }
  return out;
}

// A FaultDb whose data directory is on an 8 MiB tmpfs.
class DiskFull : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!mount_.mounted()) {
      GTEST_SKIP() << "cannot mount a tmpfs here (" << mount_.error()
                   << "); the disk-full test needs root (CI runs it as root)";
    }
  }

  test::TempDir scratch_;
  TmpfsMount mount_{scratch_ / "full", "8m"};
  FaultDb db_{GetParam(), scratch_ / "full" / "data"};
};

// A value of `size` printable bytes that differs for each `i`, random
// enough that RocksDB's compression cannot shrink it much.
std::string value_for(int i, size_t size) {
  std::string value = "v" + std::to_string(i) + ":";
  static const char kAlphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/";
  uint64_t state = 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(i + 1);
  while (value.size() < size) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    value.push_back(kAlphabet[(state >> 33) & 63]);
  }
  return value;
}

TEST_P(DiskFull, PutsUntilTheDiskIsFullThenFreeSpace) {
  const FaultDb& db = db_;
  std::map<std::string, std::string> acknowledged;
  std::vector<std::string> nothing_applied;
  std::string first_error;
  int failures_in_a_row = 0, failures = 0, outcome_unknown = 0;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(120);
  for (int i = 0; i < 100 && failures_in_a_row < 3 &&
                  std::chrono::steady_clock::now() < deadline;
       ++i) {
    const std::string key = "k" + std::to_string(1000 + i);
    const std::string value = value_for(i, 1 << 20);
    const fs::path file = db.dir() / "value";
    test::write_file(file, value);
    const test::CliResult r =
        db.run({"put", key, "--value-file", file.string(), "--verbose"});
    ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1)
        << "put " << key << " on a full disk crashed: " << r;
    if (r.exit_code == 0) {
      acknowledged[key] = value;
      failures_in_a_row = 0;
      continue;
    }
    ++failures;
    ++failures_in_a_row;
    if (first_error.empty()) first_error = r.err;
    // A put whose commit failed may be on disk: OUTCOME_UNKNOWN (the engine
    // speaks ABI 1.2), with a message that says so; no other put is.
    const bool unknown =
        r.err.find("engine status: OUTCOME_UNKNOWN") != std::string::npos;
    EXPECT_EQ(unknown, r.err.find("may or may not have been applied") !=
                           std::string::npos)
        << "put " << key << ": the message and the code disagree: " << r;
    if (unknown) {
      ++outcome_unknown;
      EXPECT_EQ(r.err.find("nothing was applied"), std::string::npos) << r;
    }
    if (r.err.find("nothing was applied") != std::string::npos) {
      nothing_applied.push_back(key);
    }
  }
  ASSERT_GT(failures, 0) << "the 8 MiB file system never filled";
  EXPECT_NE(first_error.find("kalam: "), std::string::npos) << first_error;
  std::printf(
      "%s: %zu puts acknowledged, %d failed (%d OUTCOME_UNKNOWN); first "
      "error: %s",
      GetParam().c_str(), acknowledged.size(), failures, outcome_unknown,
      first_error.c_str());

  ASSERT_TRUE(mount_.grow("256m"));
  const test::CliResult check = db.run({"check"});
  EXPECT_EQ(check.exit_code, 0) << check;
  const auto now = contents(db);
  for (const auto& [key, value] : acknowledged) {
    auto it = now.find(key);
    ASSERT_NE(it, now.end()) << "acknowledged put of " << key << " is lost";
    EXPECT_TRUE(it->second == value) << key << " has other bytes";
  }
  for (const auto& key : nothing_applied) {
    EXPECT_EQ(now.count(key), 0u)
        << "the put of " << key << " said nothing was applied, but it is there";
  }
  const test::CliResult after = db.run({"put", "after", "free"});
  EXPECT_EQ(after.exit_code, 0) << after;
  EXPECT_EQ(contents(db)["after"], "free");
}

TEST_P(DiskFull, LoadLargerThanTheDiskThenFreeSpaceAndLoadAgain) {
  const FaultDb& db = db_;
  test::SeedFamily family{"default", {}};
  for (int i = 0; i < 3000; ++i) {
    family.entries["l" + std::to_string(10000 + i)] = value_for(i, 4 << 10);
  }
  const fs::path dump = db.dir() / "big.kdump";
  test::write_file(dump, test::documented_dump({family}));
  const test::CliResult r = db.run({"load", dump.string()});
  ASSERT_EQ(r.exit_code, 1) << "a 12 MiB load on an 8 MiB disk: " << r;
  std::printf("%s: %s", GetParam().c_str(), r.err.c_str());

  ASSERT_TRUE(mount_.grow("256m"));
  const test::CliResult check = db.run({"check"});
  EXPECT_EQ(check.exit_code, 0) << check << "\nthe load: " << r;
  // What the failed load left is part of the dump, byte for byte.
  for (const auto& [key, value] : contents(db)) {
    auto it = family.entries.find(key);
    ASSERT_NE(it, family.entries.end()) << key;
    EXPECT_TRUE(value == it->second) << key << " has other bytes";
  }
  const test::CliResult again =
      db.run({"load", dump.string(), "--allow-non-empty"});
  ASSERT_EQ(again.exit_code, 0) << again;
  const auto loaded = contents(db);
  EXPECT_EQ(loaded.size(), family.entries.size());
  EXPECT_TRUE(loaded == family.entries) << "the second load left other bytes";
}

INSTANTIATE_TEST_SUITE_P(
    Backends, DiskFull, ::testing::ValuesIn(test::persistent_backends()),
    [](const ::testing::TestParamInfo<std::string>& param) {
      return param.param;
    });

}  // namespace
}  // namespace kalam::faults
