// The table layer on a store other processes write too, on every backend:
// a writer that gets in between a read and the conditional write based on
// it (injected at the table layer's test hook, writing around the table
// layer as another process sharing the store would) makes that write a
// CONFLICT, and the table layer starts again from what is stored now:
// update() merges over the other write, gives up after a bounded number of
// attempts with a clear CONFLICT, a catalog race has one winner, and a
// flush never deletes a row changed during it.
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "context.h"
#include "key_codec.h"
#include "tables_fixture.h"
#include "temp_dir.h"

namespace kalam::tables {
namespace {

using nlohmann::json;
using ::testing::AllOf;
using ::testing::HasSubstr;

const Schema kCounters{.columns = {{"id", ColumnType::kInt64, false},
                                   {"title", ColumnType::kString, true},
                                   {"count", ColumnType::kInt64, false}},
                       .primary_key = "id"};

class ConditionalTablesTest : public TablesTest {
 protected:
  void SetUp() override {
    if (GetParam() == "sharedmemory") {
#ifdef KALAM_TEST_SHARED_PLUGIN_PATH
      auto plugin = load_plugin_file(KALAM_TEST_SHARED_PLUGIN_PATH);
      ASSERT_TRUE(plugin.ok()) << plugin.status();
      db_ = std::make_unique<test::TestDb>(*plugin);
      open_tables();
#endif
    } else {
      TablesTest::SetUp();
    }
    ASSERT_NE(tables_, nullptr);
    locks_ = detail::locks_for(db_->db());
    info_ = make_table("app", "counters", TableKind::kShared, kCounters);
  }
  void TearDown() override {
    locks_->before_conditional_write = nullptr;
    TablesTest::TearDown();
  }

  // The only hot key of the table (the test's one row).
  std::string only_row_key() {
    KV rows = raw_table(info_.id);
    EXPECT_EQ(rows.size(), 1u);
    return rows.empty() ? std::string() : rows.front().first;
  }

  // Writes around the table layer, as another process would.
  void raw_put(std::string_view family, const std::string& key,
               const std::string& value) {
    auto cf = db_->db().column_family(family);
    ASSERT_TRUE(cf.ok()) << cf.status();
    Status s = db_->db().put(*cf, key, value);
    ASSERT_TRUE(s.ok()) << s;
  }

  // Runs `inject` at the hook's `step` for its first `times` calls, and
  // counts every call at that step.
  void inject_at(std::string step, int times,
                 std::function<void(int call)> inject) {
    locks_->before_conditional_write =
        [this, step = std::move(step), times,
         inject = std::move(inject)](std::string_view at) {
          if (at != step) return;
          const int call = calls_++;
          if (call < times) inject(call);
        };
  }

