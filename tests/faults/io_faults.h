// Test support for faults below the storage libraries: runs the kalam CLI
// with the LD_PRELOAD shim of io_fault_shim.c (its path compiled in as
// KALAM_IOFAULT_SHIM_PATH), so RocksDB, LMDB and SQLite see ENOSPC, EIO, a
// short write or a failed fsync on their Nth call, and judges what each run
// left behind:
//  - no crash: the run exits 0 or 1, never with a signal (134 is an abort);
//  - a run that exited 0 left its effect, readable after reopening;
//  - a run whose error says "nothing was applied" left the database as it
//    was before;
//  - any other failed run left either state, or (load) a part of the new
//    entries, every one with its right value; its code is OUTCOME_UNKNOWN
//    exactly when its message says the write may or may not have been
//    applied (a commit that failed on the disk);
//  - `kalam check` passes on what is left, without the shim.
#pragma once

#include <gtest/gtest.h>
#include <kalam/test_paths.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "kalam_cli.h"
#include "temp_dir.h"

namespace kalam::faults {

namespace fs = std::filesystem;

// How the shim fails the call it picks (KALAM_IOFAULT_KIND).
struct IoFault {
  std::string kind = "enospc";  // enospc | eio | short | fsync
  uint64_t at = 0;              // 0: count only
  bool sticky = false;          // every call from `at` on fails too

  std::string describe() const {
    return kind + (sticky ? " from call " : " at call ") + std::to_string(at);
  }
};

// Sets environment variables for the kalam runs started while it lives (the
// tests are single-threaded); restores them when it goes.
class ScopedEnv {
 public:
  void set(const std::string& name, const std::string& value) {
    const char* old = std::getenv(name.c_str());
    saved_.push_back({name, old != nullptr, old != nullptr ? old : ""});
    ::setenv(name.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      if (it->had) {
        ::setenv(it->name.c_str(), it->value.c_str(), 1);
      } else {
        ::unsetenv(it->name.c_str());
      }
    }
  }

 private:
  struct Saved {
    std::string name;
    bool had;
    std::string value;
  };
  std::vector<Saved> saved_;
};

// One database directory for one backend, with its config, in a TempDir.
class FaultDb {
 public:
  explicit FaultDb(std::string backend) : FaultDb(backend, fs::path()) {}
  // With the data in `data` (default: a directory in its TempDir).
  FaultDb(std::string backend, const fs::path& data)
      : backend_(std::move(backend)) {
    data_ = fs::weakly_canonical(data.empty() ? dir_.path() / "data" : data);
    config_ = (dir_ / "db.yaml").string();
    test::write_file(config_, "storage:\n  backend: " + backend_ +
                                  "\n  path: " + data_.string() +
                                  "\n  plugin_path: [" KALAM_TEST_PLUGIN_DIR
                                  "]\n");
  }

  const std::string& backend() const { return backend_; }
  const fs::path& data() const { return data_; }
  const test::TempDir& dir() const { return dir_; }

  // Runs `kalam args... --config <db>` without faults.
  test::CliResult run(std::vector<std::string> args) const {
    args.push_back("--config");
    args.push_back(config_);
    return test::run_kalam(dir_, args);
  }
  // Runs it with `fault` injected under the data directory; `calls` gets
  // how many calls the shim counted, `faulted` the shim's fault lines.
  test::CliResult run_faulted(std::vector<std::string> args,
                              const IoFault& fault, uint64_t* calls = nullptr,
                              std::string* faulted = nullptr) const;

  // Replaces the data directory with a copy of `from`'s (or removes it
  // when `from` has none).
  void copy_from(const fs::path& from) const {
    fs::remove_all(data_);
    if (fs::exists(from)) fs::copy(from, data_, fs::copy_options::recursive);
  }

