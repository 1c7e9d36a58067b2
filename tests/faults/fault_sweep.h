// The fault sweep: runs a scenario against a database served by the faulty
// plugin (plugins/faulty), once without faults to count the calls it makes,
// then once per call index failing that call, and checks that
//  - the failure reaches the caller as a Status with the injected code (no
//    crash, no abort, not swallowed),
//  - the engine stays usable (later calls succeed; a retry succeeds),
//  - the data afterwards matches the scenario's model of what was
//    acknowledged (acknowledged writes present, failed ones absent, batches
//    all or nothing), in the open database and, on a persistent inner
//    backend, after a reopen;
// and once per index N with every call from N on failing ("the disk died"):
// clean errors, close() returns, and on a persistent inner backend a reopen
// shows exactly what was acknowledged.
//
// Adding a scenario: derive from Scenario (run() drives the engine through a
// Ctx and records what was acknowledged; verify() compares the database with
// that record) and add one line to the list in fault_sweep_test.cc.
#pragma once

#include <gtest/gtest.h>
#include <kalam/database.h>
#include <kalam/plugin.h>
#include <kalam/test_paths.h>

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "temp_dir.h"

namespace kalam::faults {

// The inner backend of this run: KALAM_FAULTY_INNER (which also fixes the
// capabilities the faulty plugin declares when it is loaded), else memory.
inline std::string inner_backend() {
  const char* env = std::getenv("KALAM_FAULTY_INNER");
  return env != nullptr && env[0] != '\0' ? env : "memory";
}

// What to fail.
struct Fault {
  enum class Mode { kNone, kCall, kFrom } mode = Mode::kNone;
  uint64_t index = 0;
  std::string code = "io_error";  // fail_code
  Code expected = Code::kIoError;

  static Fault none() { return {}; }
  static Fault call(uint64_t i) { return {Mode::kCall, i}; }
  static Fault from(uint64_t i) { return {Mode::kFrom, i}; }
  Fault with_code(std::string name, Code c) const {
    Fault f = *this;
    f.code = std::move(name);
    f.expected = c;
    return f;
  }
  std::string describe() const {
    switch (mode) {
      case Mode::kNone:
        return "no fault";
      case Mode::kCall:
        return "fail_call=" + std::to_string(index) + " fail_code=" + code;
      case Mode::kFrom:
        return "fail_from=" + std::to_string(index) + " fail_code=" + code;
    }
    return "?";
  }
  // The faulty plugin's options for this fault.
  std::vector<BackendOption> options() const {
    std::vector<BackendOption> out = {{"inner", inner_backend(), 0}};
    if (mode == Mode::kCall)
      out.push_back({"fail_call", std::to_string(index)});
    if (mode == Mode::kFrom)
      out.push_back({"fail_from", std::to_string(index)});
    if (mode != Mode::kNone) out.push_back({"fail_code", code});
    return out;
  }
};

// What a scenario uses to judge the outcome of each step.
class Ctx {
 public:
  explicit Ctx(const Fault& fault) : fault_(fault) {}

  // True when `s` is OK (the step was acknowledged). An injected failure
  // returns false and is counted; any other error fails the test.
  bool ok(const Status& s, std::string_view what) {
    if (s.ok()) return true;
    ++failures_;
    EXPECT_NE(fault_.mode, Fault::Mode::kNone)
        << what << " failed without a fault: " << s;
    EXPECT_EQ(s.code(), fault_.expected)
        << what << ": the injected code did not reach the caller: " << s;
    EXPECT_NE(s.message().find("injected"), std::string::npos)
        << what << ": the plugin's message was lost: " << s;
    return false;
  }
  template <typename T>
  bool ok(const StatusOr<T>& s, std::string_view what) {
    return ok(s.status(), what);
  }

  // For steps the rest of the scenario builds on: `step` (returning true
  // when acknowledged, via ok()) is tried again after an injected failure.
  // With a single fault the second try must succeed: the engine stays
  // usable. Returns whether the step was finally acknowledged; false means
  // the disk died and the scenario should stop.
  bool retry(std::string_view what, const std::function<bool()>& step) {
    if (step()) return true;
    const bool second = step();
    if (fault_.mode == Fault::Mode::kCall) {
      EXPECT_TRUE(second) << what
                          << ": a retry after one injected failure failed";
    }
    return second;
  }