  std::shared_ptr<detail::DbLocks> locks_;
  TableInfo info_;
  int calls_ = 0;
};

TEST_P(ConditionalTablesTest, UpdateRetriesOverAConcurrentWriteAndLosesIt) {
  ASSERT_TRUE(shared().put("app", "counters", {{"id", 1}, {"count", 0}}).ok());
  const std::string key = only_row_key();
  // Another writer increments the count between the update's read and its
  // write: the update must not write its stale copy of `count` back.
  inject_at("update", 1, [&](int) {
    raw_put(kTablesFamily, key, R"({"count":1,"id":1,"title":null})");
  });
  auto updated = shared().update("app", "counters", "1", {{"title", "mine"}});
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(calls_, 2) << "the first write conflicts, the second applies";
  EXPECT_EQ(updated->data["count"], 1) << updated->data;
  EXPECT_EQ(updated->data["title"], "mine");
  auto row = shared().get("app", "counters", "1");
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ(row->data, updated->data);
}

TEST_P(ConditionalTablesTest, AnInsertLosesToARowWrittenBeforeItsWrite) {
  ASSERT_TRUE(shared().put("app", "counters", {{"id", 1}, {"count", 0}}).ok());
  const std::string key = only_row_key();
  ASSERT_TRUE(shared().del("app", "counters", "1").ok());
  // Another process inserts row 1 after apply() found it absent (under the
  // row's lock) and before its write: the write expects the key absent, so
  // the insert fails as if the row had been there, and nothing is applied.
  inject_at("apply insert", 1, [&](int) {
    raw_put(kTablesFamily, key, R"({"count":7,"id":1,"title":null})");
  });
  auto applied = tables_->apply({{.op = RowChange::Op::kPut,
                                  .ns = "app",
                                  .table = "counters",
                                  .row = {{"id", 2}, {"count", 0}}},
                                 {.op = RowChange::Op::kPut,
                                  .ns = "app",
                                  .table = "counters",
                                  .row = {{"id", 1}, {"count", 0}},
                                  .if_absent = true}});
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(applied.status().code(), Code::kAlreadyExists) << applied.status();
  EXPECT_THAT(applied.status().message(), HasSubstr("nothing was applied"));
  EXPECT_EQ(calls_, 1);
  auto row = shared().get("app", "counters", "1");
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ(row->data["count"], 7) << "the other writer's row stays";
  EXPECT_TRUE(shared().get("app", "counters", "2").status().is_not_found());
}

TEST_P(ConditionalTablesTest,
       UpdateGivesUpAfterBoundedAttemptsApplyingNothing) {
  ASSERT_TRUE(shared().put("app", "counters", {{"id", 1}, {"count", 0}}).ok());
  const std::string key = only_row_key();
  // A writer that changes the row before every attempt.
  inject_at("update", 1000, [&](int call) {
    raw_put(kTablesFamily, key,
            json({{"id", 1}, {"count", call + 1}, {"title", nullptr}}).dump());
  });
  auto updated = shared().update("app", "counters", "1", {{"title", "mine"}});
  ASSERT_FALSE(updated.ok());
  EXPECT_TRUE(updated.status().is_conflict()) << updated.status();
  EXPECT_THAT(updated.status().message(),
              HasSubstr(std::to_string(detail::kConditionalWriteAttempts) +
                        " attempts; nothing was applied"));
  EXPECT_THAT(updated.status().message(), HasSubstr("app.counters"));
  EXPECT_EQ(calls_, detail::kConditionalWriteAttempts);
  auto row = shared().get("app", "counters", "1");
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ(row->data["count"], detail::kConditionalWriteAttempts)
      << "the other writer's last value stays";
  EXPECT_TRUE(row->data["title"].is_null()) << "the update applied nothing";
}

TEST_P(ConditionalTablesTest, UpdateWithComputesFromTheRowAsStoredEachTry) {
  ASSERT_TRUE(shared().put("app", "counters", {{"id", 1}, {"count", 0}}).ok());
  const std::string key = only_row_key();
  inject_at("update", 1, [&](int) {
    raw_put(kTablesFamily, key, R"({"count":10,"id":1,"title":null})");
  });
  std::vector<int64_t> seen;
  auto increment = [&seen](const json& current) -> StatusOr<json> {
    seen.push_back(current["count"].get<int64_t>());
    return json{{"count", current["count"].get<int64_t>() + 1}};
  };
  auto updated = shared().update_with("app", "counters", "1", increment);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 10}))
      << "run again on the row the other writer left";
  EXPECT_EQ(updated->data["count"], 11);

  // An error from the function cancels the update.
  auto refused = shared().update_with(
      "app", "counters", "1", [](const json&) -> StatusOr<json> {
        return Status::InvalidArgument("not today");
      });
  EXPECT_EQ(refused.status(), Status::InvalidArgument("not today"));
  auto bad = shared().update_with(
      "app", "counters", "1",
      [](const json&) -> StatusOr<json> { return json::array(); });
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument) << bad.status();
  EXPECT_EQ(shared().get("app", "counters", "1")->data["count"], 11);
}

