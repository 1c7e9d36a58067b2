// The zero-copy read path (RowView): scan_with(), RowCursor::next_batch()
// and next_view() hand out exactly the rows the Row path does — for user,
// shared and stream tables, hot and hybrid (tombstones, hot over cold),
// with every kind of row key — and keep their contracts: an early stop
// leaves the refused row next, views from next_view() stay valid until the
// cursor's next call, a user without rows sees none, and the hot path does
// not allocate per row.
#include <atomic>
#include <cstdlib>
#include <new>

#include "tables_fixture.h"

// Counts heap allocations (for the no-allocation-per-row check): the
// replaced global operator new/delete of this test binary, malloc-based.
// GCC sees a malloc'ed pointer freed through the inlined operator delete.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
namespace {
std::atomic<size_t> g_allocations{0};
}  // namespace

void* operator new(size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace kalam::tables {
namespace {

using nlohmann::json;

class RowViewTest : public TablesTest {
 protected:
  // Every read form of `cursor_of` and `scan_with` agrees with `expected`.
  template <typename CursorOf, typename ScanWith>
  void expect_all_paths(const std::vector<Row>& expected, CursorOf cursor_of,
                        ScanWith scan_with) {
    auto rows = RowStoreCollect(cursor_of());
    ASSERT_TRUE(rows.ok()) << rows.status();
    EXPECT_EQ(*rows, expected) << "the Row path";
    auto views = collect_views(scan_with);
    ASSERT_TRUE(views.ok()) << views.status();
    EXPECT_EQ(*views, expected) << "scan_with";
    for (size_t batch : {1, 2, 7, 1000}) {
      for (ViewRead how :
           {ViewRead::kNextBatch, ViewRead::kNextView, ViewRead::kMixed}) {
        auto read = read_views(cursor_of(), how, batch);
        ASSERT_TRUE(read.ok()) << read.status();
        EXPECT_EQ(*read, expected)
            << "read_views " << static_cast<int>(how) << " batch " << batch;
      }
    }
  }
  static StatusOr<std::vector<Row>> RowStoreCollect(StatusOr<RowCursor> c) {
    KALAM_RETURN_IF_ERROR(c.status());
    std::vector<Row> rows;
    while (c->next()) rows.push_back(c->row());
    KALAM_RETURN_IF_ERROR(c->status());
    return rows;
  }
  void expect_user(const std::string& table, const std::string& user,
                   const std::vector<Row>& expected) {
    expect_all_paths(
        expected, [&] { return users().iter("v", table, user); },
        [&](const RowVisitor& visit) {
          return users().scan_with("v", table, user, visit);
        });
  }
  void expect_all_users(const std::string& table,
                        const std::vector<Row>& expected) {
    expect_all_paths(
        expected, [&] { return users().iter_all("v", table); },
        [&](const RowVisitor& visit) {
          return users().scan_all_with("v", table, visit);
        });
  }
  void expect_shared(const std::string& table,
                     const std::vector<Row>& expected) {
    expect_all_paths(
        expected, [&] { return shared().iter("v", table); },
        [&](const RowVisitor& visit) {
          return shared().scan_with("v", table, visit);
        });
  }
};

const Schema kStringKeyed{.columns = {{"k", ColumnType::kString, false},
                                      {"n", ColumnType::kInt64, true}},
                          .primary_key = "k"};
const Schema kIntKeyed{.columns = {{"id", ColumnType::kInt64, false},
                                   {"s", ColumnType::kString, true}},
                       .primary_key = "id"};
const Schema kNoKey{.columns = {{"s", ColumnType::kString, false}}};

TEST_P(RowViewTest, UserTableViewsMatchRowsForEveryKeyKind) {
  make_table("v", "str", TableKind::kUser, kStringKeyed);
  make_table("v", "int", TableKind::kUser, kIntKeyed);
  make_table("v", "gen", TableKind::kUser, kNoKey);
  // Ids and users with NUL bytes take the decoded-into-a-buffer path; the
  // others are views of the key itself.
  const std::vector<std::string> keys = {"a", std::string("b\0c", 3),
                                         std::string("\0", 1), "z\xc3\xa9",
                                         std::string(40, 'x')};
  const std::vector<std::string> owners = {"u1", std::string("u\0", 2), "u2"};
  for (const std::string& user : owners) {
    for (const std::string& k : keys) {
      ASSERT_TRUE(users().put("v", "str", user, {{"k", k}, {"n", 1}}).ok());
    }
    for (int64_t id : std::vector<int64_t>{-5, 0, 7, INT64_MIN, INT64_MAX}) {
      ASSERT_TRUE(users().put("v", "int", user, {{"id", id}}).ok());
    }
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(users().put("v", "gen", user, {{"s", user}}).ok());
    }
  }
  for (const std::string table : {"str", "int", "gen"}) {
    for (const std::string& user : owners) {
      auto expected = users().scan("v", table, user);
      ASSERT_TRUE(expected.ok()) << expected.status();
      ASSERT_FALSE(expected->empty());
      expect_user(table, user, *expected);
      if (HasFatalFailure()) return;
    }
    auto all = users().scan_all("v", table);
    ASSERT_TRUE(all.ok()) << all.status();
    ASSERT_EQ(all->size(), owners.size() * (table == "gen" ? 3 : 5));
    expect_all_users(table, *all);
    if (HasFatalFailure()) return;
  }
}

TEST_P(RowViewTest, ViewsAreTheStoredRowsAndParseToTheirData) {
  make_table("v", "t", TableKind::kUser, kStringKeyed);
  ASSERT_TRUE(users().put("v", "t", "u", {{"k", "a"}, {"n", 42}}).ok());
  size_t seen = 0;
  Status s = users().scan_with("v", "t", "u", [&](const RowView& view) {
    ++seen;
    EXPECT_EQ(view.user_id, "u");
    EXPECT_EQ(view.row_id, "a");
    // The text as stored: the canonical row (every column, sorted).
    EXPECT_EQ(view.json, R"({"k":"a","n":42})");
    auto data = view.data();
    EXPECT_TRUE(data.ok()) << data.status();
    if (data.ok()) {
      EXPECT_EQ(*data, json({{"k", "a"}, {"n", 42}}));
    }
    return true;
  });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(seen, 1u);
}

TEST_P(RowViewTest, HybridViewsMatchRowsWithTombstonesAndHotOverCold) {
  make_table("v", "t", TableKind::kUser, kIntKeyed);
  for (int64_t id = 0; id < 20; ++id) {
    ASSERT_TRUE(users().put("v", "t", "u", {{"id", id}, {"s", "old"}}).ok());
    ASSERT_TRUE(users().put("v", "t", "w", {{"id", id}}).ok());
  }
  auto flushed = users().flush("v", "t");
  ASSERT_TRUE(flushed.ok()) << flushed.status();
  // Hot tombstones over cold rows, hot updates over cold rows, new hot rows
  // between cold ones, and a second segment that deletes and re-adds.
  for (int64_t id : {0, 3, 4, 19}) {
    ASSERT_TRUE(users().del("v", "t", "u", std::to_string(id)).ok());
  }
  ASSERT_TRUE(users().update("v", "t", "u", "5", {{"s", "new"}}).ok());
  ASSERT_TRUE(users().put("v", "t", "u", {{"id", 100}, {"s", "hot"}}).ok());
  ASSERT_TRUE(users().put("v", "t", "u", {{"id", -1}, {"s", "hot"}}).ok());
  ASSERT_TRUE(users().flush("v", "t").ok());
  ASSERT_TRUE(users().del("v", "t", "u", "7").ok());
  ASSERT_TRUE(users().put("v", "t", "u", {{"id", 3}, {"s", "back"}}).ok());
  ASSERT_TRUE(users().update("v", "t", "w", "9", {{"s", "w9"}}).ok());

  std::vector<Row> expected;
  for (int64_t id = -1; id <= 100; ++id) {
    json row;
    if (id == -1 || id == 100) {
      row = {{"id", id}, {"s", "hot"}};
    } else if (id == 3) {
      row = {{"id", id}, {"s", "back"}};
    } else if (id == 5) {
      row = {{"id", id}, {"s", "new"}};
    } else if (id < 20 && id != 0 && id != 4 && id != 7 && id != 19) {
      row = {{"id", id}, {"s", "old"}};
    } else {
      continue;
    }
    expected.push_back(Row{"u", std::to_string(id), row});
  }
  expect_user("t", "u", expected);
  if (HasFatalFailure()) return;
  auto all = users().scan_all("v", "t");
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), expected.size() + 20);
  EXPECT_EQ(std::vector<Row>(all->begin(), all->begin() + expected.size()),
            expected);
  expect_all_users("t", *all);
}

