// The two table-layer calls the SQL layer builds on: bounded scans by row-id
// range (iter_range), hot and cold, and Tables::apply, one atomic batch of
// puts and deletes across tables and users.
#include "tables_fixture.h"

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

INSTANTIATE_TEST_SUITE_P(Backends, RangeApplyTest,
                         ::testing::ValuesIn(test::all_backends()),
                         test::backend_name);

}  // namespace
}  // namespace kalam::tables
