// Flushes and hybrid reads, on every backend: rows move to JSON Lines
// segments per user, reads merge cold and hot (hot wins, tombstones hide),
// rows changed during a flush stay hot, and a failure or crash at any step
// loses no row and shows none twice.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <map>
#include <thread>

#include "tables_fixture.h"

namespace kalam::tables {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

const Schema kNotes{.columns = {{"id", ColumnType::kInt64, false},
                                {"title", ColumnType::kString, false},
                                {"stars", ColumnType::kInt64, true}},
                    .primary_key = "id"};

json note(int64_t id, const std::string& title) {
  return {{"id", id}, {"title", title}, {"stars", nullptr}};
}

// The lines of a file, each parsed as JSON.
std::vector<json> json_lines(const fs::path& path) {
  std::vector<json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    out.push_back(json::parse(line));
  }
  return out;
}

// The segment files under `dir`, sorted.
std::vector<fs::path> segments(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".jsonl") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A cold store that forwards every call to another one; the stores below
// change one call each.
class ForwardingColdStore : public ColdStore {
 public:
  explicit ForwardingColdStore(std::shared_ptr<ColdStore> inner)
      : inner_(std::move(inner)) {}
  Status write_segment(const ColdPartition& p,
                       Span<const ColdRecord> r) override {
    return inner_->write_segment(p, r);
  }
  StatusOr<std::vector<std::unique_ptr<ColdSegmentReader>>> open_segments(
      const ColdPartition& p) override {
    return inner_->open_segments(p);
  }
  StatusOr<bool> has_segments(const ColdPartition& p) override {
    return inner_->has_segments(p);
  }
  StatusOr<size_t> segment_count(const ColdPartition& p) override {
    return inner_->segment_count(p);
  }
  Status replace_segments(const ColdPartition& p,
                          Span<const ColdRecord> r) override {
    return inner_->replace_segments(p, r);
  }
  StatusOr<std::vector<std::string>> users(const ColdPartition& t) override {
    return inner_->users(t);
  }
  Status drop_table(const ColdPartition& t) override {
    return inner_->drop_table(t);
  }
  StatusOr<bool> empty() override { return inner_->empty(); }
  Status clear() override { return inner_->clear(); }

 private:
  std::shared_ptr<ColdStore> inner_;
};

// Fails the Nth write_segment call (0-based) with IO_ERROR.
class FailingColdStore : public ForwardingColdStore {
 public:
  FailingColdStore(std::shared_ptr<ColdStore> inner, int fail_at)
      : ForwardingColdStore(std::move(inner)), fail_at_(fail_at) {}
  Status write_segment(const ColdPartition& p,
                       Span<const ColdRecord> r) override {
    if (calls_++ == fail_at_) {
      return Status(Code::kIoError, "injected: write_segment failed");
    }
    return ForwardingColdStore::write_segment(p, r);
  }

 private:
  std::atomic<int> calls_{0};
  const int fail_at_;
};

// Runs `before` ahead of every replace_segments call, and fails the call
// with IO_ERROR (before it changes anything) while `fail` is set.
class CompactionHookStore : public ForwardingColdStore {
 public:
  CompactionHookStore(std::shared_ptr<ColdStore> inner,
                      std::function<void()> before)
      : ForwardingColdStore(std::move(inner)), before_(std::move(before)) {}
  Status replace_segments(const ColdPartition& p,
                          Span<const ColdRecord> r) override {
    before_();
    if (fail) return Status(Code::kIoError, "injected: compaction failed");
    return ForwardingColdStore::replace_segments(p, r);
  }
  std::atomic<bool> fail{false};

 private:
  std::function<void()> before_;
};

class FlushTest : public TablesTest {
 protected:
  void SetUp() override {
    TablesTest::SetUp();
    info_ = make_table("app", "notes", TableKind::kUser, kNotes);
  }

  void put(const std::string& user, int64_t id, const std::string& title) {
    auto s = users().put("app", "notes", user, note(id, title));
    ASSERT_TRUE(s.ok()) << s.status();
  }

  fs::path user_dir(const std::string& user) const {
    return cold_dir() / "app" / ("notes-" + std::to_string(info_.id)) /
           "users" / user;
  }

  // Every user's rows as (user, id) -> data, read through scan_all, and
  // checked to agree with per-user scans and gets.
  std::map<std::pair<std::string, std::string>, json> table() {
    std::map<std::pair<std::string, std::string>, json> out;
    auto all = users().scan_all("app", "notes");
    EXPECT_TRUE(all.ok()) << all.status();
    if (!all.ok()) return out;
    for (const Row& r : *all) {
      EXPECT_TRUE(
          out.emplace(std::make_pair(r.user_id, r.row_id), r.data).second)
          << "row " << r.user_id << "/" << r.row_id << " seen twice";
      auto got = users().get("app", "notes", r.user_id, r.row_id);
      EXPECT_TRUE(got.ok()) << got.status();
      if (got.ok()) {
        EXPECT_EQ(got->data, r.data);
      }
    }
    for (const std::string user : {"alice", "bob", "carol"}) {
      auto mine = users().scan("app", "notes", user);
      EXPECT_TRUE(mine.ok()) << mine.status();
      if (!mine.ok()) continue;
      for (const Row& r : *mine) {
        EXPECT_EQ(r.user_id, user);
        EXPECT_EQ(out[std::make_pair(user, r.row_id)], r.data);
      }
    }
    return out;
  }

  TableInfo info_;
};

