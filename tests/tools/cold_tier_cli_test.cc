// The database is its store and its cold tier: `kalam migrate` and `kalam
// dump` / `load` carry flushed rows to every persistent backend, so that
// `kalam select` on the target prints exactly what it printed on the
// source; `kalam check` reads every cold segment and names a damaged one
// (truncated, a byte flipped, two users' segments swapped), and reads of it
// fail instead of showing someone else's rows.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <kalam/config.h>
#include <kalam/database.h>
#include <kalam/tables/tables.h>

#include <algorithm>
#include <tuple>

#include "cold_tier_fill.h"
#include "kalam_cli.h"

namespace kalam::test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

// A config like write_config()'s whose cold tier is <name>-cold, beside the
// data directory rather than inside it (tables.cold_path).
std::string write_config_with_cold_path(const TempDir& dir,
                                        const std::string& name,
                                        const std::string& backend) {
  const std::string file = write_config(dir, name, backend);
  write_file(file,
             read_file(file) + "tables:\n  cold_path: " + name + "-cold\n");
  return file;
}

// Creates the database of `config` through the C++ API and fills it (see
// cold_tier_fill.h): the CLI has no update or delete of rows.
void create_source(const std::string& config_file) {
  auto config = load_config_file(config_file);
  ASSERT_TRUE(config.ok()) << config.status();
  auto db = Database::open(config->storage);
  ASSERT_TRUE(db.ok()) << db.status();
  {
    auto tables = tables::Tables::open(
        **db, {.cold_path = cold_path(*config), .background = false});
    ASSERT_TRUE(tables.ok()) << tables.status();
    ASSERT_NO_FATAL_FAILURE(fill_with_cold_tier(**tables));
  }
  ASSERT_TRUE((*db)->close().ok());
}

std::string ok(const TempDir& dir, const std::vector<std::string>& args) {
  CliResult r = run_kalam(dir, args);
  EXPECT_EQ(r.exit_code, 0) << r;
  return r.out;
}

// What `kalam select` prints for every table, every user and all users.
std::string selects(const TempDir& dir, const std::string& config) {
  std::string out;
  for (std::vector<std::string> query :
       {std::vector<std::string>{"app.notes", "--user", "alice"},
        {"app.notes", "--user", "bob"},
        {"app.notes"},
        {"app.config"},
        {"app.clicks"}}) {
    std::vector<std::string> args = {"select"};
    args.insert(args.end(), query.begin(), query.end());
    args.insert(args.end(), {"--format", "json", "--config", config});
    out += "== " + query[0] + (query.size() > 2 ? " " + query[2] : "") + "\n" +
           ok(dir, args);
  }
  return out;
}