TEST_P(ConditionalTablesTest, ConcurrentIncrementsThroughUpdateWithLoseNone) {
  if (!db_->db().plugin().has(KALAM_CAP_THREAD_SAFE)) {
    GTEST_SKIP() << "the backend is not thread-safe";
  }
  ASSERT_TRUE(shared().put("app", "counters", {{"id", 1}, {"count", 0}}).ok());
  constexpr int kThreads = 4;
  constexpr int kIncrements = 50;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        auto r = shared().update_with(
            "app", "counters", "1", [](const json& current) -> StatusOr<json> {
              return json{{"count", current["count"].get<int64_t>() + 1}};
            });
        if (!r.ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(shared().get("app", "counters", "1")->data["count"],
            kThreads * kIncrements);
}

TEST_P(ConditionalTablesTest,
       UpdateOfAColdRowLosesNoHotVersionWrittenMeanwhile) {
  ASSERT_TRUE(shared().put("app", "counters", {{"id", 1}, {"count", 0}}).ok());
  const std::string key = only_row_key();
  ASSERT_TRUE(shared().flush("app", "counters").ok());
  ASSERT_TRUE(raw_table(info_.id).empty()) << "the row is cold only";
  // The update read the cold row; another writer writes a hot version.
  inject_at("update", 1, [&](int) {
    raw_put(kTablesFamily, key, R"({"count":7,"id":1,"title":null})");
  });
  auto updated = shared().update("app", "counters", "1", {{"title", "mine"}});
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(calls_, 2);
  EXPECT_EQ(updated->data["count"], 7) << updated->data;
  EXPECT_EQ(updated->data["title"], "mine");
}

TEST_P(ConditionalTablesTest, NamespaceCreatedConcurrentlyHasOneWinner) {
  std::string key(1, 'n');
  keys::append_escaped(key, "race");
  const std::string theirs = R"({"created_at":42,"name":"race"})";
  inject_at("create_namespace", 1,
            [&](int) { raw_put(kSystemFamily, key, theirs); });
  Status s = catalog().create_namespace("race");
  EXPECT_EQ(s.code(), Code::kAlreadyExists) << s;
  EXPECT_THAT(s.message(), HasSubstr("namespace 'race' already exists"));
  auto info = catalog().describe_namespace("race");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->created_at_ms, 42) << "the other creator's row stays";
}

TEST_P(ConditionalTablesTest, TableCreatedConcurrentlyHasOneWinner) {
  // The other process's table of the same name, under id 77.
  TableInfo theirs{.id = 77,
                   .ns = "app",
                   .name = "race",
                   .kind = TableKind::kShared,
                   .schema = kCounters,
                   .created_at_ms = 42};
  std::string key(1, 't');
  keys::append_escaped(key, "app");
  keys::append_escaped(key, "race");
  std::string counter;
  keys::append_u64(counter, 78);
  inject_at("create_table", 1, [&](int) {
    raw_put(kSystemFamily, key, theirs.to_json().dump());
    raw_put(kSystemFamily, "m:next_table_id", counter);
  });
  auto created = catalog().create_table({.ns = "app",
                                         .name = "race",
                                         .kind = TableKind::kUser,
                                         .schema = kCounters});
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.status().code(), Code::kAlreadyExists) << created.status();
  auto info = catalog().describe_table("app", "race");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->id, 77u);
  EXPECT_EQ(info->kind, TableKind::kShared) << "the other creator's table";
}

