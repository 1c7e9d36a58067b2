// The cold tier as part of the database (kalam/tables/cold_tier.h): a copy
// of the store plus copy_cold_tier() reads exactly like the source on every
// backend pair; damaged segments (truncated, a byte flipped, two users'
// files swapped) are named by verify_cold_tier() and read as CORRUPTION,
// never as someone else's rows; Tables::checkpoint carries the cold tier and
// Database::checkpoint refuses a database that has one.
#include <kalam/tables/cold_tier.h>

#include <kalam/plugin.h>
#include <kalam/test_paths.h>

#include <algorithm>
#include <fstream>
#include <tuple>

#include "cold_tier_fill.h"
#include "tables_fixture.h"

namespace kalam::tables {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

// Rows of every table of a database, as `select` shows them.
struct Contents {
  std::vector<Row> alice, bob, shared, stream;
  friend bool operator==(const Contents&, const Contents&) = default;
};

std::string dump(const std::vector<Row>& rows) {
  std::string out;
  for (const Row& r : rows) {
    out += r.user_id + "/" + r.row_id + " " + r.data.dump() + "\n";
  }
  return out;
}

Contents read_all(Tables& tables) {
  Contents c;
  auto get = [](StatusOr<std::vector<Row>> rows) {
    EXPECT_TRUE(rows.ok()) << rows.status();
    return rows.ok() ? *rows : std::vector<Row>();
  };
  c.alice = get(tables.user().scan("app", "notes", "alice"));
  c.bob = get(tables.user().scan("app", "notes", "bob"));
  c.shared = get(tables.shared().scan("app", "config"));
  c.stream = get(tables.stream().scan("app", "clicks"));
  return c;
}

// Copies every column family of `from` into `to` (what migrate and load do
// with the store).
void copy_store(Database& from, Database& to) {
  auto families = from.list_column_families();
  ASSERT_TRUE(families.ok()) << families.status();
  for (const std::string& name : *families) {
    auto source = from.column_family(name);
    auto target = to.column_family(name, /*create_if_missing=*/true);
    ASSERT_TRUE(source.ok() && target.ok());
    auto it = from.new_iterator(*source);
    ASSERT_TRUE(it.ok()) << it.status();
    WriteBatch batch;
    for (it->seek_to_first(); it->valid(); it->next()) {
      batch.put(*target, it->key(), it->value());
    }
    ASSERT_TRUE(it->status().ok()) << it->status();
    ASSERT_TRUE(to.write(batch).ok());
  }
}

class ColdTierCopy
    : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(ColdTierCopy, StoreAndColdTierCopyReadsLikeTheSource) {
  const auto& [source_backend, target_backend] = GetParam();
  test::TestDb source_db(source_backend);
  test::TestDb target_db(target_backend);
  auto source = Tables::open(source_db.db(), {.background = false});
  ASSERT_TRUE(source.ok()) << source.status();
  ASSERT_NO_FATAL_FAILURE(test::fill_with_cold_tier(**source));
  const Contents expected = read_all(**source);
  ASSERT_EQ(expected.alice.size(), 12u);  // 12 - 1 deleted + 1 hot
  ASSERT_EQ(expected.bob.size(), 11u);

  auto before = (*source)->verify_cold_tier();
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_TRUE(before->ok()) << before->damage.front();
  // alice, bob (2 segments each), the shared table (1).
  ASSERT_EQ(before->partitions.size(), 3u) << before->to_string();
  EXPECT_EQ(before->segments, 5u);

  ASSERT_NO_FATAL_FAILURE(copy_store(source_db.db(), target_db.db()));
  std::shared_ptr<ColdStore> target_cold =
      json_lines_cold_store(target_db.path() / "cold");
  auto copied = copy_cold_tier((*source)->cold_store(), *target_cold,
                               &(*source)->catalog());
  ASSERT_TRUE(copied.ok()) << copied.status();
  EXPECT_EQ(copied->partitions, before->partitions);

  auto target = Tables::open(target_db.db(),
                             {.cold_store = target_cold, .background = false});
  ASSERT_TRUE(target.ok()) << target.status();
  const Contents got = read_all(**target);
  EXPECT_EQ(dump(got.alice), dump(expected.alice));
  EXPECT_EQ(dump(got.bob), dump(expected.bob));
  EXPECT_EQ(dump(got.shared), dump(expected.shared));
  EXPECT_EQ(dump(got.stream), dump(expected.stream));
  auto verified = (*target)->verify_cold_tier();
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->partitions, before->partitions);

  // A second copy into a cold tier that holds segments writes nothing.
  auto again = copy_cold_tier((*source)->cold_store(), *target_cold);
  EXPECT_EQ(again.status().code(), Code::kInvalidArgument) << again.status();
}