  int failures() const { return failures_; }
  const Fault& fault() const { return fault_; }

 private:
  Fault fault_;
  int failures_ = 0;
};

// One scenario of the sweep. A fresh object is made for every run.
class Scenario {
 public:
  virtual ~Scenario() = default;
  // Drives `db` through its steps, judging each with ctx, and records in its
  // own model what was acknowledged.
  virtual void run(Database& db, Ctx& ctx) = 0;
  // Checks that `db` (with no faults left to inject) holds exactly what the
  // model says.
  virtual void verify(Database& db) = 0;
};

struct NamedScenario {
  std::string name;
  std::function<std::unique_ptr<Scenario>()> make;
  // gtest prints parameters with this.
  friend void PrintTo(const NamedScenario& s, std::ostream* os) {
    *os << s.name;
  }
};

// ---- A model of key/value data ----------------------------------------------

// Column families and their contents, as acknowledged.
class KvModel {
 public:
  KvModel() { families_["default"]; }
  void create(const std::string& cf) { families_[cf]; }
  void drop(const std::string& cf) { families_.erase(cf); }
  void put(const std::string& cf, const std::string& k, const std::string& v) {
    families_[cf][k] = v;
  }
  void del(const std::string& cf, const std::string& k) {
    families_[cf].erase(k);
  }
  bool has(const std::string& cf) const { return families_.count(cf) > 0; }
  const std::map<std::string, std::string>& contents(
      const std::string& cf) const {
    return families_.at(cf);
  }

  // The database's families and every entry equal the model.
  void verify(Database& db) const {
    auto names = db.list_column_families();
    ASSERT_TRUE(names.ok()) << names.status();
    std::vector<std::string> want;
    for (const auto& [name, _] : families_) want.push_back(name);
    std::vector<std::string> have = *names;
    std::sort(have.begin(), have.end());
    EXPECT_EQ(have, want) << "column families differ from the model";
    for (const auto& [name, entries] : families_) {
      auto cf = db.column_family(name);
      ASSERT_TRUE(cf.ok()) << cf.status();
      auto it = db.new_iterator(*cf);
      ASSERT_TRUE(it.ok()) << it.status();
      std::map<std::string, std::string> found;
      for (it->seek_to_first(); it->valid(); it->next()) {
        found.emplace(it->key(), it->value());
      }
      ASSERT_TRUE(it->status().ok()) << it->status();
      EXPECT_EQ(found, entries)
          << "column family '" << name << "' differs from the model";
    }
  }

 private:
  std::map<std::string, std::map<std::string, std::string>> families_;
};

// ---- The driver
// ---------------------------------------------------------------

class Sweep {
 public:
  Sweep() {
    auto plugin = load_plugin("faulty", {KALAM_TEST_PLUGIN_DIR});
    if (!plugin.ok()) throw std::runtime_error(plugin.status().to_string());
    plugin_ = *plugin;
    persistent_ = plugin_->has(KALAM_CAP_PERSISTENT);
  }

  bool persistent() const { return persistent_; }
  const Plugin& plugin() const { return *plugin_; }

  StatusOr<std::unique_ptr<Database>> open(const std::filesystem::path& dir,
                                           const Fault& fault) const {
    return Database::open(plugin_, dir, fault.options());
  }

  static uint64_t property(Database& db, const char* name) {
    auto value = db.property(ColumnFamily(), name);
    EXPECT_TRUE(value.ok()) << value.status();
    return value.ok() ? std::stoull(*value) : 0;
  }

  // The counted calls of a scenario without faults: `body` calls from open
  // to the end of run() (open is call 0); then verify() makes its own, and
  // `close` is the index of close().
  struct Calls {
    uint64_t body = 0;
    uint64_t close = 0;
  };

  // Runs `scenario` without faults and counts its calls.
  Calls count_calls(const NamedScenario& scenario) const {
    SCOPED_TRACE(scenario.name + ", no fault");
    test::TempDir dir;
    Calls calls;
    auto db = open(dir / "db", Fault::none());
    EXPECT_TRUE(db.ok()) << db.status();
    if (!db.ok()) return calls;
    auto s = scenario.make();
    Ctx ctx(Fault::none());
    s->run(**db, ctx);
    EXPECT_EQ(ctx.failures(), 0);
    calls.body = property(**db, "faulty.calls");
    s->verify(**db);
    calls.close = property(**db, "faulty.calls");
    EXPECT_TRUE((*db)->close().ok());
    db->reset();
    if (persistent_) reopen_and_verify(dir / "db", *s);
    return calls;
  }