size_t count_lines(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

class ColdTierCliPair
    : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {
 protected:
  void SetUp() override {
    const auto& [source_backend, target_backend] = GetParam();
    source_ = write_config(dir_, "source", source_backend);
    target_ = write_config_with_cold_path(dir_, "target", target_backend);
    ASSERT_NO_FATAL_FAILURE(create_source(source_));
    expected_ = selects(dir_, source_);
    // Hot, cold, updated-after-flush and deleted rows all show as they should.
    ASSERT_THAT(expected_, HasSubstr("updated after flush"));
    ASSERT_THAT(expected_, HasSubstr("bob changed 4"));
    ASSERT_THAT(expected_, Not(HasSubstr("\"alice note 3\"")));
    ASSERT_THAT(expected_, Not(HasSubstr("\"bob note 6\"")));
    ASSERT_EQ(count_lines(expected_), 5 + 12 + 11 + 23 + 11 + 2u) << expected_;
  }

  void expect_target_reads_like_source() {
    EXPECT_EQ(selects(dir_, target_), expected_);
    const std::string check = ok(dir_, {"check", "--config", target_});
    EXPECT_THAT(check,
                HasSubstr("cold tier (" + (dir_ / "target-cold").string() +
                          "): 5 segments in 3 partitions"));
    EXPECT_THAT(check, HasSubstr("no problems"));
    // Flushed rows are in the target's configured cold tier, not in its
    // data directory.
    EXPECT_FALSE(fs::exists(data_dir(dir_, "target") / "cold"));
  }

  TempDir dir_;
  std::string source_, target_, expected_;
};

TEST_P(ColdTierCliPair, MigrateCarriesAndVerifiesTheColdTier) {
  const std::string out =
      ok(dir_, {"migrate", "--config", source_, "--to", target_});
  EXPECT_THAT(out, HasSubstr("cold app.notes: 2 users, 4 segments, 25 rows, "
                             "1 deletion, crc32 0x"));
  EXPECT_THAT(out, HasSubstr("cold app.config: 1 segment, 12 rows, "
                             "0 deletions, crc32 0x"));
  EXPECT_THAT(out, HasSubstr("cold tier: 5 segments in 3 partitions, 38 "
                             "records, every partition verified"));
  EXPECT_THAT(out, HasSubstr("and the cold tier (5 segments, 38 records)"));
  expect_target_reads_like_source();

  // Migrating again into a target whose cold tier holds segments writes
  // nothing.
  const std::string other =
      write_config_with_cold_path(dir_, "other", std::get<1>(GetParam()));
  fs::create_directories(dir_ / "other-cold");
  fs::copy(dir_ / "target-cold", dir_ / "other-cold",
           fs::copy_options::recursive);
  CliResult refused =
      run_kalam(dir_, {"migrate", "--config", source_, "--to", other});
  EXPECT_EQ(refused.exit_code, 1) << refused;
  EXPECT_THAT(refused.err, HasSubstr("already holds segments"));
  EXPECT_THAT(refused.err, HasSubstr("Nothing was written"));
  EXPECT_FALSE(fs::exists(data_dir(dir_, "other")));
}

TEST_P(ColdTierCliPair, DumpAndLoadCarryTheColdTier) {
  const std::string file = (dir_ / "all.kdump").string();
  const std::string dumped = ok(dir_, {"dump", file, "--config", source_});
  EXPECT_THAT(dumped, HasSubstr(", 5 cold segments (38 records) to "));
  const std::string loaded = ok(dir_, {"load", file, "--config", target_});
  EXPECT_THAT(loaded, HasSubstr("cold app.notes: 2 users, 4 segments, 25 "
                                "rows, 1 deletion, crc32 0x"));
  EXPECT_THAT(loaded, HasSubstr(", 5 cold segments (38 records, verified)"));
  expect_target_reads_like_source();
}

std::vector<std::tuple<std::string, std::string>> persistent_pairs() {
  std::vector<std::tuple<std::string, std::string>> out;
  for (const std::string& a : persistent_backends()) {
    for (const std::string& b : persistent_backends()) out.emplace_back(a, b);
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(
    Pairs, ColdTierCliPair, ::testing::ValuesIn(persistent_pairs()),
    [](const ::testing::TestParamInfo<std::tuple<std::string, std::string>>&
           pair) {
      return std::get<0>(pair.param) + "_to_" + std::get<1>(pair.param);
    });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ColdTierCliPair);

// --- Damage ------------------------------------------------------------------

class ColdTierCliDamage : public ::testing::Test {
 protected:
  void SetUp() override {
    if (persistent_backends().empty()) GTEST_SKIP() << "no persistent backend";
    config_ = write_config(dir_, "db", persistent_backends().front());
    ASSERT_NO_FATAL_FAILURE(create_source(config_));
  }

  // The segment files of user `user` of app.notes, oldest first.
  std::vector<fs::path> segments_of(const std::string& user) {
    std::vector<fs::path> out;
    for (const auto& entry :
         fs::recursive_directory_iterator(data_dir(dir_, "db") / "cold")) {
      if (entry.is_regular_file() &&
          entry.path().parent_path().filename() == user) {
        out.push_back(entry.path());
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // `kalam check` exits 1 and names every file of `files`.
  void expect_check_names(const std::vector<fs::path>& files) {
    CliResult r = run_kalam(dir_, {"check", "--config", config_});
    EXPECT_EQ(r.exit_code, 1) << r;
    for (const fs::path& file : files) {
      EXPECT_THAT(r.out, HasSubstr("problem in the cold tier: cold segment " +
                                   file.string()))
          << r;
    }
    EXPECT_THAT(r.err, HasSubstr("problem(s) in the cold tier ")) << r;
  }

  // `kalam select` of `user` fails with a message naming corruption and
  // prints no row.
  void expect_select_fails(const std::string& user) {
    CliResult r = run_kalam(
        dir_, {"select", "app.notes", "--user", user, "--config", config_});
    EXPECT_NE(r.exit_code, 0) << r;
    EXPECT_EQ(r.out, "") << r;
    EXPECT_THAT(r.err, HasSubstr("cold segment ")) << r;
  }

  TempDir dir_;
  std::string config_;
};

TEST_F(ColdTierCliDamage, TruncatedSegment) {
  const fs::path file = segments_of("alice").front();
  const std::string bytes = read_file(file);
  write_file(file, bytes.substr(0, bytes.size() / 2));
  expect_check_names({file});
  expect_select_fails("alice");
  ok(dir_, {"select", "app.notes", "--user", "bob", "--config", config_});
  // A damaged cold tier is never dumped or migrated.
  CliResult dump = run_kalam(
      dir_, {"dump", (dir_ / "x.kdump").string(), "--config", config_});
  EXPECT_EQ(dump.exit_code, 1) << dump;
  EXPECT_THAT(dump.err, HasSubstr(file.string()));
  EXPECT_FALSE(fs::exists(dir_ / "x.kdump"));
  const std::string target =
      write_config(dir_, "target", persistent_backends().front());
  CliResult migrate =
      run_kalam(dir_, {"migrate", "--config", config_, "--to", target});
  EXPECT_EQ(migrate.exit_code, 1) << migrate;
  EXPECT_THAT(migrate.err, HasSubstr(file.string()));
  EXPECT_THAT(migrate.err, HasSubstr("Nothing was written to"));
  EXPECT_FALSE(fs::exists(data_dir(dir_, "target")));
}

TEST_F(ColdTierCliDamage, FlippedByte) {
  const fs::path file = segments_of("alice").front();
  std::string bytes = read_file(file);
  const size_t at = bytes.find("alice note 7");
  ASSERT_NE(at, std::string::npos);
  bytes[at] = 'A';
  write_file(file, bytes);
  expect_check_names({file});
  expect_select_fails("alice");
}

TEST_F(ColdTierCliDamage, SwappedUsersSegments) {
  const fs::path a = segments_of("alice").front();
  const fs::path b = segments_of("bob").front();
  const std::string a_bytes = read_file(a);
  write_file(a, read_file(b));
  write_file(b, a_bytes);
  expect_check_names({a, b});
  expect_select_fails("alice");
  expect_select_fails("bob");
}

}  // namespace
}  // namespace kalam::test