std::vector<std::tuple<std::string, std::string>> backend_pairs() {
  std::vector<std::tuple<std::string, std::string>> out;
  for (const std::string& a : test::all_backends()) {
    for (const std::string& b : test::all_backends()) out.emplace_back(a, b);
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(
    Pairs, ColdTierCopy, ::testing::ValuesIn(backend_pairs()),
    [](const ::testing::TestParamInfo<std::tuple<std::string, std::string>>&
           pair) {
      return std::get<0>(pair.param) + "_to_" + std::get<1>(pair.param);
    });

// --- Damage ------------------------------------------------------------------

class ColdTierDamage : public TablesTest {
 protected:
  void SetUp() override {
    TablesTest::SetUp();
    ASSERT_NO_FATAL_FAILURE(test::fill_with_cold_tier(*tables_));
  }

  // The segment files of `user` of app.notes, oldest first.
  std::vector<fs::path> segments_of(const std::string& user) {
    std::vector<fs::path> out;
    for (const auto& entry : fs::recursive_directory_iterator(cold_dir())) {
      if (entry.is_regular_file() &&
          entry.path().parent_path().filename() == user) {
        out.push_back(entry.path());
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  static std::string read(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  static void write(const fs::path& file, const std::string& bytes) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << bytes;
  }

  // verify_cold_tier() reports damage naming `file`.
  void expect_damage_named(const fs::path& file) {
    auto report = tables_->verify_cold_tier();
    ASSERT_TRUE(report.ok()) << report.status();
    ASSERT_FALSE(report->ok()) << report->to_string();
    bool named = false;
    for (const Status& s : report->damage) {
      EXPECT_EQ(s.code(), Code::kCorruption) << s;
      named = named || s.message().find(file.string()) != std::string::npos;
    }
    EXPECT_TRUE(named) << report->damage.front();
  }
};

TEST_P(ColdTierDamage, TruncatedSegmentIsNamedAndReadsAsCorruption) {
  const fs::path file = segments_of("alice").front();
  const std::string bytes = read(file);
  write(file, bytes.substr(0, bytes.size() / 2));
  expect_damage_named(file);
  EXPECT_EQ(users().scan("app", "notes", "alice").status().code(),
            Code::kCorruption);
  EXPECT_EQ(users().get("app", "notes", "alice", "7").status().code(),
            Code::kCorruption);
  // Bob's rows are untouched.
  EXPECT_TRUE(users().scan("app", "notes", "bob").ok());
}

TEST_P(ColdTierDamage, FlippedByteIsCaughtByTheChecksum) {
  const fs::path file = segments_of("alice").front();
  std::string bytes = read(file);
  // A byte inside a row's title: still valid JSON, so only the checksum
  // can tell.
  const size_t at = bytes.find("alice note 7");
  ASSERT_NE(at, std::string::npos);
  bytes[at] = 'A';
  write(file, bytes);
  expect_damage_named(file);
  auto scan = users().scan("app", "notes", "alice");
  EXPECT_EQ(scan.status().code(), Code::kCorruption) << scan.status();
  EXPECT_THAT(scan.status().message(), HasSubstr(file.string()));
  EXPECT_EQ(users().get("app", "notes", "alice", "7").status().code(),
            Code::kCorruption);
}

TEST_P(ColdTierDamage, SwappedUsersSegmentsNeverShowAnotherUsersRows) {
  const fs::path a = segments_of("alice").front();
  const fs::path b = segments_of("bob").front();
  const std::string a_bytes = read(a);
  write(a, read(b));
  write(b, a_bytes);
  expect_damage_named(a);
  expect_damage_named(b);
  for (const char* user : {"alice", "bob"}) {
    auto scan = users().scan("app", "notes", user);
    EXPECT_EQ(scan.status().code(), Code::kCorruption) << scan.status();
    auto get = users().get("app", "notes", user, "8");
    EXPECT_EQ(get.status().code(), Code::kCorruption) << get.status();
  }
  auto all = users().scan_all("app", "notes");
  EXPECT_EQ(all.status().code(), Code::kCorruption) << all.status();
  // A damaged source is never copied.
  std::shared_ptr<ColdStore> target =
      json_lines_cold_store(db_->path() / "cold-copy");
  auto copied = copy_cold_tier(tables_->cold_store(), *target, &catalog());
  EXPECT_EQ(copied.status().code(), Code::kCorruption) << copied.status();
  auto empty = target->empty();
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(*empty);
}

TEST_P(ColdTierDamage, VersionOneSegmentsWithoutChecksumStillRead) {
  // A segment as version 1 wrote it: no "crc32" in the header.
  const fs::path file = segments_of("alice").front();
  std::string bytes = read(file);
  const size_t eol = bytes.find('\n');
  auto header = json::parse(bytes.substr(0, eol));
  header.erase("crc32");
  header["version"] = 1;
  write(file, header.dump() + bytes.substr(eol));
  auto scan = users().scan("app", "notes", "alice");
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_EQ(scan->size(), 12u);
  auto report = tables_->verify_cold_tier();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok());
}

// --- Checkpoints -------------------------------------------------------------

TEST_P(ColdTierDamage, CheckpointCarriesTheColdTier) {
  const fs::path copy = db_->path().parent_path() / "checkpoint";
  // The store alone would lose every flushed row: refused.
  Status store_only = db_->db().checkpoint(copy);
  EXPECT_EQ(store_only.code(), Code::kNotSupported) << store_only;
  EXPECT_FALSE(fs::exists(copy));
  if (!db_->plugin().has(KALAM_CAP_CHECKPOINT)) {
    EXPECT_EQ(tables_->checkpoint(copy).status().code(), Code::kNotSupported);
    GTEST_SKIP() << GetParam() << " does not declare checkpoint";
  }
  const Contents expected = read_all(*tables_);
  auto report = tables_->checkpoint(copy);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->segments, 5u);
  auto plugin = load_plugin(GetParam(), {KALAM_TEST_PLUGIN_DIR});
  ASSERT_TRUE(plugin.ok()) << plugin.status();
  auto reopened = Database::open(*plugin, copy, {});
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  {
    auto tables = Tables::open(**reopened, {.background = false});
    ASSERT_TRUE(tables.ok()) << tables.status();
    const Contents got = read_all(**tables);
    EXPECT_EQ(dump(got.alice), dump(expected.alice));
    EXPECT_EQ(dump(got.bob), dump(expected.bob));
    EXPECT_EQ(dump(got.shared), dump(expected.shared));
  }
  EXPECT_TRUE((*reopened)->close().ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, ColdTierDamage,
                         ::testing::ValuesIn(test::all_backends()),
                         test::backend_name);

}  // namespace
}  // namespace kalam::tables
