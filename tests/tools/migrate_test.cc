// kalam migrate: the RocksDB -> LMDB -> SQLite -> RocksDB chain with the
// data identical at the end, a memory destination (verified within the
// run), and refusals: non-empty destination, same directory, missing
// destination config.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kalam_cli.h"

namespace kalam::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string ok(const TempDir& dir, const std::vector<std::string>& args) {
  CliResult r = run_kalam(dir, args);
  EXPECT_EQ(r.exit_code, 0) << r;
  return r.out;
}

// Three families: 'default' (a text and a binary entry), 'users' (30
// entries, more than one batch with --batch-size 7 below), 'empty'.
void fill(const TempDir& dir, const std::string& config) {
  SeedFamily users{"users", {}};
  for (int i = 0; i < 30; ++i) {
    users.entries["user:" + std::to_string(100 + i)] = std::string(i * 10, 'v');
  }
  seed(dir, config,
       {{"default",
         {{"greeting", "hello"},
          {std::string("\x00\xff", 2), std::string(1, '\0')}}},
        users,
        {"empty", {}}});
}

// The database's families, entries (hex JSON) and check digests.
std::string contents(const TempDir& dir, const std::string& config) {
  std::string out = ok(dir, {"cf", "list", "--config", config});
  for (const auto& family : lines_of(out)) {
    out +=
        "== " + family + "\n" +
        ok(dir, {"scan", "--cf", family, "--format", "json", "--key-encoding",
                 "hex", "--value-encoding", "hex", "--config", config});
  }
  return out + ok(dir, {"check", "--config", config});
}

TEST(Migrate, RocksdbToLmdbToSqliteToRocksdbKeepsTheDataIdentical) {
  for (const char* backend : {"rocksdb", "lmdb", "sqlite"}) {
    if (!have_backend(backend)) GTEST_SKIP() << backend << " is not built";
  }
  TempDir dir;
  const std::string first = write_config(dir, "first", "rocksdb");
  fill(dir, first);
  const std::string expected = contents(dir, first);
  ASSERT_THAT(expected, HasSubstr("check: 3 column families, 32 entries"));

  const std::vector<std::string> chain = {first,
                                          write_config(dir, "lmdb", "lmdb"),
                                          write_config(dir, "sqlite", "sqlite"),
                                          write_config(dir, "last", "rocksdb")};
  for (size_t i = 0; i + 1 < chain.size(); ++i) {
    SCOPED_TRACE(chain[i] + " -> " + chain[i + 1]);
    const std::string out = ok(dir, {"migrate", "--config", chain[i], "--to",
                                     chain[i + 1], "--batch-size", "7"});
    EXPECT_THAT(out, HasSubstr("users: 30 entries, crc32 0x"));
    EXPECT_THAT(out, HasSubstr("empty: 0 entries, crc32 0x00000000, "
                               "verified\n"));
    EXPECT_THAT(out, HasSubstr("migrated 3 column families, 32 entries"));
    EXPECT_THAT(out, HasSubstr("counts and checksums verified"));
    EXPECT_EQ(contents(dir, chain[i + 1]), expected);
  }
  // The source of each step is unchanged.
  EXPECT_EQ(contents(dir, first), expected);
}

// A destination that fills up midway (LMDB with a 1 MiB map): migrate and
// load stop with an error that says exactly what the destination holds, and
// it does hold exactly that.
TEST(Migrate, AFailureMidwaySaysExactlyWhatWasWritten) {
  if (!have_backend("lmdb")) GTEST_SKIP() << "lmdb is not built";
  TempDir dir;
  const std::string source = write_config(dir, "source", "lmdb");
  SeedFamily big{"big", {}};
  for (int i = 0; i < 40; ++i) {
    big.entries["k" + std::to_string(100 + i)] = std::string(64 << 10, 'x');
  }
  seed(dir, source, {big});
  ok(dir, {"dump", (dir / "big.kdump").string(), "--config", source});

  for (const std::string command : {"migrate", "load"}) {
    SCOPED_TRACE(command);
    const std::string tiny = (dir / ("tiny-" + command + ".yaml")).string();
    write_file(tiny, "storage:\n  backend: lmdb\n  path: tiny-" + command +
                         "-data\n  plugin_path: [" KALAM_TEST_PLUGIN_DIR
                         "]\n  options:\n    map_size: 1MiB\n");
    CliResult r = command == "migrate"
                      ? run_kalam(dir, {"migrate", "--config", source, "--to",
                                        tiny, "--batch-size", "3"})
                      : run_kalam(dir, {"load", (dir / "big.kdump").string(),
                                        "--config", tiny, "--batch-size", "3"});
    ASSERT_EQ(r.exit_code, 1) << r;
    EXPECT_EQ(lines_of(r.err).size(), 1u) << r.err;
    EXPECT_THAT(r.err, HasSubstr("writing a batch of 3 entries into column "
                                 "family 'big' failed"));
    EXPECT_THAT(r.err, HasSubstr("what it wrote stays in data directory"));
    // "...: N entries: 'default' complete (0), 'big' partly (N entries, up
    // to key 'kNNN'); ..."
    const std::string marker = "'big' partly (";
    const size_t at = r.err.find(marker);
    ASSERT_NE(at, std::string::npos) << r.err;
    const size_t written = std::stoul(r.err.substr(at + marker.size()));
    const size_t key_at = r.err.find("up to key '", at) + 11;
    const std::string last_key =
        r.err.substr(key_at, r.err.find('\'', key_at) - key_at);
    EXPECT_GT(written, 0u);
    EXPECT_LT(written, 40u);
    EXPECT_EQ(written % 3, 0u);  // whole batches only

    const std::vector<std::string> keys = lines_of(
        ok(dir, {"scan", "--cf", "big", "--keys-only", "--config", tiny}));
    EXPECT_EQ(keys.size(), written);
    ASSERT_FALSE(keys.empty());
    EXPECT_EQ(keys.back(), last_key);
  }
}