TEST_P(FlushTest, MovesRowsToOneSegmentPerUserAndReadsStayTheSame) {
  put("alice", 1, "a1");
  put("alice", 2, "a2");
  put("alice", 3, "a3");
  put("bob", 1, "b1");
  put("bob", 7, "b7");
  const auto before = table();
  ASSERT_EQ(before.size(), 5u);

  auto flushed = tables_->flush("app", "notes");
  ASSERT_TRUE(flushed.ok()) << flushed.status();
  EXPECT_EQ(flushed->rows, 5u);
  EXPECT_EQ(flushed->deletions, 0u);
  EXPECT_EQ(flushed->segments, 2u);
  EXPECT_EQ(flushed->removed, 5u);
  EXPECT_EQ(flushed->kept, 0u);

  EXPECT_TRUE(raw_table(info_.id).empty()) << "every row left the hot store";
  EXPECT_EQ(table(), before);

  // The segments are plain JSON Lines: a header, then the rows in id order.
  auto alice = segments(user_dir("alice"));
  ASSERT_EQ(alice.size(), 1u);
  auto lines = json_lines(alice[0]);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0]["format"], "kalam.segment");
  EXPECT_EQ(lines[0]["user"], "alice");
  EXPECT_EQ(lines[0]["table"], "notes");
  EXPECT_EQ(lines[0]["records"], 3);
  EXPECT_EQ(lines[1]["id"], "1");
  EXPECT_EQ(lines[1]["row"], note(1, "a1"));
  EXPECT_EQ(lines[3]["id"], "3");
  ASSERT_EQ(segments(user_dir("bob")).size(), 1u);

  // Each user still sees only their own rows.
  auto bob = users().scan("app", "notes", "bob");
  ASSERT_TRUE(bob.ok()) << bob.status();
  ASSERT_EQ(bob->size(), 2u);
  EXPECT_EQ((*bob)[1].data, note(7, "b7"));
  EXPECT_EQ(users().get("app", "notes", "bob", "2").status().code(),
            Code::kNotFound);
  EXPECT_EQ(users().get("app", "notes", "carol", "1").status().code(),
            Code::kNotFound);

  if (db_->persistent()) {
    reopen();
    EXPECT_EQ(table(), before);
  }
}

TEST_P(FlushTest, UpdatesAndDeletesAfterAFlushWinOverColdRows) {
  put("alice", 1, "a1");
  put("alice", 2, "a2");
  put("alice", 3, "a3");
  ASSERT_TRUE(tables_->flush("app", "notes").ok());

  auto updated = users().update("app", "notes", "alice", "1", {{"stars", 5}});
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->data["title"], "a1") << "merged with the cold row";
  ASSERT_TRUE(users().del("app", "notes", "alice", "2").ok());
  EXPECT_EQ(users().del("app", "notes", "alice", "2").code(), Code::kNotFound);
  EXPECT_EQ(users().get("app", "notes", "alice", "2").status().code(),
            Code::kNotFound);
  EXPECT_EQ(users()
                .update("app", "notes", "alice", "2", {{"stars", 1}})
                .status()
                .code(),
            Code::kNotFound);
  put("alice", 4, "a4");

  json expected_1 = note(1, "a1");
  expected_1["stars"] = 5;
  const std::map<std::pair<std::string, std::string>, json> expected = {
      {{"alice", "1"}, expected_1},
      {{"alice", "3"}, note(3, "a3")},
      {{"alice", "4"}, note(4, "a4")}};
  EXPECT_EQ(table(), expected);
  // Hot: the newer version of 1, the tombstone of 2, and 4.
  EXPECT_EQ(raw_table(info_.id).size(), 3u);

  // The next flush carries the update and the deletion to cold storage.
  auto second = users().flush("app", "notes");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->rows, 2u);
  EXPECT_EQ(second->deletions, 1u);
  EXPECT_TRUE(raw_table(info_.id).empty());
  EXPECT_EQ(segments(user_dir("alice")).size(), 2u);
  EXPECT_EQ(table(), expected);
  if (db_->persistent()) {
    reopen();
    EXPECT_EQ(table(), expected);
  }
}

TEST_P(FlushTest, RowsChangedWhileTheFlushRunsStayHot) {
  for (int64_t id = 1; id <= 4; ++id) put("alice", id, "v1");
  {
    auto batch = users().flush_batch("app", "notes");
    ASSERT_TRUE(batch.ok()) << batch.status();
    ASSERT_EQ(batch->entries().size(), 4u);
    EXPECT_EQ(batch->entries()[0].user_id, "alice");
    EXPECT_EQ(batch->entries()[0].row_id, "1");

    // While the batch is out: update 1, delete 2, replace 3 by a put, add 5.
    ASSERT_TRUE(
        users().update("app", "notes", "alice", "1", {{"title", "v2"}}).ok());
    ASSERT_TRUE(users().del("app", "notes", "alice", "2").ok());
    put("alice", 3, "v2");
    put("alice", 5, "v1");

    ASSERT_TRUE(users().write_cold(*batch).ok());
    auto result = users().delete_flushed(*batch);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->removed, 1u) << "only row 4 was unchanged";
    EXPECT_EQ(result->kept, 3u);
  }  // drops the batch, and with it the flush lock

  const std::map<std::pair<std::string, std::string>, json> expected = {
      {{"alice", "1"}, note(1, "v2")},
      {{"alice", "3"}, note(3, "v2")},
      {{"alice", "4"}, note(4, "v1")},
      {{"alice", "5"}, note(5, "v1")}};
  EXPECT_EQ(table(), expected) << "row 2 stays deleted though it is cold";
  ASSERT_TRUE(users().flush("app", "notes").ok());
  EXPECT_EQ(table(), expected);
  EXPECT_TRUE(raw_table(info_.id).empty());
}

