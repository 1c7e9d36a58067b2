// The I/O-fault sweep (docs/reliability.md, "Faults below the library"):
// each scenario runs once per failing call index of the storage library
// (io_fault_shim.c), on every persistent backend, with ENOSPC that stays
// (a full disk), one EIO, one short write and one failed fsync, and every
// run is judged as io_faults.h says. The default tier tries a few indices
// spread over each scenario's calls; KALAM_IOFAULT_SWEEP=full (the `long`
// tier) tries every one.
#include <gtest/gtest.h>

#include <cstdlib>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "io_faults.h"

namespace kalam::faults {
namespace {

using test::SeedFamily;

// The indices tried per scenario and kind: all with
// KALAM_IOFAULT_SWEEP=full, else a few.
uint64_t index_limit() {
  const char* env = std::getenv("KALAM_IOFAULT_SWEEP");
  return env != nullptr && std::string(env) == "full" ? 0 : 2;
}

SeedFamily seed_entries(int count, const std::string& prefix) {
  SeedFamily family{"default", {}};
  for (int i = 0; i < count; ++i) {
    char key[32];
    std::snprintf(key, sizeof key, "%s%05d", prefix.c_str(), i);
    family.entries[key] = std::string(200, static_cast<char>('a' + i % 26));
  }
  return family;
}

void expect_ok(const test::CliResult& r, const std::string& what) {
  if (r.exit_code != 0) {
    throw std::runtime_error(what + " failed: exit " +
                             std::to_string(r.exit_code) + ": " + r.err);
  }
}

// Loads 50 entries k00000.. into the default family.
void seed_kv(const FaultDb& db) {
  const fs::path file = db.dir() / "seed.kdump";
  test::write_file(file, test::documented_dump({seed_entries(50, "k")}));
  expect_ok(db.run({"load", file.string()}), "seeding");
}

void make_notes(const FaultDb& db) {
  expect_ok(db.run({"ns", "create", "app"}), "ns create");
  expect_ok(
      db.run({"table", "create", "app.notes", "--kind", "user", "--column",
              "id:int64", "--column", "title:string", "--primary-key", "id"}),
      "table create");
}

// Input files of the steps, made once per test process.
const test::TempDir& inputs() {
  static const test::TempDir* dir = [] {
    auto* d = new test::TempDir;
    test::write_file(*d / "big", std::string(1 << 20, 'b'));
    test::write_file(*d / "load.kdump",
                     test::documented_dump({seed_entries(400, "l")}));
    return d;
  }();
  return *dir;
}

std::vector<IoScenario> scenarios() {
  std::vector<IoScenario> out;
  const std::string big = (inputs() / "big").string();
  const std::string dump = (inputs() / "load.kdump").string();
  const std::vector<std::string> scan = {"scan"};
  out.push_back(
      {"put", seed_kv, {"put", "new", std::string(300, 'n')}, scan, {}});
  out.push_back(
      {"put_big", seed_kv, {"put", "big", "--value-file", big}, scan, {}});
  out.push_back({"batch_delete",
                 seed_kv,
                 {"del", "k00001", "k00002", "k00003", "k00010", "k00020",
                  "k00030", "k00040"},
                 scan,
                 {}});
  out.push_back({"load",
                 {},
                 {"load", dump, "--batch-size", "100"},
                 scan,
                 {"load", dump, "--batch-size", "100", "--allow-non-empty"},
                 /*several_writes=*/true});
  out.push_back(
      {"table_insert",
       make_notes,
       {"insert", "app.notes", "--user", "alice",
        R"({"id": 1, "title": "milk"})", R"({"id": 2, "title": "eggs"})"},
       {"select", "app.notes"},
       {}});
  out.push_back({"table_flush",
                 [](const FaultDb& db) {
                   make_notes(db);
                   expect_ok(db.run({"insert", "app.notes", "--user", "alice",
                                     R"({"id": 1, "title": "milk"})",
                                     R"({"id": 2, "title": "eggs"})",
                                     R"({"id": 3, "title": "tea"})"}),
                             "insert");
                   expect_ok(db.run({"insert", "app.notes", "--user", "bob",
                                     R"({"id": 1, "title": "bread"})"}),
                             "insert");
                 },
                 {"flush", "app.notes"},
                 {"select", "app.notes", "--format", "json"},
                 {}});
  return out;
}

struct SweepCase {
  std::string backend;
  IoScenario scenario;
};

std::vector<SweepCase> cases() {
  std::vector<SweepCase> out;
  for (const auto& backend : test::persistent_backends()) {
    for (const auto& scenario : scenarios()) out.push_back({backend, scenario});
  }
  return out;
}

// For gtest's messages: the case's name instead of its bytes.
void PrintTo(const SweepCase& c, std::ostream* os) {
  *os << c.backend << " " << c.scenario.name;
}

class IoFaultSweep : public ::testing::TestWithParam<SweepCase> {};

TEST_P(IoFaultSweep, EveryFaultIsAnErrorThatTellsTheTruth) {
  const SweepCase& c = GetParam();
  const IoScenario& scenario = c.scenario;
  for (const char* kind : {"enospc", "eio", "short", "fsync"}) {
    const bool sticky = std::string(kind) == "enospc";
    SweepTally tally = sweep(c.backend, scenario, kind, sticky, index_limit());
    std::printf("%s %s %s: %s\n", c.backend.c_str(), scenario.name.c_str(),
                kind, tally.summary().c_str());
    if (HasFailure()) break;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, IoFaultSweep, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<SweepCase>& param) {
                           return param.param.backend + "_" +
                                  param.param.scenario.name;
                         });

// ---- close ------------------------------------------------------------

// The plugin's close under every fault of its own calls: a batch written
// without sync and acknowledged, then the shim armed (abi_host_write
// arm-before-close), so call index N is the close's Nth call. Whatever the
// close returns, the process must not crash, the database must reopen with
// every acknowledged write, and `kalam check` must pass.
class IoFaultClose : public ::testing::TestWithParam<std::string> {};

TEST_P(IoFaultClose, AcknowledgedWritesSurviveAFailedClose) {
  const std::string& backend = GetParam();
  FaultDb templ(backend);
  seed_kv(templ);
  const std::string value(9000, 'v');
  for (const char* kind : {"enospc", "eio", "short", "fsync"}) {
    const bool sticky = std::string(kind) == "enospc";
    FaultDb db(backend);
    db.copy_from(templ.data());
    uint64_t calls = 0;
    const HostWrite clean = host_write(db.dir(), backend, db.data() / "store",
                                       2, {kind, 0, false}, &calls, true);
    ASSERT_EQ(clean.exit_code, 0) << clean.raw;
    ASSERT_EQ(clean.write, "OK") << clean.raw;
    ASSERT_EQ(clean.close, "OK") << clean.raw;
    uint64_t runs = 0, close_failed = 0;
    for (uint64_t at : pick_indices(calls, index_limit())) {
      const IoFault fault{kind, at, sticky};
      SCOPED_TRACE(backend + " close: " + fault.describe() + " of " +
                   std::to_string(calls));
      db.copy_from(templ.data());
      const HostWrite w = host_write(db.dir(), backend, db.data() / "store", 2,
                                     fault, nullptr, true);
      ++runs;
      ASSERT_EQ(w.exit_code, 0) << "a crash: " << w.raw;
      ASSERT_EQ(w.write, "OK")
          << "the write ran before the shim was armed: " << w.raw;
      if (w.close != "OK") ++close_failed;
      // Reopened without the fault: the seed and the acknowledged batch.
      const test::CliResult scan = db.run({"scan"});
      ASSERT_EQ(scan.exit_code, 0)
          << "reopening after a failed close: " << scan << "\nclose: " << w.raw;
      const std::set<std::string> lines = line_set(scan.out);
      EXPECT_EQ(lines.size(), 52u) << scan.out;
      EXPECT_EQ(lines.count("new\t" + value), 1u)
          << "an acknowledged write is lost after close said " << w.close;
      EXPECT_EQ(lines.count("new.2\t" + value), 1u)
          << "an acknowledged write is lost after close said " << w.close;
      const test::CliResult check = db.run({"check"});
      EXPECT_EQ(check.exit_code, 0) << check << "\nclose: " << w.raw;
      if (HasFatalFailure()) return;
    }
    std::printf(
        "%s close %s: %llu calls, %llu faulted runs, %llu closes "
        "failed\n",
        backend.c_str(), kind, static_cast<unsigned long long>(calls),
        static_cast<unsigned long long>(runs),
        static_cast<unsigned long long>(close_failed));
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, IoFaultClose,
                         ::testing::ValuesIn(test::persistent_backends()),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           return p.param;
                         });

// ---- migrate ----------------------------------------------------------

// `kalam migrate` from one persistent backend to the next (rocksdb to lmdb,
// lmdb to sqlite, sqlite to rocksdb, as built), with the fault injected
// under both data directories, so it may hit the source's open and close as
// well as every write of the copy. Each run: no crash; the source is
// intact (same entries, `kalam check` passes); exit 0 means the target
// holds the copy, verified; a failure is one clear error, and a rerun into
// a fresh target succeeds and verifies.
class IoFaultMigrate : public ::testing::TestWithParam<std::string> {};

std::string next_backend(const std::string& backend) {
  const auto all = test::persistent_backends();
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i] == backend) return all[(i + 1) % all.size()];
  }
  return backend;
}