// A destination with a per-write limit (ABI 1.2 get_limits(); the faulty
// plugin reports limit_write_ops and refuses writes over it): migrate and
// load split their batches to fit, whatever --batch-size asks, and the copy
// is whole (verified within the run, as for every migrate).
TEST(Migrate, BatchesFitTheDestinationsWriteLimits) {
  if (!have_backend("lmdb") || !have_backend("faulty")) {
    GTEST_SKIP() << "lmdb or faulty is not built";
  }
  TempDir dir;
  const std::string source = write_config(dir, "source", "lmdb");
  SeedFamily many{"many", {}};
  for (int i = 0; i < 50; ++i) {
    many.entries["k" + std::to_string(100 + i)] = "v" + std::to_string(i);
  }
  seed(dir, source, {many});
  ok(dir, {"dump", (dir / "many.kdump").string(), "--config", source});
  for (const std::string command : {"migrate", "load"}) {
    SCOPED_TRACE(command);
    const std::string limited =
        (dir / ("limited-" + command + ".yaml")).string();
    write_file(limited, "storage:\n  backend: faulty\n  path: limited-" +
                            command + "-data\n  plugin_path: [" +
                            KALAM_TEST_PLUGIN_DIR +
                            "]\n  options:\n    limit_write_ops: 7\n");
    CliResult r =
        command == "migrate"
            ? run_kalam(dir, {"migrate", "--config", source, "--to", limited,
                              "--batch-size", "100"})
            : run_kalam(dir, {"load", (dir / "many.kdump").string(), "--config",
                              limited, "--batch-size", "100"});
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_THAT(r.err, Not(HasSubstr("TOO_LARGE"))) << r;
  }
}

class MigrateFromTest : public ::testing::TestWithParam<std::string> {};

TEST_P(MigrateFromTest, IntoMemoryVerifiesWithinTheRun) {
  TempDir dir;
  const std::string source = write_config(dir, "source", GetParam());
  fill(dir, source);
  const std::string memory = write_config(dir, "memory", "memory");
  CliResult r = run_kalam(dir, {"migrate", "--config", source, "--to", memory});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("migrated 3 column families, 32 entries from " +
                               GetParam()));
  EXPECT_THAT(r.out, HasSubstr(" to memory ("));
  EXPECT_THAT(r.err, HasSubstr("warning: backend 'memory' is not persistent"));
}

TEST_P(MigrateFromTest, RefusesADestinationWithDataUnlessAllowed) {
  TempDir dir;
  const std::string source = write_config(dir, "source", GetParam());
  fill(dir, source);
  const std::string target = write_config(dir, "target", GetParam());
  ok(dir, {"cf", "create", "users", "--config", target});
  ok(dir, {"put", "--cf", "users", "user:000", "theirs", "--config", target});
  ok(dir,
     {"put", "--cf", "users", "user:100", "overwritten", "--config", target});

  CliResult refused =
      run_kalam(dir, {"migrate", "--config", source, "--to", target});
  EXPECT_EQ(refused.exit_code, 1) << refused;
  EXPECT_THAT(refused.err, HasSubstr("kalam migrate refuses to write into a "
                                     "database that holds data"));
  EXPECT_THAT(refused.err, HasSubstr("column family 'users'"));
  EXPECT_EQ(ok(dir, {"cf", "list", "--config", target}), "default\nusers\n");

  const std::string out = ok(dir, {"migrate", "--config", source, "--to",
                                   target, "--allow-non-empty"});
  EXPECT_THAT(out, HasSubstr("users: 30 entries, crc32 0x"));
  EXPECT_THAT(out, HasSubstr("verified (the destination also holds 1 keys of "
                             "its own)"));
  EXPECT_EQ(ok(dir, {"get", "--cf", "users", "user:000", "--config", target}),
            "theirs\n");
  EXPECT_EQ(ok(dir, {"get", "--cf", "users", "user:100", "--config", target}),
            "\n");  // the source's (empty) value won
}

TEST_P(MigrateFromTest, RefusesTheSameDirectoryAndAMissingDestination) {
  TempDir dir;
  const std::string source = write_config(dir, "source", GetParam());
  fill(dir, source);
  CliResult same =
      run_kalam(dir, {"migrate", "--config", source, "--to", source});
  EXPECT_EQ(same.exit_code, 2) << same;
  EXPECT_THAT(same.err, HasSubstr("name the same data directory"));

  CliResult missing = run_kalam(
      dir, {"migrate", "--config", source, "--to", "/nonexistent/other.yaml"});
  EXPECT_EQ(missing.exit_code, 2) << missing;
  EXPECT_THAT(missing.err, HasSubstr("config file '/nonexistent/other.yaml' "
                                     "does not exist"));

  CliResult no_to = run_kalam(dir, {"migrate", "--config", source});
  EXPECT_EQ(no_to.exit_code, 2) << no_to;
  EXPECT_THAT(no_to.err, HasSubstr("--to is required"));
}

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(MigrateFromTest);
INSTANTIATE_TEST_SUITE_P(PersistentBackends, MigrateFromTest,
                         ::testing::ValuesIn(persistent_backends()),
                         [](const auto& param) { return param.param; });

}  // namespace
}  // namespace kalam::test