TEST_P(FlushTest, DeleteFlushedRefusesRowsNotWrittenToColdStorage) {
  put("alice", 1, "a1");
  auto batch = users().flush_batch("app", "notes");
  ASSERT_TRUE(batch.ok()) << batch.status();
  auto refused = users().delete_flushed(*batch);
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("write_cold"));
  EXPECT_EQ(raw_table(info_.id).size(), 1u);
}

TEST_P(FlushTest, AFailureOrCrashAtEveryStepLosesNoRowAndShowsNoneTwice) {
  // Three users, so a flush writes three segments; then each step in turn
  // fails (or the process "crashes" after it), and the table must read the
  // same every time; finally a clean flush moves everything.
  std::map<std::pair<std::string, std::string>, json> expected;
  int64_t next_id = 1;
  auto add_rows = [&] {
    for (const std::string user : {"alice", "bob", "carol"}) {
      put(user, next_id, user + std::to_string(next_id));
      expected[{user, std::to_string(next_id)}] =
          note(next_id, user + std::to_string(next_id));
    }
    ++next_id;
  };
  auto real_cold = json_lines_cold_store(cold_dir());
  for (int fail_at = 0; fail_at < 3; ++fail_at) {
    add_rows();
    // An error in the k-th segment write.
    options_.cold_store =
        std::make_shared<FailingColdStore>(real_cold, fail_at);
    tables_.reset();
    open_tables();
    auto failed = tables_->flush("app", "notes");
    EXPECT_EQ(failed.status().code(), Code::kIoError) << failed.status();
    EXPECT_THAT(failed.status().message(), HasSubstr("injected"));
    EXPECT_EQ(table(), expected) << "after a failed segment " << fail_at;
    // The same table keeps working after the error.
    add_rows();
    EXPECT_EQ(table(), expected);
  }
  options_.cold_store = real_cold;
  tables_.reset();
  open_tables();
  // A crash after step 1 (nothing written) and after step 2 (all written,
  // nothing deleted).
  for (int crash_after = 1; crash_after <= 2; ++crash_after) {
    {
      auto batch = users().flush_batch("app", "notes");
      ASSERT_TRUE(batch.ok()) << batch.status();
      if (crash_after == 2) {
        ASSERT_TRUE(users().write_cold(*batch).ok());
      }
    }
    if (db_->persistent()) {
      reopen();
    } else {
      tables_.reset();
      open_tables();
    }
    EXPECT_EQ(table(), expected) << "after a crash after step " << crash_after;
  }
  // A segment write that crashed half way leaves a temporary file behind.
  {
    fs::create_directories(user_dir("bob"));
    std::ofstream partial(user_dir("bob") /
                          "00000000000000000099.jsonl.tmp-1-1");
    partial << "{\"format\":\"kalam.segment\",\"version\":1,\"rec";
  }
  EXPECT_EQ(table(), expected);
  auto flushed = tables_->flush("app", "notes");
  ASSERT_TRUE(flushed.ok()) << flushed.status();
  EXPECT_EQ(flushed->kept, 0u);
  EXPECT_TRUE(raw_table(info_.id).empty());
  EXPECT_EQ(table(), expected);
  if (db_->persistent()) {
    reopen();
    EXPECT_EQ(table(), expected);
  }
}

TEST_P(FlushTest, SharedTablesFlushToOneSegmentPerFlush) {
  const TableInfo config =
      make_table("app", "config", TableKind::kShared,
                 {.columns = {{"key", ColumnType::kString, false},
                              {"value", ColumnType::kJson, true}},
                  .primary_key = "key"});
  ASSERT_TRUE(shared().put("app", "config", {{"key", "a"}, {"value", 1}}).ok());
  ASSERT_TRUE(shared().put("app", "config", {{"key", "b"}, {"value", 2}}).ok());
  auto flushed = shared().flush("app", "config");
  ASSERT_TRUE(flushed.ok()) << flushed.status();
  EXPECT_EQ(flushed->segments, 1u);
  EXPECT_EQ(segments(cold_dir() / "app" /
                     ("config-" + std::to_string(config.id)) / "shared")
                .size(),
            1u);
  ASSERT_TRUE(shared().update("app", "config", "a", {{"value", 10}}).ok());
  ASSERT_TRUE(shared().del("app", "config", "b").ok());
  auto rows = shared().scan("app", "config");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].data["value"], 10);
  // The wrong store, and a kind that does not flush, are refused by name.
  EXPECT_EQ(users().flush("app", "config").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(tables_->flush("system", "tables").status().code(),
            Code::kInvalidArgument);
}

TEST_P(FlushTest, SharedTablesCompactToo) {
  options_.max_cold_segments = 2;
  tables_.reset();
  open_tables();
  const TableInfo config =
      make_table("app", "config", TableKind::kShared,
                 {.columns = {{"key", ColumnType::kString, false},
                              {"value", ColumnType::kJson, true}},
                  .primary_key = "key"});
  const fs::path dir =
      cold_dir() / "app" / ("config-" + std::to_string(config.id)) / "shared";
  uint64_t compactions = 0;
  for (int round = 0; round < 6; ++round) {
    ASSERT_TRUE(
        shared()
            .put("app", "config",
                 {{"key", "k" + std::to_string(round)}, {"value", round}})
            .ok());
    if (round > 0) {  // the previous round's row, now cold
      ASSERT_TRUE(
          shared().del("app", "config", "k" + std::to_string(round - 1)).ok());
    }
    auto flushed = shared().flush("app", "config");
    ASSERT_TRUE(flushed.ok()) << flushed.status();
    compactions += flushed->compacted;
    EXPECT_LE(segments(dir).size(), 2u) << "round " << round;
    auto rows = shared().scan("app", "config");
    ASSERT_TRUE(rows.ok()) << rows.status();
    ASSERT_EQ(rows->size(), 1u) << "round " << round;
    EXPECT_EQ((*rows)[0].data["value"], round);
  }
  EXPECT_GE(compactions, 2u);
}

