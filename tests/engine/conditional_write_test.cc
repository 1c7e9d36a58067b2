// The engine's ABI 1.2 surface: WriteBatch expectations, Status::is_conflict(),
// Database::read_modify_write() and write_limits(), on every in-tree plugin
// (native) and on plugins without the capabilities (the engine's fallbacks):
// kalam_reduced.so (ABI 1.0, not thread-safe) and kalam_older.so (ABI 1.1,
// reporting the 1.2 bits by accident). Both abort if the engine ever calls a
// slot past their table's struct_size.
#include <gtest/gtest.h>
#include <kalam/database.h>
#include <kalam/test_paths.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "temp_dir.h"

namespace kalam {
namespace {

std::unique_ptr<Database> open_db(const std::string& file,
                                  const test::TempDir& dir) {
  auto plugin = load_plugin_file(file);
  EXPECT_TRUE(plugin.ok()) << plugin.status();
  if (!plugin.ok()) return nullptr;
  auto db = Database::open(*plugin, dir / "db", {});
  EXPECT_TRUE(db.ok()) << db.status();
  return db.ok() ? std::move(*db) : nullptr;
}

std::vector<std::string> plugin_files() {
  std::vector<std::string> out;
  for (const char* name : {KALAM_TEST_PLUGIN_NAMES}) {
    out.push_back(std::string(KALAM_TEST_PLUGIN_DIR) + "/kalam_" + name +
                  ".so");
  }
#ifdef KALAM_TEST_REDUCED_PLUGIN_PATH
  out.push_back(KALAM_TEST_REDUCED_PLUGIN_PATH);
  out.push_back(KALAM_TEST_OLDER_PLUGIN_PATH);
#endif
  return out;
}

class ConditionalWriteTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = open_db(GetParam(), dir_);
    ASSERT_NE(db_, nullptr);
  }
  // Increments counter "n" through read_modify_write().
  Status increment() {
    return db_->read_modify_write(
        {{ColumnFamily(), "n"}},
        [](const std::vector<std::optional<std::string_view>>& current,
           WriteBatch* batch) {
          const long n = current[0] ? std::stol(std::string(*current[0])) : 0;
          batch->put("n", std::to_string(n + 1));
          return Status::OK();
        });
  }
  test::TempDir dir_;
  std::unique_ptr<Database> db_;
};

TEST_P(ConditionalWriteTest,
       ExpectationsThatHoldApplyAndAFailedOneIsAConflict) {
  auto a = db_->column_family("a", true);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(db_->put({}, "k", "v").ok());
  WriteBatch ok;
  ok.expect_value({}, "k", "v");
  ok.expect_absent(*a, "k");
  ok.expect_present({}, "k");
  ok.put(*a, "k", "in-a");
  EXPECT_EQ(ok.count(), 1u);
  EXPECT_EQ(ok.expectation_count(), 3u);
  ASSERT_TRUE(db_->write(ok).ok());
  EXPECT_EQ(*db_->get(*a, "k"), "in-a");

  WriteBatch conflict;
  conflict.expect_present({}, "k");
  conflict.expect_absent(*a, "k");  // fails: #1
  conflict.put({}, "k", "changed");
  conflict.del(*a, "k");
  Status s = db_->write(conflict);
  EXPECT_TRUE(s.is_conflict()) << s;
  EXPECT_NE(s.message().find("#1"), std::string::npos) << s;
  EXPECT_EQ(*db_->get({}, "k"), "v");
  EXPECT_EQ(*db_->get(*a, "k"), "in-a");
}