TEST_P(IoFaultMigrate, SourceIntactTargetVerifiedOrAClearError) {
  const std::string& from = GetParam();
  const std::string to = next_backend(from);
  test::TempDir root;
  const fs::path both = fs::weakly_canonical(root.path()) / "io";
  fs::create_directories(both);
  FaultDb src(from, both / "src");
  FaultDb dst(to, both / "dst");
  seed_kv(src);
  const fs::path templ = root / "src-template";
  fs::copy(src.data(), templ, fs::copy_options::recursive);
  const std::string before = probe_state(src, {"scan"});
  const std::vector<std::string> migrate = {"migrate",
                                            "--config",
                                            (src.dir() / "db.yaml").string(),
                                            "--to",
                                            (dst.dir() / "db.yaml").string(),
                                            "--batch-size",
                                            "20"};
  auto run_migrate = [&](const IoFault& fault, uint64_t* calls,
                         std::string* faulted) {
    return under_shim(root, both, fault, calls, faulted, false,
                      [&] { return test::run_kalam(root, migrate); });
  };
  auto fresh = [&] {
    src.copy_from(templ);
    fs::remove_all(dst.data());
  };

  for (const char* kind : {"enospc", "eio", "short", "fsync"}) {
    const bool sticky = std::string(kind) == "enospc";
    fresh();
    uint64_t calls = 0;
    const test::CliResult clean =
        run_migrate({kind, 0, false}, &calls, nullptr);
    ASSERT_EQ(clean.exit_code, 0) << clean;
    ASSERT_GT(calls, 0u);
    SweepTally tally;
    for (uint64_t at : pick_indices(calls, index_limit())) {
      const IoFault fault{kind, at, sticky};
      SCOPED_TRACE(from + " to " + to + " migrate: " + fault.describe() +
                   " of " + std::to_string(calls));
      fresh();
      std::string faulted;
      const test::CliResult r = run_migrate(fault, nullptr, &faulted);
      SCOPED_TRACE("injected: " + faulted);
      ++tally.runs;
      ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1)
          << "a crash or a usage error: " << r;
      // The source is as it was.
      EXPECT_EQ(probe_state(src, {"scan"}), before)
          << "the source changed: " << r;
      const test::CliResult check = src.run({"check"});
      EXPECT_EQ(check.exit_code, 0) << check << "\nthe migrate: " << r;
      if (r.exit_code == 0) {
        ++tally.ok;
        EXPECT_NE(r.out.find("verified"), std::string::npos) << r;
        EXPECT_EQ(probe_state(dst, {"scan"}), before)
            << "exit 0, but the target is not the copy: " << r;
      } else {
        ++tally.other_errors;
        EXPECT_EQ(r.err.rfind("kalam: ", 0), 0u) << r;
        EXPECT_EQ(r.out.find("verified"), std::string::npos)
            << "a failed migrate claims a verified copy: " << r;
        // A rerun into a fresh target, without the fault.
        fs::remove_all(dst.data());
        const test::CliResult again = test::run_kalam(root, migrate);
        EXPECT_EQ(again.exit_code, 0)
            << "the rerun into a fresh target: " << again
            << "\nthe faulted run: " << r;
        EXPECT_EQ(probe_state(dst, {"scan"}), before);
      }
      if (HasFatalFailure()) return;
    }
    std::printf("%s to %s migrate %s: %s\n", from.c_str(), to.c_str(), kind,
                tally.summary().c_str());
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, IoFaultMigrate,
                         ::testing::ValuesIn(test::persistent_backends()),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           return p.param;
                         });

}  // namespace
}  // namespace kalam::faults