TEST_P(RowViewTest, AUserWithoutRowsSeesNone) {
  make_table("v", "t", TableKind::kUser, kStringKeyed);
  ASSERT_TRUE(users().put("v", "t", "someone", {{"k", "a"}}).ok());
  expect_user("t", "nobody", {});
  if (HasFatalFailure()) return;
  // Also once the table has cold segments (of another user) and the user's
  // only row was deleted.
  ASSERT_TRUE(users().put("v", "t", "gone", {{"k", "a"}}).ok());
  ASSERT_TRUE(users().flush("v", "t").ok());
  ASSERT_TRUE(users().del("v", "t", "gone", "a").ok());
  expect_user("t", "nobody", {});
  expect_user("t", "gone", {});
  auto cursor = users().iter("v", "t", "gone");
  ASSERT_TRUE(cursor.ok());
  EXPECT_FALSE(cursor->next_view());
  EXPECT_TRUE(cursor->status().ok());
  // The empty user id is refused, as by scan().
  Status s = users().scan_with("v", "t", "", [](const RowView&) {
    ADD_FAILURE() << "no row expected";
    return true;
  });
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s;
}

TEST_P(RowViewTest, EarlyStopLeavesTheRefusedRowNext) {
  make_table("v", "t", TableKind::kUser, kIntKeyed);
  for (int64_t id = 0; id < 10; ++id) {
    ASSERT_TRUE(users().put("v", "t", "u", {{"id", id}}).ok());
  }
  ASSERT_TRUE(users().flush("v", "t").ok());  // even ids cold, odd ids hot
  for (int64_t id = 1; id < 10; id += 2) {
    ASSERT_TRUE(
        users().update("v", "t", "u", std::to_string(id), {{"s", "hot"}}).ok());
  }
  // scan_with: returning false stops the scan, which is still OK.
  size_t seen = 0;
  Status s = users().scan_with("v", "t", "u",
                               [&](const RowView&) { return ++seen < 4; });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(seen, 4u);
  // next_batch: a refused row (hot or cold) is handed out again next.
  for (size_t refuse_at = 0; refuse_at < 10; ++refuse_at) {
    auto cursor = users().iter("v", "t", "u");
    ASSERT_TRUE(cursor.ok());
    std::vector<std::string> ids;
    size_t calls = 0;
    auto n = cursor->next_batch(100, [&](const RowView& view) {
      if (calls++ == refuse_at) return false;
      ids.emplace_back(view.row_id);
      return true;
    });
    ASSERT_TRUE(n.ok()) << n.status();
    EXPECT_EQ(*n, refuse_at);
    auto rest = cursor->next_batch(100, [&](const RowView& view) {
      ids.emplace_back(view.row_id);
      return true;
    });
    ASSERT_TRUE(rest.ok()) << rest.status();
    EXPECT_EQ(*rest, 10 - refuse_at);
    EXPECT_EQ(ids, std::vector<std::string>(
                       {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}))
        << "refused at " << refuse_at;
    auto end = cursor->next_batch(100, [](const RowView&) { return true; });
    ASSERT_TRUE(end.ok());
    EXPECT_EQ(*end, 0u);
  }
}