TEST_P(ConditionalWriteTest, ReadModifyWriteLosesNoConcurrentIncrement) {
  constexpr int kThreads = 4, kEach = 100;
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        if (Status s = increment(); !s.ok()) {
          ADD_FAILURE() << s;
          ++errors;
          return;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(errors, 0);
  EXPECT_EQ(*db_->get({}, "n"), std::to_string(kThreads * kEach));
}

TEST_P(ConditionalWriteTest, ReadModifyWriteSeesAbsentKeysAndCanCancel) {
  ASSERT_TRUE(db_->put({}, "k", "v").ok());
  Status s = db_->read_modify_write(
      {{ColumnFamily(), "k"}, {ColumnFamily(), "missing"}},
      [](const auto& current, WriteBatch* batch) {
        EXPECT_EQ(current[0], std::optional<std::string_view>("v"));
        EXPECT_EQ(current[1], std::nullopt);
        batch->put("k", "changed");
        return Status::Busy("changed my mind");
      });
  EXPECT_EQ(s.code(), Code::kBusy);
  EXPECT_EQ(*db_->get({}, "k"), "v");
  s = db_->read_modify_write({{ColumnFamily(), "k"}},
                             [](const auto&, WriteBatch* batch) {
                               batch->expect_absent({}, "x");
                               return Status::OK();
                             });
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s;
}

TEST_P(ConditionalWriteTest, InTreeBackendsHaveNoWriteLimits) {
  EXPECT_EQ(db_->write_limits().max_ops, 0u);
  EXPECT_EQ(db_->write_limits().max_bytes, 0u);
  EXPECT_EQ(db_->write_limits().max_expectations, 0u);
}

INSTANTIATE_TEST_SUITE_P(Plugins, ConditionalWriteTest,
                         ::testing::ValuesIn(plugin_files()),
                         [](const auto& param_info) {
                           const std::string& file = param_info.param;
                           std::string name = file.substr(file.rfind('/') + 1);
                           name = name.substr(
                               6, name.size() - 9);  // kalam_<name>.so
                           return name;
                         });

#ifdef KALAM_TEST_OLDER_PLUGIN_PATH
// An ABI 1.1 plugin: loads, its 1.2 capability bits are hidden, its 1.2
// slots are never read, and conditional writes and read-modify-write work
// through the engine's fallbacks (the slots abort if called).
TEST(ConditionalWriteFallback, AnAbi11PluginLoadsAndIsNeverCalledBeyondIt) {
  auto plugin = load_plugin_file(KALAM_TEST_OLDER_PLUGIN_PATH);
  ASSERT_TRUE(plugin.ok()) << plugin.status();
  const Plugin& p = **plugin;
  EXPECT_EQ(p.abi_minor(), 1u);
  EXPECT_EQ(p.vtable().struct_size, KALAM_BACKEND_VTABLE_SIZE_1_1);
  EXPECT_FALSE(p.has(KALAM_CAP_CONDITIONAL_WRITE));
  EXPECT_FALSE(p.has(KALAM_CAP_READ_MODIFY_WRITE));
  EXPECT_EQ(p.write_conditional(), nullptr);
  EXPECT_EQ(p.read_modify_write(), nullptr);
  EXPECT_EQ(p.get_limits(), nullptr);
  EXPECT_NE(p.iter_read_batch(), nullptr);  // 1.1 it does have
  EXPECT_TRUE(p.has(KALAM_CAP_THREAD_SAFE));
}

TEST(ConditionalWriteFallback, TheMemoryPluginSpeaks12) {
  auto plugin = load_plugin_file(KALAM_TEST_PLUGIN_MEMORY_PATH);
  ASSERT_TRUE(plugin.ok()) << plugin.status();
  EXPECT_EQ((*plugin)->abi_minor(), 2u);
  EXPECT_TRUE((*plugin)->has(KALAM_CAP_CONDITIONAL_WRITE |
                             KALAM_CAP_READ_MODIFY_WRITE));
  EXPECT_NE((*plugin)->write_conditional(), nullptr);
  EXPECT_NE((*plugin)->read_modify_write(), nullptr);
}

// The emulated read-modify-write retries: a concurrent writer that changes
// the key between the read and the write makes `modify` run again, and the
// write applies only on the state it saw.
TEST(ConditionalWriteFallback, EmulatedReadModifyWriteRetriesOnConflict) {
  test::TempDir dir;
  auto db = open_db(KALAM_TEST_OLDER_PLUGIN_PATH, dir);
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->put({}, "k", "1").ok());
  int calls = 0;
  Status s = db->read_modify_write(
      {{ColumnFamily(), "k"}}, [&](const auto& current, WriteBatch* batch) {
        ++calls;
        // Another writer slips in, once (allowed here: this backend has no
        // native read_modify_write, so no store lock is held).
        if (calls == 1) {
          EXPECT_TRUE(db->put({}, "k", "5").ok());
        }
        batch->put("k", std::string(*current[0]) + "+1");
        return Status::OK();
      });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(*db->get({}, "k"), "5+1");
}
#endif

// Limits from get_limits() (the faulty plugin reporting limit_write_ops as
// a remote store would): the engine refuses a write over them itself, with
// TOO_LARGE naming the limit, and applies nothing.
TEST(WriteLimits, AWriteOverTheLimitIsTooLargeAndAppliesNothing) {
  test::TempDir dir;
  auto plugin = load_plugin_file(KALAM_TEST_PLUGIN_FAULTY_PATH);
  ASSERT_TRUE(plugin.ok()) << plugin.status();
  auto opened =
      Database::open(*plugin, dir / "db",
                     std::vector<BackendOption>{{"limit_write_ops", "2", 0}});
  ASSERT_TRUE(opened.ok()) << opened.status();
  Database& db = **opened;
  EXPECT_EQ(db.write_limits().max_ops, 2u);
  WriteBatch big;
  big.put("a", "1");
  big.put("b", "2");
  big.put("c", "3");
  Status s = db.write(big);
  EXPECT_EQ(s.code(), Code::kTooLarge) << s;
  EXPECT_NE(s.message().find("max_write_ops"), std::string::npos) << s;
  EXPECT_EQ(db.get({}, "a").status().code(), Code::kNotFound);
  WriteBatch fits;
  fits.put("a", "1");
  fits.expect_absent({}, "a");
  EXPECT_TRUE(db.write(fits).ok());
}

}  // namespace
}  // namespace kalam