TEST_P(FlushTest, DroppingATableRemovesItsSegmentsAndANewOneStartsEmpty) {
  put("alice", 1, "a1");
  ASSERT_TRUE(tables_->flush("app", "notes").ok());
  const fs::path dir = user_dir("alice").parent_path().parent_path();
  ASSERT_TRUE(fs::exists(dir));
  ASSERT_TRUE(catalog().drop_table("app", "notes").ok());
  EXPECT_FALSE(fs::exists(dir));
  make_table("app", "notes", TableKind::kUser, kNotes);
  auto rows = users().scan_all("app", "notes");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_TRUE(rows->empty());
}

TEST_P(FlushTest, ADamagedSegmentReadsAsCorruptionNamingTheFile) {
  put("alice", 1, "a1");
  put("alice", 2, "a2");
  ASSERT_TRUE(tables_->flush("app", "notes").ok());
  auto files = segments(user_dir("alice"));
  ASSERT_EQ(files.size(), 1u);
  {
    std::ofstream out(files[0], std::ios::app);
    out << "{\"id\": 3, garbage\n";
  }
  auto rows = users().scan("app", "notes", "alice");
  EXPECT_EQ(rows.status().code(), Code::kCorruption) << rows.status();
  EXPECT_THAT(rows.status().message(), HasSubstr(files[0].filename().string()));
  fs::resize_file(files[0], 10);
  EXPECT_EQ(users().get("app", "notes", "alice", "1").status().code(),
            Code::kCorruption);
}

TEST_P(FlushTest, TheBackgroundWorkerFlushesByRowCount) {
  tables_.reset();
  options_.background = true;
  options_.background_interval = std::chrono::milliseconds(20);
  open_tables();
  ASSERT_TRUE(catalog()
                  .create_table({.ns = "app",
                                 .name = "inbox",
                                 .kind = TableKind::kUser,
                                 .schema = kNotes,
                                 .options = {.flush = {.row_count = 3}}})
                  .ok());
  const TableInfo inbox = *catalog().describe_table("app", "inbox");
  for (int64_t id = 1; id <= 2; ++id) {
    ASSERT_TRUE(users().put("app", "inbox", "u", note(id, "x")).ok());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(raw_table(inbox.id).size(), 2u) << "below the threshold";
  ASSERT_TRUE(users().put("app", "inbox", "u", note(3, "x")).ok());
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!raw_table(inbox.id).empty() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(raw_table(inbox.id).empty()) << "flushed in the background";
  auto rows = users().scan("app", "inbox", "u");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->size(), 3u);
  EXPECT_TRUE(tables_->background_status().ok())
      << tables_->background_status();
}

TEST_P(FlushTest, TheBackgroundWorkerFlushesByInterval) {
  tables_.reset();
  options_.background = true;
  options_.background_interval = std::chrono::milliseconds(20);
  open_tables();
  ASSERT_TRUE(
      catalog()
          .create_table(
              {.ns = "app",
               .name = "daily",
               .kind = TableKind::kUser,
               .schema = kNotes,
               .options = {.flush = {.interval =
                                         std::chrono::milliseconds(100)}}})
          .ok());
  const TableInfo daily = *catalog().describe_table("app", "daily");
  ASSERT_TRUE(users().put("app", "daily", "u", note(1, "x")).ok());
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!raw_table(daily.id).empty() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(raw_table(daily.id).empty())
      << "flushed once the interval passed";
  auto row = users().get("app", "daily", "u", "1");
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ(row->data, note(1, "x"));
}

TEST_P(FlushTest, ANewCatalogBesideOldSegments) {
  put("alice", 1, "a1");
  ASSERT_TRUE(tables_->flush("app", "notes").ok());
  // Another, new database pointed at these segments.
  test::TestDb other(GetParam());
  TablesOptions options{.cold_store = json_lines_cold_store(cold_dir()),
                        .background = false};
  auto opened = Tables::open(other.db(), options);
  if (other.persistent()) {
    // Refused: the segments would show up in its tables.
    EXPECT_EQ(opened.status().code(), Code::kInvalidArgument);
    EXPECT_THAT(opened.status().message(), HasSubstr("cold storage"));
    EXPECT_FALSE(segments(user_dir("alice")).empty()) << "nothing removed";
  } else {
    // A memory database starts empty: its old segments are removed.
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_TRUE(segments(user_dir("alice")).empty());
  }
}

// A model of the notes table: (user, id) -> row.
using NotesModel = std::map<std::pair<std::string, std::string>, json>;

