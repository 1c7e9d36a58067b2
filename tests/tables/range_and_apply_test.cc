// The two table-layer calls the SQL layer builds on: bounded scans by row-id
// range (iter_range), hot and cold, and Tables::apply, one atomic batch of
// puts and deletes across tables and users.
#include "tables_fixture.h"

#include <atomic>
#include <thread>

namespace kalam::tables {
namespace {

using ::testing::ElementsAre;

class RangeApplyTest : public TablesTest {
 protected:
  void SetUp() override {
    TablesTest::SetUp();
    make_table("app", "nums", TableKind::kUser,
               Schema{.columns = {{"id", ColumnType::kInt64, false}},
                      .primary_key = "id"});
    for (int i = -3; i <= 12; ++i) {
      ASSERT_TRUE(users().put("app", "nums", "u", {{"id", i}}).ok());
      ASSERT_TRUE(users().put("app", "nums", "v", {{"id", i}}).ok());
    }
  }

  std::vector<std::string> ids(StatusOr<RowCursor> cursor) {
    std::vector<std::string> out;
    EXPECT_TRUE(cursor.ok()) << cursor.status();
    if (!cursor.ok()) return out;
    while (cursor->next()) {
      EXPECT_EQ(cursor->row().user_id, "u");
      out.push_back(cursor->row().row_id);
    }
    EXPECT_TRUE(cursor->status().ok()) << cursor->status();
    return out;
  }
};

TEST_P(RangeApplyTest, RangesAreBoundedHotAndCold) {
  auto range = [&](std::optional<std::string> lo, bool lo_in,
                   std::optional<std::string> hi, bool hi_in) {
    return ids(users().iter_range("app", "nums", "u",
                                  RowIdRange{.lower = std::move(lo),
                                             .lower_inclusive = lo_in,
                                             .upper = std::move(hi),
                                             .upper_inclusive = hi_in}));
  };
  for (int pass = 0; pass < 2; ++pass) {
    EXPECT_THAT(range("-1", true, "2", false), ElementsAre("-1", "0", "1"));
    EXPECT_THAT(range("-1", false, "2", true), ElementsAre("0", "1", "2"));
    EXPECT_THAT(range("10", true, std::nullopt, true),
                ElementsAre("10", "11", "12"));
    EXPECT_THAT(range(std::nullopt, true, "-2", true), ElementsAre("-3", "-2"));
    EXPECT_THAT(range("5", true, "4", true), ElementsAre());
    EXPECT_THAT(range("5", false, "5", true), ElementsAre());
    EXPECT_THAT(range("5", true, "5", true), ElementsAre("5"));
    // The second pass reads the same rows from cold storage, with one hot
    // change in the range.
    if (pass == 0) {
      ASSERT_TRUE(tables_->flush("app", "nums").ok());
      ASSERT_TRUE(users().del("app", "nums", "u", "11").ok());
      ASSERT_TRUE(users().put("app", "nums", "u", {{"id", 11}}).ok());
    }
  }
  auto bad = users().iter_range("app", "nums", "u", RowIdRange{.lower = "x"});
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
}

TEST_P(RangeApplyTest, ApplyIsOneAtomicBatch) {
  make_table("app", "kv", TableKind::kShared,
             Schema{.columns = {{"k", ColumnType::kString, false}},
                    .primary_key = "k"});
  std::vector<RowChange> changes = {
      {.op = RowChange::Op::kPut,
       .ns = "app",
       .table = "nums",
       .user_id = "u",
       .row = {{"id", 100}}},
      {.op = RowChange::Op::kDelete,
       .ns = "app",
       .table = "nums",
       .user_id = "v",
       .row_id = "1"},
      {.op = RowChange::Op::kPut,
       .ns = "app",
       .table = "kv",
       .row = {{"k", "a"}}},
  };
  auto ids = tables_->apply(changes);
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_THAT(*ids, ElementsAre("100", "1", "a"));
  EXPECT_TRUE(users().get("app", "nums", "u", "100").ok());
  EXPECT_TRUE(users().get("app", "nums", "v", "1").status().is_not_found());
  EXPECT_TRUE(shared().get("app", "kv", "a").ok());

  // One invalid change: nothing is applied.
  changes = {
      {.op = RowChange::Op::kDelete,
       .ns = "app",
       .table = "nums",
       .user_id = "u",
       .row_id = "100"},
      {.op = RowChange::Op::kPut,
       .ns = "app",
       .table = "kv",
       .row = {{"k", 5}}},
  };
  auto bad = tables_->apply(changes);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), ::testing::HasSubstr("change 1"));
  EXPECT_TRUE(users().get("app", "nums", "u", "100").ok());
  // A user table needs a user; a shared table takes none.
  EXPECT_FALSE(tables_
                   ->apply({{.op = RowChange::Op::kPut,
                             .ns = "app",
                             .table = "nums",
                             .row = {{"id", 1}}}})
                   .ok());
  EXPECT_FALSE(tables_
                   ->apply({{.op = RowChange::Op::kPut,
                             .ns = "app",
                             .table = "kv",
                             .user_id = "u",
                             .row = {{"k", "b"}}}})
                   .ok());
  // A delete after a flush hides the cold row.
  ASSERT_TRUE(tables_->flush("app", "nums").ok());
  ASSERT_TRUE(tables_
                  ->apply({{.op = RowChange::Op::kDelete,
                            .ns = "app",
                            .table = "nums",
                            .user_id = "u",
                            .row_id = "5"}})
                  .ok());
  EXPECT_TRUE(users().get("app", "nums", "u", "5").status().is_not_found());
  EXPECT_EQ(users().scan("app", "nums", "u")->size(), 16u);
}

