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

}  // namespace
}  // namespace kalam::faults