TEST_P(RowViewTest, NextViewViewsStayValidUntilTheNextCall) {
  make_table("v", "t", TableKind::kUser, kStringKeyed);
  std::vector<Row> expected;
  for (int i = 0; i < 30; ++i) {
    const std::string k = "row-" + std::to_string(100 + i);
    ASSERT_TRUE(users().put("v", "t", "u", {{"k", k}, {"n", i}}).ok());
    expected.push_back(Row{"u", k, json({{"k", k}, {"n", i}})});
  }
  ASSERT_TRUE(users().flush("v", "t").ok());
  for (int i = 0; i < 30; i += 3) {
    ASSERT_TRUE(
        users()
            .update("v", "t", "u", expected[i].row_id, {{"n", 1000 + i}})
            .ok());
    expected[i].data["n"] = 1000 + i;
  }
  auto cursor = users().iter("v", "t", "u");
  ASSERT_TRUE(cursor.ok());
  cursor->set_batch_size(4);
  size_t i = 0;
  while (cursor->next_view()) {
    ASSERT_LT(i, expected.size());
    const RowView view = cursor->view();  // a copy of the views
    // Writes after the cursor was created change nothing it hands out, and
    // the views still read the same bytes after other work on the store.
    ASSERT_TRUE(users().put("v", "t", "u", {{"k", "zzz"}}).ok());
    ASSERT_TRUE(users().get("v", "t", "u", "row-100").ok());
    auto row = view.to_row();
    ASSERT_TRUE(row.ok()) << row.status();
    EXPECT_EQ(*row, expected[i]) << i;
    EXPECT_EQ(cursor->view().json, view.json);
    ++i;
    ASSERT_TRUE(users().del("v", "t", "u", "zzz").ok());
  }
  EXPECT_TRUE(cursor->status().ok()) << cursor->status();
  EXPECT_EQ(i, expected.size());
}