TEST_P(ConditionalTablesTest, TableIdsAreNotReusedAcrossConcurrentCreators) {
  // Another process creates a different table between this creator's read
  // of the id counter and its write: it took the id this one read.
  const uint64_t read_id = info_.id + 1;
  TableInfo theirs{.id = read_id,
                   .ns = "app",
                   .name = "theirs",
                   .kind = TableKind::kShared,
                   .schema = kCounters,
                   .created_at_ms = 42};
  std::string key(1, 't');
  keys::append_escaped(key, "app");
  keys::append_escaped(key, "theirs");
  std::string counter;
  keys::append_u64(counter, read_id + 1);
  inject_at("create_table", 1, [&](int) {
    raw_put(kSystemFamily, key, theirs.to_json().dump());
    raw_put(kSystemFamily, "m:next_table_id", counter);
  });
  auto mine = catalog().create_table({.ns = "app",
                                      .name = "mine",
                                      .kind = TableKind::kShared,
                                      .schema = kCounters});
  ASSERT_TRUE(mine.ok()) << mine.status();
  EXPECT_EQ(calls_, 2);
  EXPECT_EQ(mine->id, read_id + 1) << "the next free id, not theirs";
  auto other = catalog().describe_table("app", "theirs");
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(other->id, read_id);
  // Both tables work, each under its own id.
  ASSERT_TRUE(shared().put("app", "mine", {{"id", 1}, {"count", 1}}).ok());
  ASSERT_TRUE(shared().put("app", "theirs", {{"id", 1}, {"count", 2}}).ok());
  EXPECT_EQ(shared().get("app", "mine", "1")->data["count"], 1);
  EXPECT_EQ(shared().get("app", "theirs", "1")->data["count"], 2);
}

TEST_P(ConditionalTablesTest, FlushKeepsARowAnotherWriterChangedDuringIt) {
  for (int id = 1; id <= 3; ++id) {
    ASSERT_TRUE(
        shared().put("app", "counters", {{"id", id}, {"count", 0}}).ok());
  }
  KV rows = raw_table(info_.id);
  ASSERT_EQ(rows.size(), 3u);
  const std::string key2 = rows[1].first;
  auto batch = shared().flush_batch("app", "counters");
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_TRUE(shared().write_cold(*batch).ok());
  // Row 2 changes after delete_flushed compared it, before its delete.
  inject_at("delete_flushed", 1, [&](int) {
    raw_put(kTablesFamily, key2, R"({"count":5,"id":2,"title":null})");
  });
  auto result = shared().delete_flushed(*batch);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->removed, 2u);
  EXPECT_EQ(result->kept, 1u);
  auto row = shared().get("app", "counters", "2");
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ(row->data["count"], 5) << "the concurrent write is not lost";
  KV hot = raw_table(info_.id);
  ASSERT_EQ(hot.size(), 1u);
  EXPECT_EQ(hot[0].first, key2);
}

#ifdef KALAM_TEST_SHARED_NO_CONDITIONAL_PLUGIN_PATH
// A backend that declares SHARED (other processes write the store) without
// CONDITIONAL_WRITE: the engine cannot check expectations across processes,
// so it refuses a conditional write (plain writes still work, and the
// plugin's conditional slots, which abort, are never called), and the table
// layer, whose updates and catalog changes depend on them, refuses to open,
// naming the capability, and creates nothing.
TEST(SharedWithoutConditionalWrite, ExpectationsAndTheTableLayerAreRefused) {
  auto plugin = load_plugin_file(KALAM_TEST_SHARED_NO_CONDITIONAL_PLUGIN_PATH);
  ASSERT_TRUE(plugin.ok()) << plugin.status();
  ASSERT_TRUE((*plugin)->is_shared());
  ASSERT_FALSE((*plugin)->has(KALAM_CAP_CONDITIONAL_WRITE));
  test::TempDir dir;
  auto db = Database::open(*plugin, dir.path() / "db", {});
  ASSERT_TRUE(db.ok()) << db.status();

  ASSERT_TRUE((*db)->put({}, "k", "1").ok()) << "plain writes work";
  WriteBatch conditional;
  conditional.put({}, "k", "2");
  conditional.expect_value({}, "k", "1");
  Status refused = (*db)->write(conditional);
  EXPECT_EQ(refused.code(), Code::kNotSupported) << refused;
  EXPECT_THAT(refused.message(),
              AllOf(HasSubstr("sharednocond"), HasSubstr("shared"),
                    HasSubstr("conditional_write")));
  Status rmw = (*db)->read_modify_write(
      {{ColumnFamily(), "k"}},
      [](const std::vector<std::optional<std::string_view>>&,
         WriteBatch* batch) {
        batch->put({}, "k", "3");
        return Status::OK();
      });
  EXPECT_EQ(rmw.code(), Code::kNotSupported) << rmw;
  EXPECT_EQ(*(*db)->get({}, "k"), "1") << "nothing was applied";

  auto tables = Tables::open(**db, {.background = false});
  EXPECT_EQ(tables.status().code(), Code::kNotSupported) << tables.status();
  EXPECT_THAT(tables.status().message(),
              AllOf(HasSubstr("the table layer needs conditional writes"),
                    HasSubstr("backend 'sharednocond'"),
                    HasSubstr("KALAM_CAP_CONDITIONAL_WRITE")));
  EXPECT_EQ((*db)
                ->column_family(kTablesFamily, /*create_if_missing=*/false)
                .status()
                .code(),
            Code::kNotFound)
      << "nothing was created";
}
#endif

