// The PostgreSQL plugin when the server's disk fills up (SQLSTATE 53100
// disk_full), against a real throwaway server: the database's tables live
// in a tablespace on a small tmpfs the test mounts, chosen for the plugin's
// connections with `options='-c default_tablespace=…'` in conninfo (see
// plugins/postgres/README.md, "Failures"). Writes go on until the server
// reports the disk full; then the plugin must have returned NO_SPACE naming
// the server, said "nothing was applied" only because that is true (none
// of the failed batch's keys is there), kept every acknowledged write
// readable, and written again once the file system has room.
//
// Needs permission to mount (root, as in CI); skipped with a message where
// mount(2) is refused.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "conformance.h"
#include "postgres_server.h"
#include "tmpfs_mount.h"

namespace kalam::conformance {
namespace {

using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;
using Options = std::map<std::string, std::string>;

using test::TmpfsMount;

// Incompressible bytes (PostgreSQL compresses large values).
std::string random_bytes(std::mt19937_64& rng, size_t n) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    const uint64_t r = rng();
    std::memcpy(out.data() + i, &r, std::min<size_t>(8, n - i));
  }
  return out;
}

class PostgresNoSpaceTest : public ::testing::Test, public RawDatabase {
 protected:
  void SetUp() override {
    server_ = std::make_unique<test::PostgresServer>();
    struct stat st {};
    ASSERT_EQ(::stat(server_->dir().c_str(), &st), 0);
    // Inside the server's own temp dir, so its user can reach it.
    mount_ = std::make_unique<TmpfsMount>(server_->dir() / "small", "4m",
                                          std::pair(st.st_uid, st.st_gid));
    if (!mount_->mounted()) {
      GTEST_SKIP() << "cannot mount a tmpfs here (" << mount_->error()
                   << "); run as root to test a full disk on the server";
    }
    ASSERT_EQ(server_->sql("CREATE TABLESPACE small LOCATION '" +
                           (server_->dir() / "small").string() + "'"),
              "");
    // Every table the plugin creates (catalog, families and their TOAST
    // tables and indexes) goes to the small tablespace.
    ASSERT_TRUE(start({"postgres", KALAM_TEST_PLUGIN_POSTGRES_PATH,
                       Options{{"conninfo", conninfo()}}}));
  }
  void TearDown() override {
    close_db();
    server_.reset();  // stops the server before the tmpfs goes
    mount_.reset();
  }
  std::string conninfo() const {
    return server_->conninfo() + " options='-c default_tablespace=small'";
  }

  std::unique_ptr<test::PostgresServer> server_;
  std::unique_ptr<TmpfsMount> mount_;
};

TEST_F(PostgresNoSpaceTest, AFullDiskIsNoSpaceAppliesNothingAndRecovers) {
  std::mt19937_64 rng(20);
  constexpr int kBatchKeys = 8;
  constexpr size_t kValueBytes = 16 * 1024;
  auto key_of = [](int batch, int i) {
    return "b" + std::to_string(batch) + "-" + std::to_string(i);
  };
  std::map<std::string, std::string> acknowledged;
  std::vector<std::string> failed_keys;
  int rc = KALAM_OK;
  std::string message;
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  // 4 MiB hold about 250 values of 16 KiB: bounded well above that.
  for (int batch = 0; batch < 2000 && Clock::now() < deadline; ++batch) {
    std::vector<Op> ops;
    std::vector<std::pair<std::string, std::string>> kvs;
    for (int i = 0; i < kBatchKeys; ++i) {
      kvs.emplace_back(key_of(batch, i), random_bytes(rng, kValueBytes));
      ops.push_back(Put(nullptr, kvs.back().first, kvs.back().second));
    }
    RawStatus status;
    rc = write(ops, false, sizeof(kalam_write_op), &status);
    if (rc == KALAM_OK) {
      for (auto& kv : kvs) acknowledged.insert(std::move(kv));
      continue;
    }
    message = status.text();
    for (const auto& kv : kvs) failed_keys.push_back(kv.first);
    break;
  }
  ASSERT_STREQ(kalam_code_name(rc), kalam_code_name(KALAM_NO_SPACE))
      << "after " << acknowledged.size() << " acknowledged keys: " << message;
  EXPECT_GT(acknowledged.size(), 0u);
  std::cout << "full after " << acknowledged.size()
            << " acknowledged keys: " << message << "\n";
  EXPECT_THAT(message,
              HasSubstr("127.0.0.1:" + std::to_string(server_->port())));
  EXPECT_THAT(message, HasSubstr("53100"));
  EXPECT_THAT(message, HasSubstr("disk is full"));
  EXPECT_THAT(message, HasSubstr("nothing was applied"));
  // "Nothing was applied" is true: no key of the failed batch is there.
  for (const std::string& key : failed_keys) {
    EXPECT_EQ(value_of(nullptr, key), std::nullopt) << key;
  }
  // Every acknowledged write is readable, with its value, also while full.
  for (const auto& [key, value] : acknowledged) {
    const auto got = value_of(nullptr, key);
    ASSERT_TRUE(got.has_value()) << key;
    EXPECT_EQ(*got == value, true) << key;
  }
  // Still full: another write fails the same way, and applies nothing.
  RawStatus again;
  EXPECT_STREQ(kalam_code_name(write(
                   {Put(nullptr, "again", random_bytes(rng, kValueBytes))},
                   false, sizeof(kalam_write_op), &again)),
               kalam_code_name(KALAM_NO_SPACE))
      << again.text();
  EXPECT_EQ(value_of(nullptr, "again"), std::nullopt);

  // Space freed: writes work again, through the same open database.
  ASSERT_TRUE(mount_->grow("64m"));
  std::vector<Op> ops;
  for (const std::string& key : failed_keys) {
    ops.push_back(Put(nullptr, key, "after"));
  }
  EXPECT_EQ(write(ops), KALAM_OK);
  for (const std::string& key : failed_keys) {
    EXPECT_EQ(value_of(nullptr, key), "after") << key;
  }
  // And after a reopen, everything acknowledged is still there.
  reopen();
  size_t present = 0;
  for (const auto& [key, value] : acknowledged) {
    const auto got = value_of(nullptr, key);
    if (got.has_value() && *got == value) ++present;
  }
  EXPECT_EQ(present, acknowledged.size());
}

}  // namespace
}  // namespace kalam::conformance