TEST_P(FlushTest, CompactionKeepsAPartitionWithinMaxColdSegments) {
  options_.max_cold_segments = 3;
  tables_.reset();
  open_tables();
  NotesModel expected;
  auto put_row = [&](const std::string& user, int64_t id,
                     const std::string& title) {
    put(user, id, title);
    expected[{user, std::to_string(id)}] = note(id, title);
  };
  auto del_row = [&](const std::string& user, int64_t id) {
    ASSERT_TRUE(users().del("app", "notes", user, std::to_string(id)).ok());
    expected.erase({user, std::to_string(id)});
  };
  put_row("carol", 1, "c1");
  put_row("carol", 2, "c2");
  uint64_t compactions = 0;
  int alice_compactions = 0;
  for (int round = 0; round < 12; ++round) {
    // New rows, updates of cold rows and deletions of cold rows, so every
    // segment holds rows and deletion records that shadow older segments.
    put_row("alice", 100 + round, "new" + std::to_string(round));
    put_row("alice", round % 5, "v" + std::to_string(round));
    if (round >= 2) del_row("alice", 100 + round - 2);
    if (round % 3 == 0) put_row("bob", round, "b");
    if (round == 1) {
      del_row("carol", 1);
      del_row("carol", 2);
    }
    if (round > 1) {  // a row of carol's that comes and goes
      put("carol", 3, "c3");
      ASSERT_TRUE(users().del("app", "notes", "carol", "3").ok());
    }
    const size_t alice_before = segments(user_dir("alice")).size();
    auto flushed = users().flush("app", "notes");
    ASSERT_TRUE(flushed.ok()) << flushed.status();
    compactions += flushed->compacted;
    for (const std::string user : {"alice", "bob", "carol"}) {
      EXPECT_LE(segments(user_dir(user)).size(), 3u)
          << user << " after round " << round;
    }
    // When alice's 3 segments and the new one were merged, the result is
    // one segment of live rows: no deletion record is left.
    if (alice_before == 3) {
      auto merged = segments(user_dir("alice"));
      ASSERT_EQ(merged.size(), 1u) << "after round " << round;
      const std::vector<json> lines = json_lines(merged[0]);
      const auto alice_rows = std::count_if(
          expected.begin(), expected.end(),
          [](const auto& row) { return row.first.first == "alice"; });
      EXPECT_EQ(lines.size(), 1u + alice_rows) << "the header and each row";
      for (const json& line : lines) {
        EXPECT_FALSE(line.contains("deleted")) << line.dump();
      }
      ++alice_compactions;
    }
    ASSERT_EQ(table(), expected) << "after round " << round;
  }
  EXPECT_GE(compactions, 3u);
  EXPECT_GE(alice_compactions, 3u);
  // carol has no row left, and compaction left her no segment at all: her
  // rows now delete outright, with no tombstone.
  EXPECT_TRUE(segments(user_dir("carol")).empty());
  put("carol", 9, "c9");
  ASSERT_TRUE(users().del("app", "notes", "carol", "9").ok());
  EXPECT_EQ(users().get("app", "notes", "carol", "9").status().code(),
            Code::kNotFound);
  EXPECT_EQ(table(), expected);
  if (db_->persistent()) {
    reopen();
    EXPECT_EQ(table(), expected);
  }
}

TEST_P(FlushTest, ACrashAtAnyPointOfACompactionReadsTheSame) {
  // Old segments kept as they were just before the compaction removed them.
  std::map<fs::path, std::string> old_segments;
  auto snapshot = [&] {
    for (const fs::path& path : segments(user_dir("alice"))) {
      std::ifstream in(path, std::ios::binary);
      old_segments[path] = std::string(std::istreambuf_iterator<char>(in), {});
    }
  };
  options_.cold_store = std::make_shared<CompactionHookStore>(
      json_lines_cold_store(cold_dir()), snapshot);
  options_.max_cold_segments = 4;
  tables_.reset();
  open_tables();
  // Segment 1 holds rows 1-6; later ones update and delete them, so removing
  // a newer segment before an older one would bring a deleted row back.
  for (int64_t id = 1; id <= 6; ++id) put("alice", id, "v1");
  ASSERT_TRUE(tables_->flush("app", "notes").ok());
  ASSERT_TRUE(users().del("app", "notes", "alice", "2").ok());
  put("alice", 3, "v2");
  ASSERT_TRUE(tables_->flush("app", "notes").ok());
  ASSERT_TRUE(users().del("app", "notes", "alice", "4").ok());
  put("alice", 7, "v1");
  ASSERT_TRUE(tables_->flush("app", "notes").ok());
  ASSERT_TRUE(users().del("app", "notes", "alice", "1").ok());
  put("alice", 3, "v3");
  ASSERT_TRUE(tables_->flush("app", "notes").ok());
  EXPECT_TRUE(old_segments.empty()) << "4 segments: no compaction yet";
  put("alice", 8, "v1");
  ASSERT_TRUE(users().del("app", "notes", "alice", "7").ok());
  auto flushed = tables_->flush("app", "notes");
  ASSERT_TRUE(flushed.ok()) << flushed.status();
  EXPECT_EQ(flushed->compacted, 1u);
  ASSERT_EQ(old_segments.size(), 5u);
  const NotesModel expected = {{{"alice", "3"}, note(3, "v3")},
                               {{"alice", "5"}, note(5, "v1")},
                               {{"alice", "6"}, note(6, "v1")},
                               {{"alice", "8"}, note(8, "v1")}};
  ASSERT_EQ(table(), expected);
  auto after = segments(user_dir("alice"));
  ASSERT_EQ(after.size(), 1u);
  EXPECT_GT(after[0], old_segments.rbegin()->first) << "the newest segment";
  EXPECT_TRUE(raw_table(info_.id).empty()) << "every row is cold";

  // A crash after the merged segment was written and the `removed` oldest
  // old segments were unlinked: the old segments left read the same.
  auto restore_from = [&](size_t removed) {
    size_t i = 0;
    for (const auto& [path, text] : old_segments) {
      if (i++ < removed) continue;
      std::ofstream out(path, std::ios::binary);
      out << text;
    }
  };
  for (size_t removed = 0; removed <= old_segments.size(); ++removed) {
    restore_from(removed);
    EXPECT_EQ(table(), expected) << removed << " old segments removed";
    for (const auto& [path, text] : old_segments) fs::remove(path);
  }
  // The order matters: had segment 2 (which deletes row 2) gone before
  // segment 1, row 2 would be back.
  {
    std::ofstream out(old_segments.begin()->first, std::ios::binary);
    out << old_segments.begin()->second;
  }
  EXPECT_TRUE(table().contains({"alice", "2"}));
  fs::remove(old_segments.begin()->first);
  if (db_->persistent()) {
    reopen();
    EXPECT_EQ(table(), expected);
  }
}