 private:
  std::string backend_;
  test::TempDir dir_;
  fs::path data_;
  std::string config_;
};

// Runs `run` (which starts one program and returns its result) with the
// shim preloaded and `fault` injected under `dir`; `calls` gets how many
// calls the shim counted, `faulted` its fault lines (each may be NULL).
// With `manual_arm` the shim counts nothing until the program calls
// kalam_iofault_arm(). The report file lives in `scratch`.
template <class Run>
test::CliResult under_shim(const test::TempDir& scratch, const fs::path& dir,
                           const IoFault& fault, uint64_t* calls,
                           std::string* faulted, bool manual_arm, Run&& run) {
  const fs::path report = scratch / "shim-report";
  fs::remove(report);
  test::CliResult r;
  {
    ScopedEnv env;
    env.set("LD_PRELOAD", KALAM_IOFAULT_SHIM_PATH);
    env.set("KALAM_IOFAULT_DIR", dir.string());
    env.set("KALAM_IOFAULT_KIND", fault.kind);
    env.set("KALAM_IOFAULT_AT", std::to_string(fault.at));
    env.set("KALAM_IOFAULT_STICKY", fault.sticky ? "1" : "0");
    env.set("KALAM_IOFAULT_ARM", manual_arm ? "manual" : "start");
    env.set("KALAM_IOFAULT_REPORT", report.string());
    r = run();
  }
  const std::string text = test::read_file(report);
  if (calls != nullptr) {
    *calls = 0;
    for (const auto& line : test::lines_of(text)) {
      if (line.rfind("calls ", 0) == 0) *calls = std::stoull(line.substr(6));
    }
  }
  if (faulted != nullptr) {
    faulted->clear();
    for (const auto& line : test::lines_of(text)) {
      if (line.rfind("fault ", 0) == 0) *faulted += line + "\n";
    }
  }
  return r;
}

inline test::CliResult FaultDb::run_faulted(std::vector<std::string> args,
                                            const IoFault& fault,
                                            uint64_t* calls,
                                            std::string* faulted) const {
  return under_shim(dir_, data_, fault, calls, faulted, false,
                    [&] { return run(std::move(args)); });
}

// What abi_host_write printed: "write", "message", "close" and
// "close-message" lines.
struct HostWrite {
  int exit_code = 0;
  std::string write, message, close, close_message, raw;
};

// Runs abi_host_write on the store `dir` of `backend` as a host of ABI
// minor `minor`, with `fault` injected under `dir` (fault.at 0: none; then
// `calls` gets the count). With `arm_before_close` the shim counts only the
// calls of the close. The batch puts `key` and `key`.2.
inline HostWrite host_write(const test::TempDir& scratch,
                            const std::string& backend, const fs::path& dir,
                            uint32_t minor, const IoFault& fault,
                            uint64_t* calls = nullptr,
                            bool arm_before_close = false,
                            const std::string& key = "new") {
  std::vector<std::string> argv = {
      KALAM_ABI_HOST_WRITE_PATH,
      std::string(KALAM_TEST_PLUGIN_DIR) + "/kalam_" + backend + ".so",
      dir.string(),
      std::to_string(minor),
      key,
      "9000"};
  if (arm_before_close) argv.push_back("arm-before-close");
  const test::CliResult r = under_shim(
      scratch, fs::weakly_canonical(dir), fault, calls, nullptr,
      arm_before_close,
      [&] { return test::run_program(scratch, argv, "/dev/null", {}); });
  HostWrite out;
  out.exit_code = r.exit_code;
  out.raw = r.out + r.err;
  for (const auto& line : test::lines_of(r.out)) {
    auto field = [&](const char* name, std::string& to) {
      const std::string prefix = std::string(name) + " ";
      if (line.rfind(prefix, 0) == 0) to = line.substr(prefix.size());
    };
    field("write", out.write);
    field("message", out.message);
    field("close", out.close);
    field("close-message", out.close_message);
  }
  return out;
}

// The lines of `text` as a set.
inline std::set<std::string> line_set(const std::string& text) {
  const auto lines = test::lines_of(text);
  return {lines.begin(), lines.end()};
}

// One scenario of the sweep: `setup` runs without faults on a fresh
// database (its result is the template every faulted run starts from),
// `step` is the kalam command under test, and `probe` prints the state the
// step changes (one line per entry or row).
struct IoScenario {
  std::string name;
  std::function<void(const FaultDb&)> setup;
  std::vector<std::string> step;
  std::vector<std::string> probe;
  // The command that runs the step again over its own result, finished or
  // not, when running `step` again is not it (load: --allow-non-empty).
  // Empty: `step`.
  std::vector<std::string> retry;
  // The step makes several writes (load: one per batch): a plugin's
  // "nothing was applied" is about the write that failed, not the step,
  // so a failed run may leave any part of the new state.
  bool several_writes = false;
};

// Indices 1..count, or at most `limit` of them spread evenly over the
// inside of the range (limit 2 of 30: 10 and 20) when limit > 0.
inline std::vector<uint64_t> pick_indices(uint64_t count, uint64_t limit) {
  std::vector<uint64_t> out;
  if (count == 0) return out;
  if (limit == 0 || count <= limit) {
    for (uint64_t i = 1; i <= count; ++i) out.push_back(i);
    return out;
  }
  for (uint64_t k = 1; k <= limit; ++k) {
    out.push_back(std::max<uint64_t>(1, k * count / (limit + 1)));
  }
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// The result of one sweep, for the test log.
struct SweepTally {
  uint64_t runs = 0, ok = 0, nothing_applied = 0, other_errors = 0;
  uint64_t outcome_unknown = 0;  // of other_errors: OUTCOME_UNKNOWN
  std::string summary() const {
    std::ostringstream out;
    out << runs << " faulted runs: " << ok << " succeeded, " << nothing_applied
        << " failed with nothing applied, " << other_errors
        << " failed otherwise (" << outcome_unknown << " OUTCOME_UNKNOWN)";
    return out.str();
  }
};

// Runs `scenario` on `backend` once per picked call index for `kind`
// (sticky: every call from the index on fails) and checks every run as the
// header says. `limit` bounds the indices per kind (0: all).
// Whether a database was ever created at `db`: the engine writes
// KALAM_STORE_OPENED after the first successful open. A run that failed
// while creating it leaves none, which reads as no database at all.
inline bool created(const FaultDb& db) {
  return fs::exists(db.data() / "KALAM_STORE_OPENED");
}

// The output of `probe` on `db`; the probe must succeed where a database
// was created.
inline std::string probe_state(const FaultDb& db,
                               const std::vector<std::string>& probe) {
  const test::CliResult r = db.run(probe);
  if (created(db)) {
    EXPECT_EQ(r.exit_code, 0) << "the probe failed: " << r;
  }
  return r.out;
}

inline SweepTally sweep(const std::string& backend, const IoScenario& scenario,
                        const std::string& kind, bool sticky, uint64_t limit) {
  SweepTally tally;
  FaultDb templ(backend);
  if (scenario.setup) scenario.setup(templ);
  const std::string before = probe_state(templ, scenario.probe);

  // The count run: no fault; also the state a successful step leaves.
  FaultDb db(backend);
  db.copy_from(templ.data());
  uint64_t calls = 0;
  test::CliResult clean =
      db.run_faulted(scenario.step, {kind, 0, false}, &calls);
  EXPECT_EQ(clean.exit_code, 0)
      << scenario.name << " without faults: " << clean;
  const std::string applied = probe_state(db, scenario.probe);
  const std::set<std::string> allowed = [&] {
    std::set<std::string> all = line_set(before);
    const auto more = line_set(applied);
    all.insert(more.begin(), more.end());
    return all;
  }();
  EXPECT_GT(calls, 0u) << scenario.name << ": the shim saw no " << kind
                       << " call under " << db.data();

  for (uint64_t at : pick_indices(calls, limit)) {
    const IoFault fault{kind, at, sticky};
    SCOPED_TRACE(backend + " " + scenario.name + ": " + fault.describe() +
                 " of " + std::to_string(calls));
    db.copy_from(templ.data());
    std::string faulted;
    // --verbose: the error's detail names the engine's status code.
    std::vector<std::string> step = scenario.step;
    step.push_back("--verbose");
    const test::CliResult r = db.run_faulted(step, fault, nullptr, &faulted);
    ++tally.runs;
    SCOPED_TRACE("injected: " + faulted);
    EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1)
        << "a crash or a usage error: " << r;
    if (r.exit_code != 0 && r.exit_code != 1) break;
    // The code tells the truth as the message does: a write that failed
    // while committing may have been applied, which is OUTCOME_UNKNOWN (the
    // engine speaks ABI 1.2), and nothing else is.
    if (r.exit_code == 1) {
      const bool unknown =
          r.err.find("engine status: OUTCOME_UNKNOWN") != std::string::npos;
      if (unknown) ++tally.outcome_unknown;
      EXPECT_EQ(unknown, r.err.find("may or may not have been applied") !=
                             std::string::npos)
          << "the message and the code disagree on whether the write may "
             "have been applied: "
          << r;
      EXPECT_FALSE(unknown &&
                   r.err.find("nothing was applied") != std::string::npos)
          << r;
    }
    const std::string state = probe_state(db, scenario.probe);
    if (r.exit_code == 0) {
      ++tally.ok;
      EXPECT_EQ(state, applied) << "exit 0, but the step's effect is not "
                                   "all there after reopening: "
                                << r;
    } else if (!scenario.several_writes &&
               r.err.find("nothing was applied") != std::string::npos) {
      ++tally.nothing_applied;
      EXPECT_EQ(state, before) << "the error says nothing was applied, "
                                  "but the database changed: "
                               << r;
    } else {
      ++tally.other_errors;
      for (const auto& line : line_set(state)) {
        EXPECT_TRUE(allowed.count(line) > 0)
            << "after a failed step the database holds '" << line
            << "', which is neither the old nor the new state: " << r;
      }
    }
    // (A load that failed while it created the database left none.)
    if (created(db)) {
      const test::CliResult check = db.run({"check"});
      EXPECT_EQ(check.exit_code, 0) << "kalam check after the fault: " << check
                                    << "\nthe faulted run: " << r;
    }
    // With the fault gone the step (or its retry) completes.
    const test::CliResult again =
        db.run(scenario.retry.empty() ? scenario.step : scenario.retry);
    EXPECT_EQ(again.exit_code, 0) << "running the step again without the "
                                     "fault: "
                                  << again << "\nthe faulted run: " << r;
    if (again.exit_code == 0) {
      EXPECT_EQ(probe_state(db, scenario.probe), applied)
          << "the step run again without the fault";
    }
    if (::testing::Test::HasFatalFailure()) break;
  }
  return tally;
}

}  // namespace kalam::faults
