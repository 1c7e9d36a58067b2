// Model check: thousands of random puts, updates, deletes and reads on a
// user table with adversarial user ids, checked against a std::map after
// every step that reads and in full every 50 steps, with a restart every 100
// steps on persistent backends. The second test flushes every 37 steps, and
// every 3rd of those flushes is abandoned after writing its segments (a
// crash between the steps), so reads go through hybrid merges of hot rows,
// tombstones and several generations of cold segments. After every step the
// touched user's rows are read through both paths — Rows (scan) and the
// zero-copy views (scan_with, RowCursor::next_batch / next_view) — and
// compared with the model.
#include <map>
#include <random>

#include "tables_fixture.h"

namespace kalam::tables {
namespace {

using nlohmann::json;

class TableModelTest : public TablesTest {
 protected:
  void run_model(bool flushes);
};

TEST_P(TableModelTest, RandomOperationsMatchAModel) { run_model(false); }

TEST_P(TableModelTest, RandomOperationsWithFlushesMatchAModel) {
  run_model(true);
}

void TableModelTest::run_model(bool flushes) {
  const Schema schema{.columns = {{"id", ColumnType::kInt64, false},
                                  {"n", ColumnType::kInt64, false},
                                  {"note", ColumnType::kString, true}},
                      .primary_key = "id"};
  make_table("m", "t", TableKind::kUser, schema);
  const std::vector<std::string> users_ids = {
      "a", "ab", std::string("a\0", 2), std::string("\0", 1), "\xff", "b"};
  // (user, id) -> row
  std::map<std::pair<std::string, int64_t>, json> model;
  std::mt19937 rng(12345);
  auto pick_user = [&] { return users_ids[rng() % users_ids.size()]; };

  // The view path (scan_with, and the cursor's next_batch / next_view /
  // mixed reads) hands out exactly the rows the Row path does, for one
  // user. `all_forms` false reads the cursor in one form, by step, to keep
  // the per-step check quick.
  auto check_views = [&](const std::string& user,
                         const std::vector<Row>& expected, int step,
                         bool all_forms) {
    auto views = collect_views([&](const RowVisitor& visit) {
      return users().scan_with("m", "t", user, visit);
    });
    ASSERT_TRUE(views.ok()) << views.status();
    ASSERT_EQ(*views, expected) << "scan_with, step " << step;
    const ViewRead forms[] = {ViewRead::kNextBatch, ViewRead::kNextView,
                              ViewRead::kMixed};
    for (size_t i = 0; i < 3; ++i) {
      if (!all_forms && i != static_cast<size_t>(step) % 3) continue;
      auto read = read_views(users().iter("m", "t", user), forms[i], 3);
      ASSERT_TRUE(read.ok()) << read.status();
      ASSERT_EQ(*read, expected) << "read_views " << i << ", step " << step;
    }
  };
  // The touched user's rows, after every step: from the model, from the Row
  // path, and from the view path.
  auto check_user = [&](const std::string& user, int step) {
    std::vector<Row> expected;
    for (const auto& [key, row] : model) {
      if (key.first == user) {
        expected.push_back(Row{key.first, std::to_string(key.second), row});
      }
    }
    auto rows = users().scan("m", "t", user);
    ASSERT_TRUE(rows.ok()) << rows.status();
    ASSERT_EQ(*rows, expected) << "step " << step;
    check_views(user, expected, step, false);
  };

  auto check_everything = [&](int step) {
    std::vector<Row> expected_all;
    for (const auto& [key, row] : model) {
      expected_all.push_back(Row{key.first, std::to_string(key.second), row});
    }
    auto all = users().scan_all("m", "t");
    ASSERT_TRUE(all.ok()) << all.status();
    ASSERT_EQ(*all, expected_all) << "step " << step;
    for (const auto& user : users_ids) {
      std::vector<Row> expected;
      for (const Row& r : expected_all) {
        if (r.user_id == user) expected.push_back(r);
      }
      auto mine = users().scan("m", "t", user);
      ASSERT_TRUE(mine.ok()) << mine.status();
      ASSERT_EQ(*mine, expected) << "step " << step;
      check_views(user, expected, step, true);
      if (HasFatalFailure()) return;
    }
    // The zero-copy path over every user agrees too.
    auto all_views = collect_views([&](const RowVisitor& visit) {
      return users().scan_all_with("m", "t", visit);
    });
    ASSERT_TRUE(all_views.ok()) << all_views.status();
    ASSERT_EQ(*all_views, expected_all) << "step " << step;
    for (ViewRead how : {ViewRead::kNextBatch, ViewRead::kMixed}) {
      auto read = read_views(users().iter_all("m", "t"), how, 5);
      ASSERT_TRUE(read.ok()) << read.status();
      ASSERT_EQ(*read, expected_all) << "step " << step;
    }
  };

  constexpr int kSteps = 1500;
  for (int step = 1; step <= kSteps; ++step) {
    const std::string user = pick_user();
    const int64_t id = static_cast<int64_t>(rng() % 16) - 4;
    const std::string id_text = std::to_string(id);
    const auto key = std::make_pair(user, id);
    const bool present = model.count(key) > 0;
    switch (rng() % 5) {
      case 0:
      case 1: {  // put (insert or replace)
        json row = {{"id", id}, {"n", static_cast<int64_t>(rng() % 1000)}};
        if (rng() % 2 == 0) row["note"] = "s" + std::to_string(step);
        auto put = users().put("m", "t", user, row);
        ASSERT_TRUE(put.ok()) << put.status();
        if (!row.contains("note")) row["note"] = nullptr;
        model[key] = row;
        break;
      }
      case 2: {  // update
        json changes = {{"n", static_cast<int64_t>(step)}};
        auto updated = users().update("m", "t", user, id_text, changes);
        if (present) {
          ASSERT_TRUE(updated.ok()) << updated.status();
          model[key]["n"] = step;
          ASSERT_EQ(updated->data, model[key]);
        } else {
          ASSERT_EQ(updated.status().code(), Code::kNotFound);
        }
        break;
      }
      case 3: {  // delete
        Status s = users().del("m", "t", user, id_text);
        if (present) {
          ASSERT_TRUE(s.ok()) << s;
          model.erase(key);
        } else {
          ASSERT_EQ(s.code(), Code::kNotFound) << s;
        }
        break;
      }
      case 4: {  // get
        auto got = users().get("m", "t", user, id_text);
        if (present) {
          ASSERT_TRUE(got.ok()) << got.status();
          ASSERT_EQ(got->data, model[key]);
          ASSERT_EQ(got->user_id, user);
        } else {
          ASSERT_EQ(got.status().code(), Code::kNotFound);
        }
        break;
      }
    }
    check_user(user, step);
    if (HasFatalFailure()) return;
    if (flushes && step % 37 == 0) {
      if (step % 111 == 0) {
        // Crash after the segments are written: rows are hot and cold.
        auto batch = users().flush_batch("m", "t");
        ASSERT_TRUE(batch.ok()) << batch.status();
        ASSERT_TRUE(users().write_cold(*batch).ok());
      } else {
        auto flushed = users().flush("m", "t");
        ASSERT_TRUE(flushed.ok()) << flushed.status();
        ASSERT_EQ(flushed->kept, 0u) << "nothing wrote during the flush";
      }
      check_everything(step);
      if (HasFatalFailure()) return;
    }
    if (step % 50 == 0) {
      check_everything(step);
      if (HasFatalFailure()) return;
    }
    if (step % 100 == 0 && db_->persistent()) {
      reopen();
      check_everything(step);
      if (HasFatalFailure()) return;
    }
  }
  EXPECT_FALSE(model.empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, TableModelTest,
                         ::testing::ValuesIn(test::all_backends()),
                         test::backend_name);

}  // namespace
}  // namespace kalam::tables