TEST_P(FlushTest, AFailedCompactionFailsTheFlushAndLosesNothing) {
  auto hook = std::make_shared<CompactionHookStore>(
      json_lines_cold_store(cold_dir()), [] {});
  options_.cold_store = hook;
  options_.max_cold_segments = 1;
  tables_.reset();
  open_tables();
  put("alice", 1, "a1");
  put("bob", 1, "b1");
  ASSERT_TRUE(tables_->flush("app", "notes").ok());
  put("alice", 2, "a2");
  ASSERT_TRUE(users().del("app", "notes", "alice", "1").ok());
  const NotesModel expected = {{{"alice", "2"}, note(2, "a2")},
                               {{"bob", "1"}, note(1, "b1")}};
  hook->fail = true;
  auto failed = tables_->flush("app", "notes");
  EXPECT_EQ(failed.status().code(), Code::kIoError) << failed.status();
  EXPECT_THAT(failed.status().message(),
              HasSubstr("compact the cold segments of user 'alice'"));
  EXPECT_EQ(table(), expected);
  EXPECT_FALSE(raw_table(info_.id).empty()) << "the rows are still hot";
  hook->fail = false;
  auto flushed = tables_->flush("app", "notes");
  ASSERT_TRUE(flushed.ok()) << flushed.status();
  EXPECT_EQ(flushed->compacted, 1u);
  EXPECT_EQ(segments(user_dir("alice")).size(), 1u);
  EXPECT_TRUE(raw_table(info_.id).empty());
  EXPECT_EQ(table(), expected);
}

TEST_P(FlushTest, AScanOpenedBeforeACompactionReadsWhatItOpened) {
  options_.max_cold_segments = 1;
  tables_.reset();
  open_tables();
  for (int64_t id = 1; id <= 50; ++id) put("alice", id, "v1");
  ASSERT_TRUE(tables_->flush("app", "notes").ok());
  auto cursor = users().iter("app", "notes", "alice");
  ASSERT_TRUE(cursor.ok()) << cursor.status();
  // Every row updated and flushed: the compaction unlinks the segment the
  // cursor has open.
  for (int64_t id = 1; id <= 50; ++id) put("alice", id, "v2");
  auto flushed = tables_->flush("app", "notes");
  ASSERT_TRUE(flushed.ok()) << flushed.status();
  ASSERT_EQ(flushed->compacted, 1u);
  int64_t next_id = 1;
  while (cursor->next()) {
    EXPECT_EQ(cursor->row().data, note(next_id, "v1"));
    ++next_id;
  }
  EXPECT_TRUE(cursor->status().ok()) << cursor->status();
  EXPECT_EQ(next_id, 51) << "every row the cursor opened";
  auto now = users().scan("app", "notes", "alice");
  ASSERT_TRUE(now.ok()) << now.status();
  ASSERT_EQ(now->size(), 50u);
  EXPECT_EQ(now->back().data, note(50, "v2"));
}