  // One run with `fault`; `body_calls` is count_calls()'s result.
  void run_one(const NamedScenario& scenario, const Fault& fault,
               const Calls& calls) const {
    SCOPED_TRACE(scenario.name + ", " + fault.describe() + ", inner " +
                 inner_backend());
    test::TempDir dir;
    const auto path = dir / "db";
    auto s = scenario.make();
    auto db = open(path, fault);
    if (!db.ok()) {
      // Only open() itself (call 0) may fail here.
      EXPECT_EQ(fault.index, 0u) << db.status();
      EXPECT_EQ(db.status().code(), fault.expected) << db.status();
      EXPECT_NE(db.status().message().find("injected"), std::string::npos)
          << db.status();
      // The engine is usable: opening again without the fault works, and
      // the failed open left no data.
      auto again = open(path, Fault::none());
      ASSERT_TRUE(again.ok()) << again.status();
      s->verify(**again);
      EXPECT_TRUE((*again)->close().ok());
      return;
    }
    Ctx ctx(fault);
    s->run(**db, ctx);
    const uint64_t injected = property(**db, "faulty.injected");
    if (fault.mode == Fault::Mode::kCall) {
      if (fault.index < calls.body) {
        EXPECT_EQ(injected, 1u)
            << "the scenario no longer reaches call " << fault.index;
        EXPECT_EQ(ctx.failures(), 1)
            << "the injected failure did not reach the caller exactly once";
      }
      // The one fault is spent (or is close()'s, after verify()'s calls):
      // the open database must match the model.
      s->verify(**db);
      Status closed = (*db)->close();
      if (fault.index == calls.close) {
        EXPECT_EQ(closed.code(), fault.expected) << closed;
      } else {
        EXPECT_TRUE(closed.ok()) << closed;
      }
    } else {
      if (fault.index < calls.body) {
        EXPECT_GE(injected, 1u);
        EXPECT_GE(ctx.failures(), 1) << "no failure reached the caller";
      }
      // Every later call fails, close() included: it must return, with the
      // injected code or OK, and free the database either way.
      Status closed = (*db)->close();
      EXPECT_TRUE(closed.ok() || closed.code() == fault.expected) << closed;
    }
    db->reset();
    if (persistent_) reopen_and_verify(path, *s);
  }

  // Counts, then fails every call of the body and close(), then "disk
  // died" from every index of the body on.
  void sweep(const NamedScenario& scenario) const {
    const Calls calls = count_calls(scenario);
    ASSERT_GT(calls.body, 1u) << "the scenario made no counted calls";
    std::vector<uint64_t> indexes;
    for (uint64_t i = 0; i < calls.body; ++i) indexes.push_back(i);
    indexes.push_back(calls.close);
    for (uint64_t i : indexes) {
      run_one(scenario, Fault::call(i), calls);
      if (::testing::Test::HasFatalFailure()) return;
    }
    for (uint64_t n = 0; n <= calls.body; ++n) {
      run_one(scenario, Fault::from(n), calls);
      if (::testing::Test::HasFatalFailure()) return;
    }
    std::printf(
        "[ sweep    ] %s on faulty(%s): %llu calls failed one by "
        "one, %llu disk-died runs\n",
        scenario.name.c_str(), inner_backend().c_str(),
        static_cast<unsigned long long>(indexes.size()),
        static_cast<unsigned long long>(calls.body + 1));
  }

 private:
  void reopen_and_verify(const std::filesystem::path& path, Scenario& s) const {
    SCOPED_TRACE("after reopen");
    auto db = open(path, Fault::none());
    ASSERT_TRUE(db.ok()) << db.status();
    s.verify(**db);
    EXPECT_TRUE((*db)->close().ok());
  }

  std::shared_ptr<const Plugin> plugin_;
  bool persistent_ = false;
};

}  // namespace kalam::faults