TEST_P(RangeApplyTest, ApplyAppendsToStreamsInTheSameBatch) {
  TableSpec spec{.ns = "app",
                 .name = "events",
                 .kind = TableKind::kStream,
                 .schema = {.columns = {{"what", ColumnType::kString, false}}}};
  spec.options.max_rows = 100;
  ASSERT_TRUE(catalog().create_table(spec).ok());
  const std::string given = new_row_id();
  ASSERT_EQ(given.size(), 32u);
  auto ids = tables_->apply({
      {.op = RowChange::Op::kPut,
       .ns = "app",
       .table = "events",
       .row = {{"what", "first"}}},
      {.op = RowChange::Op::kPut,
       .ns = "app",
       .table = "nums",
       .user_id = "u",
       .row = {{"id", 200}}},
      {.op = RowChange::Op::kPut,
       .ns = "app",
       .table = "events",
       .row = {{"what", "second"}},
       .row_id = given},
  });
  ASSERT_TRUE(ids.ok()) << ids.status();
  ASSERT_EQ(ids->size(), 3u);
  EXPECT_EQ((*ids)[2], given);
  EXPECT_TRUE(users().get("app", "nums", "u", "200").ok());
  auto first = tables_->stream().get("app", "events", (*ids)[0]);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->data["what"], "first");
  auto second = tables_->stream().get("app", "events", given);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->data["what"], "second");

  // A bad event (or a delete from a stream) fails the whole batch.
  auto bad = tables_->apply({
      {.op = RowChange::Op::kPut,
       .ns = "app",
       .table = "nums",
       .user_id = "u",
       .row = {{"id", 201}}},
      {.op = RowChange::Op::kPut,
       .ns = "app",
       .table = "events",
       .row = {{"what", 7}}},
  });
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), ::testing::HasSubstr("change 1"));
  EXPECT_TRUE(users().get("app", "nums", "u", "201").status().is_not_found());
  auto del = tables_->apply({{.op = RowChange::Op::kDelete,
                              .ns = "app",
                              .table = "events",
                              .row_id = given}});
  EXPECT_EQ(del.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(tables_->stream().get("app", "events", given).ok());
}

TEST_P(RangeApplyTest, IfAbsentPutsFailOnAnExistingRowHotOrCold) {
  auto insert = [&](int64_t id, const char* user = "u") {
    return tables_
        ->apply({{.op = RowChange::Op::kPut,
                  .ns = "app",
                  .table = "nums",
                  .user_id = user,
                  .row = {{"id", 300}},
                  .if_absent = false},
                 {.op = RowChange::Op::kPut,
                  .ns = "app",
                  .table = "nums",
                  .user_id = user,
                  .row = {{"id", id}},
                  .if_absent = true}})
        .status();
  };
  // Hot row 5 exists: nothing applied (not even the plain put of 300).
  Status s = insert(5);
  EXPECT_EQ(s.code(), Code::kAlreadyExists) << s;
  EXPECT_THAT(s.message(), ::testing::HasSubstr("change 1"));
  EXPECT_THAT(s.message(), ::testing::HasSubstr("nothing was applied"));
  EXPECT_TRUE(users().get("app", "nums", "u", "300").status().is_not_found());
  // Another user's key space: the same id is free there.
  EXPECT_TRUE(insert(5, "w").ok());
  EXPECT_TRUE(insert(50).ok());
  EXPECT_EQ(insert(50).code(), Code::kAlreadyExists);
  // Flushed rows count; a deleted flushed row (a tombstone) is free.
  ASSERT_TRUE(tables_->flush("app", "nums").ok());
  EXPECT_EQ(insert(6).code(), Code::kAlreadyExists);
  ASSERT_TRUE(users().del("app", "nums", "u", "6").ok());
  EXPECT_TRUE(insert(6).ok());
  EXPECT_EQ(insert(6).code(), Code::kAlreadyExists);
}

TEST_P(RangeApplyTest, IfAbsentPutsRacingForOneKeyLetOneWin) {
  // Threads insert the same keys at once: each key is inserted once.
  constexpr int kThreads = 4;
  constexpr int kKeys = 40;
  std::atomic<int> wins{0}, refused{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < kKeys; ++k) {
        Status s = tables_
                       ->apply({{.op = RowChange::Op::kPut,
                                 .ns = "app",
                                 .table = "nums",
                                 .user_id = "u",
                                 .row = {{"id", 1000 + k}},
                                 .if_absent = true}})
                       .status();
        if (s.ok()) {
          ++wins;
        } else if (s.code() == Code::kAlreadyExists) {
          ++refused;
        } else {
          ++other;
          ADD_FAILURE() << "thread " << t << ": " << s;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wins.load(), kKeys);
  EXPECT_EQ(refused.load(), kKeys * (kThreads - 1));
  EXPECT_EQ(other.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, RangeApplyTest,
                         ::testing::ValuesIn(test::all_backends()),
                         test::backend_name);

}  // namespace
}  // namespace kalam::tables