TEST_P(FlushTest, ConcurrentScansDuringFlushesAndCompactionsSeeEveryRow) {
  options_.max_cold_segments = 2;
  tables_.reset();
  open_tables();
  constexpr int kAlice = 40;
  constexpr int kBob = 10;
  for (int64_t id = 1; id <= kAlice; ++id) put("alice", id, "v0");
  for (int64_t id = 1; id <= kBob; ++id) put("bob", id, "v0");
  std::atomic<bool> done{false};
  std::atomic<int> scans{0};
  // Readers: every scan sees each row exactly once, whether it is hot, in a
  // segment being written, or in segments being merged and unlinked.
  auto reader = [&](bool all_users) {
    while (!done) {
      auto rows = all_users ? users().scan_all("app", "notes")
                            : users().scan("app", "notes", "alice");
      ASSERT_TRUE(rows.ok()) << rows.status();
      ASSERT_EQ(rows->size(), all_users ? size_t{kAlice + kBob} : kAlice);
      ++scans;
    }
  };
  std::vector<std::thread> readers;
  readers.emplace_back(reader, false);
  readers.emplace_back(reader, true);
  uint64_t compactions = 0;
  for (int round = 1; round <= 30; ++round) {
    for (int64_t id = round % 4 + 1; id <= kAlice; id += 4) {
      put("alice", id, "v" + std::to_string(round));
    }
    if (round % 5 == 0) put("bob", round % kBob + 1, "b");
    auto flushed = users().flush("app", "notes");
    ASSERT_TRUE(flushed.ok()) << flushed.status();
    compactions += flushed->compacted;
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_GE(compactions, 10u);
  EXPECT_GT(scans, 0);
}

// A row id the API accepts in a form it would not write itself ("007",
// "-0" for int64 keys, a generated id in upper-case hex) names the same row
// hot and cold: get, update and del find it after a flush as before (the
// cold lookup compared id text, so they got NOT_FOUND once it was cold),
// and every Row hands the canonical id back.
TEST_P(FlushTest, NonCanonicalRowIdsFindTheRowHotAndCold) {
  put("alice", 7, "seven");
  put("alice", 0, "zero");
  put("alice", 8, "eight");
  make_table("app", "log", TableKind::kShared,
             Schema{.columns = {{"text", ColumnType::kString, false}}});
  auto generated = shared().put("app", "log", {{"text", "g"}});
  ASSERT_TRUE(generated.ok()) << generated.status();
  std::string upper = *generated;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  ASSERT_NE(upper, *generated) << "the id has hex letters to change";

  auto check_reads = [&](const char* where) {
    SCOPED_TRACE(where);
    for (const auto& [id, canonical] :
         std::vector<std::pair<std::string, std::string>>{
             {"007", "7"}, {"+7", ""}, {"-0", "0"}, {"00", "0"}}) {
      auto row = users().get("app", "notes", "alice", id);
      if (canonical.empty()) {
        EXPECT_EQ(row.status().code(), Code::kInvalidArgument) << id;
        continue;
      }
      ASSERT_TRUE(row.ok()) << id << ": " << row.status();
      EXPECT_EQ(row->row_id, canonical);
    }
    auto g = shared().get("app", "log", upper);
    ASSERT_TRUE(g.ok()) << g.status();
    EXPECT_EQ(g->row_id, *generated);
  };
  check_reads("hot");
  ASSERT_TRUE(tables_->flush("app", "notes").ok());
  ASSERT_TRUE(tables_->flush("app", "log").ok());
  ASSERT_TRUE(raw_table(info_.id).empty()) << "every row is cold";
  check_reads("cold");

  auto updated =
      users().update("app", "notes", "alice", "0007", {{"stars", 5}});
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->row_id, "7");
  EXPECT_EQ(updated->data["stars"], 5);
  ASSERT_TRUE(users().del("app", "notes", "alice", "-0").ok());
  ASSERT_TRUE(users().del("app", "notes", "alice", "08").ok());
  EXPECT_EQ(users().get("app", "notes", "alice", "0").status().code(),
            Code::kNotFound);
  auto g_updated = shared().update("app", "log", upper, {{"text", "h"}});
  ASSERT_TRUE(g_updated.ok()) << g_updated.status();
  EXPECT_EQ(g_updated->row_id, *generated);

  // One row each, under its canonical id, whether read hot or cold.
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(
        table(),
        (std::map<std::pair<std::string, std::string>, json>{
            {{"alice", "7"}, {{"id", 7}, {"title", "seven"}, {"stars", 5}}}}));
    auto log = shared().scan("app", "log");
    ASSERT_TRUE(log.ok()) << log.status();
    ASSERT_EQ(log->size(), 1u);
    EXPECT_EQ((*log)[0].row_id, *generated);
    EXPECT_EQ((*log)[0].data, json({{"text", "h"}}));
    ASSERT_TRUE(tables_->flush("app", "notes").ok());
    ASSERT_TRUE(tables_->flush("app", "log").ok());
  }
}

// The cold directory of table `info` (every partition of it).
fs::path table_cold_dir(const fs::path& cold, const TableInfo& info) {
  return cold / info.ns / (info.name + "-" + std::to_string(info.id));
}

// drop_table (or drop_namespace) between the steps of a flush: the flush
// writes nothing for the table that is gone. (It used to re-create the
// dropped table's cold directory with a segment per user that nothing read
// or deleted.)
TEST_P(FlushTest, AFlushWritesNothingForATableDroppedDuringIt) {
  put("alice", 1, "a1");
  put("bob", 2, "b2");
  {
    auto batch = users().flush_batch("app", "notes");
    ASSERT_TRUE(batch.ok()) << batch.status();
    ASSERT_TRUE(catalog().drop_table("app", "notes").ok());
    Status written = users().write_cold(*batch);
    EXPECT_EQ(written.code(), Code::kNotFound) << written;
    EXPECT_THAT(written.message(), HasSubstr("dropped during the flush"));
    EXPECT_FALSE(fs::exists(table_cold_dir(cold_dir(), info_)));
    EXPECT_FALSE(users().delete_flushed(*batch).ok());
  }
  // A namespace dropped with its tables, while a shared table's flush had
  // written its segment: the drop removes it, and the flush's last step
  // deletes nothing.
  const TableInfo config =
      make_table("other", "config", TableKind::kShared,
                 Schema{.columns = {{"v", ColumnType::kString, false}}});
  ASSERT_TRUE(shared().put("other", "config", {{"v", "x"}}).ok());
  auto batch = shared().flush_batch("other", "config");
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_TRUE(shared().write_cold(*batch).ok());
  ASSERT_TRUE(fs::exists(table_cold_dir(cold_dir(), config)));
  ASSERT_TRUE(catalog().drop_namespace("other", {.cascade = true}).ok());
  EXPECT_FALSE(fs::exists(table_cold_dir(cold_dir(), config)));
  EXPECT_EQ(shared().delete_flushed(*batch).status().code(), Code::kNotFound);
  EXPECT_FALSE(fs::exists(table_cold_dir(cold_dir(), config)));
}