// On a shared store every row write also expects its table's catalog row
// as resolved: a write racing another process's drop is NOT_FOUND, never
// rows stranded under the dropped table's id.
class SharedStoreTablesTest : public ConditionalTablesTest {};

TEST_P(SharedStoreTablesTest,
       WritesIntoATableAnotherProcessDroppedStrandNothing) {
  ASSERT_TRUE(db_->db().plugin().is_shared());
  std::string table_key(1, 't');
  keys::append_escaped(table_key, "app");
  keys::append_escaped(table_key, "counters");
  // Another process drops the table (its catalog row and its rows) between
  // this process resolving it and writing.
  auto drop_it = [&](int) {
    auto system = db_->db().column_family(kSystemFamily);
    ASSERT_TRUE(system.ok());
    ASSERT_TRUE(db_->db().del(*system, table_key).ok());
  };
  inject_at("put", 1, drop_it);
  auto put = shared().put("app", "counters", {{"id", 1}, {"count", 0}});
  EXPECT_EQ(put.status().code(), Code::kNotFound) << put.status();
  EXPECT_THAT(put.status().message(), HasSubstr("was dropped"));
  EXPECT_TRUE(raw_table(info_.id).empty()) << "no row stranded";
}

TEST_P(SharedStoreTablesTest, AnUpdateOfATableAnotherProcessDroppedIsNotFound) {
  ASSERT_TRUE(db_->db().plugin().is_shared());
  ASSERT_TRUE(shared().put("app", "counters", {{"id", 1}, {"count", 0}}).ok());
  const std::string key = only_row_key();
  std::string table_key(1, 't');
  keys::append_escaped(table_key, "app");
  keys::append_escaped(table_key, "counters");
  inject_at("update", 1, [&](int) {
    auto system = db_->db().column_family(kSystemFamily);
    auto data = db_->db().column_family(kTablesFamily);
    ASSERT_TRUE(system.ok() && data.ok());
    ASSERT_TRUE(db_->db().del(*system, table_key).ok());
    ASSERT_TRUE(db_->db().del(*data, key).ok());
  });
  auto updated = shared().update("app", "counters", "1", {{"count", 1}});
  EXPECT_EQ(updated.status().code(), Code::kNotFound) << updated.status();
  EXPECT_TRUE(raw_table(info_.id).empty()) << "no row stranded";
}

std::vector<std::string> conditional_backends() {
  std::vector<std::string> out = test::all_backends();
#ifdef KALAM_TEST_SHARED_PLUGIN_PATH
  out.push_back("sharedmemory");
#endif
  return out;
}

INSTANTIATE_TEST_SUITE_P(Backends, ConditionalTablesTest,
                         ::testing::ValuesIn(conditional_backends()),
                         test::backend_name);
#ifdef KALAM_TEST_SHARED_PLUGIN_PATH
INSTANTIATE_TEST_SUITE_P(Shared, SharedStoreTablesTest,
                         ::testing::Values("sharedmemory"), test::backend_name);
#endif

}  // namespace
}  // namespace kalam::tables
