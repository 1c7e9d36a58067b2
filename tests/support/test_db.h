// Test support: a Database on a fresh temporary directory, served by one of
// the plugins this build produced, closed and removed with everything in it
// when the object goes.
//
//   class MyTest : public ::testing::TestWithParam<std::string> {
//     kalam::test::TestDb db_{GetParam()};
//   };
//   INSTANTIATE_TEST_SUITE_P(Backends, MyTest,
//                            ::testing::ValuesIn(kalam::test::all_backends()),
//                            kalam::test::backend_name);
//
// Plugins are found in KALAM_TEST_PLUGIN_DIR (kalam/test_paths.h), never
// through LD_LIBRARY_PATH.
#pragma once

#include <gtest/gtest.h>
#include <kalam/backend_api.h>
#include <kalam/database.h>
#include <kalam/plugin.h>
#include <kalam/test_paths.h>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "temp_dir.h"

namespace kalam::test {

// Every in-tree plugin this build produced, by backend name: the parameter
// list of tests that must pass on every backend.
inline std::vector<std::string> all_backends() {
  return {KALAM_TEST_PLUGIN_NAMES};
}

// Names parameterised test cases after their backend (".../rocksdb").
inline std::string backend_name(
    const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

class TestDb {
 public:
  // Loads `backend` from KALAM_TEST_PLUGIN_DIR and opens a new, empty
  // database in a temporary directory. Throws std::runtime_error with the
  // engine's message when either fails (gtest reports it as a failure).
  explicit TestDb(std::string_view backend) {
    auto plugin = load_plugin(backend, {KALAM_TEST_PLUGIN_DIR});
    if (!plugin.ok()) {
      throw std::runtime_error("TestDb: " + plugin.status().to_string());
    }
    plugin_ = std::move(*plugin);
    reopen();
  }
  // The same with a plugin loaded already (e.g. by load_plugin_file()).
  explicit TestDb(std::shared_ptr<const Plugin> plugin)
      : plugin_(std::move(plugin)) {
    reopen();
  }
  TestDb(const TestDb&) = delete;
  TestDb& operator=(const TestDb&) = delete;
  // Closes the database, then removes the directory (members go in reverse
  // order: db_ before dir_).
  ~TestDb() = default;

  // REQUIRES: open (not after close()).
  Database& db() { return *db_; }
  Database* operator->() { return db_.get(); }
  const Plugin& plugin() const { return *plugin_; }
  const std::string& backend() const { return plugin_->name(); }
  // Whether data survives reopen().
  bool persistent() const { return plugin_->has(KALAM_CAP_PERSISTENT); }
  // The data directory.
  std::filesystem::path path() const { return dir_ / "db"; }

  // Closes the database (every Iterator, Snapshot and object holding the
  // Database must be gone) and opens the same directory again: a clean
  // restart. On a backend that is not persistent the data is then gone.
  void reopen() {
    close();
    auto db = Database::open(plugin_, path(), {});
    if (!db.ok()) {
      throw std::runtime_error("TestDb: open " + path().string() + ": " +
                               db.status().to_string());
    }
    db_ = std::move(*db);
  }

  // Closes the database; db() is unusable until reopen().
  void close() {
    if (db_ == nullptr) return;
    Status s = db_->close();
    db_.reset();
    if (!s.ok()) throw std::runtime_error("TestDb: close: " + s.to_string());
  }

 private:
  std::shared_ptr<const Plugin> plugin_;
  TempDir dir_;
  std::unique_ptr<Database> db_;
};

}  // namespace kalam::test
