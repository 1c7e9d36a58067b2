// Regression tests for faults below the storage libraries (issue 17), each
// a sweep over every failing call index of one command (io_faults.h):
//  - RocksDB aborted the process ("Assertion 'sync_without_flush_called_'
//    failed", exit 134) when close synced a WAL whose append had failed on
//    a full disk;
//  - SQLite said "nothing was applied" for a put that was committed (the
//    checkpoint of its flush failed afterwards);
//  - LMDB reported a short write on a full disk as EIO (IO_ERROR) where its
//    README promises NO_SPACE.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "io_faults.h"

namespace kalam::faults {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

void seed(const FaultDb& db) {
  test::SeedFamily family{"default", {}};
  for (int i = 0; i < 20; ++i) {
    family.entries["k" + std::to_string(100 + i)] = std::string(100, 'x');
  }
  const fs::path file = db.dir() / "seed.kdump";
  test::write_file(file, test::documented_dump({family}));
  ASSERT_EQ(db.run({"load", file.string()}).exit_code, 0);
}

bool have(const std::string& backend) { return test::have_backend(backend); }

TEST(IoFaults, RocksdbFullDiskDuringABigPutIsAnErrorNeverAnAbort) {
  if (!have("rocksdb")) GTEST_SKIP() << "no rocksdb plugin in this build";
  test::TempDir inputs;
  test::write_file(inputs / "big", std::string(1 << 20, 'b'));
  const IoScenario put_big{
      "put_big",
      seed,
      {"put", "big", "--value-file", (inputs / "big").string()},
      {"scan", "--keys-only"},
      {}};
  const SweepTally tally = sweep("rocksdb", put_big, "enospc", true, 0);
  std::printf("%s\n", tally.summary().c_str());
  EXPECT_GT(tally.other_errors + tally.nothing_applied, 0u);
}

TEST(IoFaults, RocksdbFailedWalSyncIsAnErrorNeverAnAbort) {
  if (!have("rocksdb")) GTEST_SKIP() << "no rocksdb plugin in this build";
  const IoScenario put{"put", seed, {"put", "new", "value"}, {"scan"}, {}};
  sweep("rocksdb", put, "fsync", false, 0);
  sweep("rocksdb", put, "eio", false, 0);
}

TEST(IoFaults, SqliteSaysNothingWasAppliedOnlyWhenNothingWas) {
  if (!have("sqlite")) GTEST_SKIP() << "no sqlite plugin in this build";
  const IoScenario put{
      "put", seed, {"put", "new", std::string(5000, 'n')}, {"scan"}, {}};
  for (const char* kind : {"enospc", "eio", "fsync", "short"}) {
    const SweepTally tally =
        sweep("sqlite", put, kind, std::string(kind) == "enospc", 0);
    std::printf("sqlite put %s: %s\n", kind, tally.summary().c_str());
  }
}

TEST(IoFaults, LmdbShortWriteOnAFullDiskIsNoSpace) {
  if (!have("lmdb")) GTEST_SKIP() << "no lmdb plugin in this build";
  FaultDb db("lmdb");
  seed(db);
  uint64_t calls = 0;
  const std::vector<std::string> put = {"put", "new", std::string(9000, 'n')};
  const test::CliResult clean =
      db.run_faulted(put, {"short", 0, false}, &calls);
  ASSERT_EQ(clean.exit_code, 0) << clean;
  ASSERT_GT(calls, 0u);
  int commit_failures = 0;
  for (uint64_t at = 1; at <= calls; ++at) {
    SCOPED_TRACE("short write at data write " + std::to_string(at));
    FaultDb run("lmdb");
    seed(run);
    const test::CliResult r = run.run_faulted(put, {"short", at, true});
    ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r;
    if (r.err.find("lmdb write: commit") == std::string::npos) continue;
    ++commit_failures;
    EXPECT_THAT(r.err, HasSubstr("No space left on device")) << r;
    EXPECT_THAT(r.err, Not(HasSubstr("Input/output error"))) << r;
    // Nothing was applied, unless the meta page write itself failed.
    const bool panicked = r.err.find("LMDB stopped the database (MDB_PANIC)") !=
                          std::string::npos;
    EXPECT_THAT(r.err, HasSubstr(panicked ? "may or may not have been applied"
                                          : "nothing was applied"))
        << r;
    const test::CliResult verbose =
        run.run_faulted({"put", "new", std::string(9000, 'n'), "--verbose"},
                        {"short", at, true});
    EXPECT_THAT(verbose.err, HasSubstr("NO_SPACE")) << verbose;
  }
  EXPECT_GT(commit_failures, 0) << "no short write reached a commit";
}

}  // namespace
}  // namespace kalam::faults