TEST_P(RowViewTest, SharedAndStreamTablesServeViews) {
  make_table("v", "s", TableKind::kShared, kIntKeyed);
  for (int64_t id = 0; id < 12; ++id) {
    ASSERT_TRUE(shared().put("v", "s", {{"id", id}, {"s", "x"}}).ok());
  }
  ASSERT_TRUE(shared().flush("v", "s").ok());
  ASSERT_TRUE(shared().del("v", "s", "4").ok());
  ASSERT_TRUE(shared().put("v", "s", {{"id", 50}}).ok());
  auto rows = shared().scan("v", "s");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 12u);
  expect_shared("s", *rows);
  if (HasFatalFailure()) return;

  TableSpec spec{
      .ns = "v", .name = "ev", .kind = TableKind::kStream, .schema = kNoKey};
  spec.options.ttl = std::chrono::hours(1);
  ASSERT_TRUE(catalog().create_table(spec).ok());
  for (int i = 0; i < 9; ++i) {
    ASSERT_TRUE(stream().append("v", "ev", {{"s", std::to_string(i)}}).ok());
  }
  auto events = stream().scan("v", "ev");
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 9u);
  expect_all_paths(
      *events, [&] { return stream().iter("v", "ev"); },
      [&](const RowVisitor& visit) {
        return stream().scan_with("v", "ev", visit);
      });
}

TEST_P(RowViewTest, SystemTableCursorsServeViewsToo) {
  make_table("v", "t", TableKind::kUser, kIntKeyed);
  // System tables are served by Row-producing sources; their rows reach
  // the view path as DOMs, dumped.
  auto expected = shared().scan("system", "tables");
  ASSERT_TRUE(expected.ok()) << expected.status();
  ASSERT_FALSE(expected->empty());
  for (ViewRead how :
       {ViewRead::kNextBatch, ViewRead::kNextView, ViewRead::kMixed}) {
    auto read = read_views(shared().iter("system", "tables"), how, 2);
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(*read, *expected);
  }
}

TEST_P(RowViewTest, HotScanDoesNotAllocatePerRow) {
  make_table("v", "t", TableKind::kUser, kStringKeyed);
  constexpr size_t kRows = 2000;
  std::vector<json> batch;
  for (size_t i = 0; i < kRows; ++i) {
    batch.push_back({{"k", "key-" + std::to_string(100000 + i)}, {"n", 1}});
  }
  ASSERT_TRUE(users().put_many("v", "t", "u", batch).ok());
  size_t bytes = 0;
  size_t seen = 0;
  const size_t before = g_allocations.load();
  Status s = users().scan_with("v", "t", "u", [&](const RowView& view) {
    bytes += view.json.size() + view.row_id.size();
    ++seen;
    return true;
  });
  const size_t allocations = g_allocations.load() - before;
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(seen, kRows);
  EXPECT_GT(bytes, kRows * 10);
  // Opening the scan allocates (catalog lookup, iterator, per-batch state);
  // the rows themselves must not.
  EXPECT_LT(allocations, kRows / 10) << allocations << " allocations";
}

TEST(RowViewPlainTest, DataReportsATextThatIsNotAnObject) {
  const RowView bad{.user_id = "u", .row_id = "7", .json = "[1,2"};
  auto data = bad.data();
  EXPECT_EQ(data.status().code(), Code::kCorruption);
  EXPECT_THAT(data.status().message(), ::testing::HasSubstr("row '7'"));
  EXPECT_EQ(bad.to_row().status().code(), Code::kCorruption);
  const RowView array{.row_id = "8", .json = "[1]"};
  EXPECT_EQ(array.data().status().code(), Code::kCorruption);
}

INSTANTIATE_TEST_SUITE_P(Backends, RowViewTest,
                         ::testing::ValuesIn(test::all_backends()),
                         test::backend_name);

}  // namespace
}  // namespace kalam::tables
