// kalam scan while another kalam process writes the same RocksDB database
// (docs/cli.md, "Reading while another process writes"). Regression: RocksDB
// logged "Error when reading MANIFEST file" when a read-only open caught the
// writer mid-append, kalam printed it and still exited 0. The rule checked
// here: a run that printed an error exits 1; a run that exited 0 printed no
// error.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kalam_cli.h"

namespace kalam::test {
namespace {

TEST(ConcurrentRead, AScanThatPrintsAnErrorExitsOne) {
  if (!have_backend("rocksdb")) GTEST_SKIP() << "no rocksdb plugin";
  TempDir dir;
  const std::string config = write_config(dir, "db", "rocksdb");
  // Enough data for several memtable flushes (each appends to the
  // MANIFEST) while the scans run.
  SeedFamily family{"default", {}};
  for (int i = 0; i < 20000; ++i) {
    family.entries["k" + std::to_string(100000 + i)] = std::string(400, 'v');
  }
  write_file(dir / "big.kdump", documented_dump({family}));
  seed(dir, config, {{"default", {{"a", "1"}}}});
  // The writer in the background; at most 150 scans (about 10 s) meanwhile.
  const std::string script =
      "cd " + dir.path().string() +
      "; $KALAM load big.kdump --allow-non-empty --batch-size 200 --config "
      "db.yaml >/dev/null 2>writer.err & pid=$!; i=0; "
      "while kill -0 $pid 2>/dev/null && [ $i -lt 150 ]; do "
      "$KALAM scan --limit 1 --config db.yaml >/dev/null 2>scan.err; "
      "echo \"exit=$? $(tr '\\n' ' ' <scan.err)\"; i=$((i+1)); done; "
      "wait $pid; echo writer=$?";
  const CliResult r = run_shell(dir, script);
  ASSERT_EQ(r.exit_code, 0) << r;
  int scans = 0;
  for (const auto& line : lines_of(r.out)) {
    if (line.rfind("writer=", 0) == 0) {
      EXPECT_EQ(line, "writer=0") << read_file(dir / "writer.err");
      continue;
    }
    ++scans;
    const bool ok = line.rfind("exit=0", 0) == 0;
    const bool printed_error = line.find("error") != std::string::npos;
    EXPECT_FALSE(ok && printed_error)
        << "a scan printed an error and exited 0: " << line;
    if (!ok) {
      EXPECT_TRUE(line.rfind("exit=1 kalam: ", 0) == 0) << line;
    }
  }
  EXPECT_GT(scans, 0);
  std::printf("%d scans ran during the load\n", scans);
}

}  // namespace
}  // namespace kalam::test