// Calls `hook` once, at the first write_segment, before it writes.
class WriteHookStore : public ForwardingColdStore {
 public:
  WriteHookStore(std::shared_ptr<ColdStore> inner, std::function<void()> hook)
      : ForwardingColdStore(std::move(inner)), hook_(std::move(hook)) {}
  Status write_segment(const ColdPartition& p,
                       Span<const ColdRecord> r) override {
    if (!called_.exchange(true)) hook_();
    return ForwardingColdStore::write_segment(p, r);
  }

 private:
  std::function<void()> hook_;
  std::atomic<bool> called_{false};
};

// A drop that starts while a flush writes its segments waits for the flush
// to finish writing, then removes what it wrote: whichever way the two
// interleave, nothing of the dropped table is left in cold storage. The
// hook gives the drop every chance to run first: it waits (bounded) for the
// drop to finish, which it can only do if flushes and drops do not exclude
// each other.
TEST_P(FlushTest, ADropDuringAFlushLeavesNoSegmentBehind) {
  std::thread dropper;
  std::mutex mu;
  std::condition_variable cv;
  bool dropped = false;
  Status drop_status;
  auto hook =
      std::make_shared<WriteHookStore>(json_lines_cold_store(cold_dir()), [&] {
        dropper = std::thread([&] {
          Status s = catalog().drop_table("app", "notes");
          std::lock_guard lock(mu);
          drop_status = s;
          dropped = true;
          cv.notify_all();
        });
        std::unique_lock lock(mu);
        cv.wait_for(lock, std::chrono::milliseconds(300),
                    [&] { return dropped; });
      });
  options_.cold_store = hook;
  tables_.reset();
  open_tables();
  put("alice", 1, "a1");
  put("bob", 2, "b2");
  auto flushed = tables_->flush("app", "notes");
  ASSERT_TRUE(dropper.joinable()) << "the flush wrote no segment";
  dropper.join();
  EXPECT_TRUE(drop_status.ok()) << drop_status;
  EXPECT_TRUE(flushed.ok() || flushed.status().is_not_found())
      << flushed.status();
  EXPECT_FALSE(fs::exists(table_cold_dir(cold_dir(), info_)))
      << "a segment of the dropped table was left behind";
  EXPECT_EQ(catalog().describe_table("app", "notes").status().code(),
            Code::kNotFound);
}

// A scan of every user that reaches a user's segments after the table was
// dropped ends with NOT_FOUND, never IO_ERROR from a segment that vanished
// and never silently without that user's rows.
TEST_P(FlushTest, AScanRacingADropEndsWithNotFound) {
  for (int64_t id = 1; id <= 3; ++id) put("alice", id, "a");
  put("bob", 1, "b");
  ASSERT_TRUE(tables_->flush("app", "notes").ok());
  auto cursor = users().iter_all("app", "notes");
  ASSERT_TRUE(cursor.ok()) << cursor.status();
  cursor->set_batch_size(1);
  ASSERT_TRUE(cursor->next()) << cursor->status();
  EXPECT_EQ(cursor->row().user_id, "alice");
  ASSERT_TRUE(catalog().drop_table("app", "notes").ok());
  size_t more = 0;
  while (cursor->next() && more < 10) ++more;
  EXPECT_EQ(cursor->status().code(), Code::kNotFound) << cursor->status();
  EXPECT_THAT(cursor->status().message(), HasSubstr("dropped"));
  EXPECT_LT(more, 3u);
  // A scan (or get) that starts after the drop: NOT_FOUND too.
  EXPECT_EQ(users().scan_all("app", "notes").status().code(), Code::kNotFound);
  EXPECT_EQ(users().get("app", "notes", "bob", "1").status().code(),
            Code::kNotFound);
}

// Writes made while a flush runs, to keys the flush did not read, count
// toward the table's row-count policy after it (delete_flushed used to set
// the count to the kept keys only, forgetting them).
TEST_P(FlushTest, WritesDuringAFlushCountTowardTheRowCountPolicy) {
  ASSERT_TRUE(catalog()
                  .create_table({.ns = "app",
                                 .name = "inbox",
                                 .kind = TableKind::kUser,
                                 .schema = kNotes,
                                 .options = {.flush = {.row_count = 3}}})
                  .ok());
  const TableInfo inbox = *catalog().describe_table("app", "inbox");
  ASSERT_TRUE(tables_->run_maintenance().ok());  // the policy sees the table
  for (int64_t id = 1; id <= 2; ++id) {
    ASSERT_TRUE(users().put("app", "inbox", "u", note(id, "x")).ok());
  }
  {  // The batch holds the flush lock until it goes.
    auto batch = users().flush_batch("app", "inbox");
    ASSERT_TRUE(batch.ok()) << batch.status();
    // During the flush: one row of the batch changes, three new ones come.
    ASSERT_TRUE(users().put("app", "inbox", "u", note(1, "changed")).ok());
    for (int64_t id = 10; id <= 12; ++id) {
      ASSERT_TRUE(users().put("app", "inbox", "u", note(id, "new")).ok());
    }
    ASSERT_TRUE(users().write_cold(*batch).ok());
    auto result = users().delete_flushed(*batch);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->removed, 1u);
    EXPECT_EQ(result->kept, 1u);
  }
  // Four writes since the flush read the table: the policy (3) is due.
  ASSERT_EQ(raw_table(inbox.id).size(), 4u);
  ASSERT_TRUE(tables_->run_maintenance().ok());
  EXPECT_TRUE(raw_table(inbox.id).empty())
      << "the writes made during the flush were not counted";
}

INSTANTIATE_TEST_SUITE_P(Backends, FlushTest,
                         ::testing::ValuesIn(test::all_backends()),
                         test::backend_name);

}  // namespace
}  // namespace kalam::tables
