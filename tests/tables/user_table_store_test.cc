// UserTableStore on every backend: the user partition holds against
// adversarial user ids, writes validate and are atomic, updates merge and
// lose nothing under concurrency, scans stream.
#include <atomic>
#include <chrono>
#include <map>
#include <thread>

#include "tables_fixture.h"

namespace kalam::tables {
namespace {

using nlohmann::json;
using ::testing::AllOf;
using ::testing::HasSubstr;

class UserTableTest : public TablesTest {
 protected:
  void SetUp() override {
    TablesTest::SetUp();
    if (HasFatalFailure()) return;
    notes_ = make_table("app", "notes", TableKind::kUser, kNotes);
    events_ = make_table("app", "events", TableKind::kUser, kEvents);
  }

  // A table keyed by an int64 primary key.
  inline static const Schema kNotes{
      .columns = {{"id", ColumnType::kInt64, false},
                  {"title", ColumnType::kString, false},
                  {"done", ColumnType::kBool, true},
                  {"tags", ColumnType::kJson, true}},
      .primary_key = "id"};
  // A table without a primary key: ids are generated.
  inline static const Schema kEvents{
      .columns = {{"kind", ColumnType::kString, false},
                  {"at", ColumnType::kTimestamp, true}}};

  TableInfo notes_, events_;
};

// User ids chosen to break a naive encoding: prefixes of each other,
// embedded 0x00 and 0xFF, and the bytes the escape itself uses.
const std::vector<std::string> kAdversarialUsers = {
    "a",
    "ab",
    "b",
    std::string("a\x00", 2),
    std::string("a\x00\x01", 3),
    std::string("a\x00\xff", 3),
    std::string("a\x00\x00", 3),
    std::string("\x00", 1),
    std::string("\x01", 1),
    "\xff",
    "a\xff",
    "\xff\xff",
    std::string(kMaxUserIdLength, 'z')};

TEST_P(UserTableTest, PutGetAndScanOneUsersRows) {
  auto id =
      users().put("app", "notes", "alice", {{"id", 2}, {"title", "second"}});
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, "2");
  ASSERT_TRUE(
      users()
          .put("app", "notes", "alice", {{"id", -1}, {"title", "first"}})
          .ok());
  auto row = users().get("app", "notes", "alice", "2");
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ(row->user_id, "alice");
  EXPECT_EQ(row->row_id, "2");
  EXPECT_EQ(row->data, (json{{"id", 2},
                             {"title", "second"},
                             {"done", nullptr},
                             {"tags", nullptr}}));
  auto rows = users().scan("app", "notes", "alice");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].row_id, "-1");  // int64 keys sort numerically
  EXPECT_EQ((*rows)[1].row_id, "2");

  // put with an existing key replaces the row.
  ASSERT_TRUE(users()
                  .put("app", "notes", "alice", {{"id", 2}, {"title", "again"}})
                  .ok());
  EXPECT_EQ(users().get("app", "notes", "alice", "2")->data["title"], "again");
  EXPECT_EQ(users().scan("app", "notes", "alice")->size(), 2u);
}

TEST_P(UserTableTest, GeneratedIdsFollowInsertionOrder) {
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    auto id = users().put(
        "app", "events", "u",
        {{"kind", "k" + std::to_string(i)}, {"at", "2024-05-01T00:00:00Z"}});
    ASSERT_TRUE(id.ok()) << id.status();
    EXPECT_EQ(id->size(), 32u);
    ids.push_back(*id);
  }
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  auto rows = users().scan("app", "events", "u");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ((*rows)[i].row_id, ids[i]);
    EXPECT_EQ((*rows)[i].data["kind"], "k" + std::to_string(i));
    EXPECT_EQ((*rows)[i].data["at"], 1714521600000);
  }
  auto one = users().get("app", "events", "u", ids[3]);
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(one->data["kind"], "k3");
}

TEST_P(UserTableTest, EachUserSeesOnlyTheirOwnRows) {
  // Every user writes the same primary keys with their own values.
  for (size_t u = 0; u < kAdversarialUsers.size(); ++u) {
    for (int id = 1; id <= 3; ++id) {
      auto put =
          users().put("app", "notes", kAdversarialUsers[u],
                      {{"id", id}, {"title", "user" + std::to_string(u)}});
      ASSERT_TRUE(put.ok()) << put.status();
    }
    // And one key nobody else has.
    ASSERT_TRUE(users()
                    .put("app", "notes", kAdversarialUsers[u],
                         {{"id", 100 + static_cast<int>(u)},
                          {"title", "user" + std::to_string(u)}})
                    .ok());
  }
  for (size_t u = 0; u < kAdversarialUsers.size(); ++u) {
    const std::string& user = kAdversarialUsers[u];
    const std::string mine = "user" + std::to_string(u);
    auto rows = users().scan("app", "notes", user);
    ASSERT_TRUE(rows.ok()) << rows.status();
    ASSERT_EQ(rows->size(), 4u) << u;
    for (const Row& r : *rows) {
      EXPECT_EQ(r.user_id, user);
      EXPECT_EQ(r.data["title"], mine) << u;
    }
    for (int id = 1; id <= 3; ++id) {
      auto row = users().get("app", "notes", user, std::to_string(id));
      ASSERT_TRUE(row.ok()) << row.status();
      EXPECT_EQ(row->data["title"], mine);
    }
    // Another user's unique key is not there for this user.
    for (size_t v = 0; v < kAdversarialUsers.size(); ++v) {
      if (v == u) continue;
      auto other = users().get("app", "notes", user, std::to_string(100 + v));
      EXPECT_EQ(other.status().code(), Code::kNotFound) << u << " " << v;
      EXPECT_EQ(
          users().del("app", "notes", user, std::to_string(100 + v)).code(),
          Code::kNotFound);
      EXPECT_EQ(users()
                    .update("app", "notes", user, std::to_string(100 + v),
                            {{"title", "stolen"}})
                    .status()
                    .code(),
                Code::kNotFound);
    }
  }
  // scan_all sees everyone, each row with its owner, ordered by user.
  auto all = users().scan_all("app", "notes");
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), kAdversarialUsers.size() * 4);
  std::map<std::string, int> per_user;
  for (size_t i = 0; i < all->size(); ++i) {
    const Row& r = (*all)[i];
    ++per_user[r.user_id];
    const auto u = std::find(kAdversarialUsers.begin(), kAdversarialUsers.end(),
                             r.user_id) -
                   kAdversarialUsers.begin();
    EXPECT_EQ(r.data["title"], "user" + std::to_string(u));
    if (i > 0) {
      EXPECT_LE((*all)[i - 1].user_id, r.user_id);
    }
  }
  EXPECT_EQ(per_user.size(), kAdversarialUsers.size());
  for (const auto& [user, count] : per_user) EXPECT_EQ(count, 4);
}

TEST_P(UserTableTest, UserIdsAreOneTo128Bytes) {
  auto empty = users().put("app", "notes", "", {{"id", 1}, {"title", "t"}});
  EXPECT_EQ(empty.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(empty.status().message(),
              AllOf(HasSubstr("put into app.notes"),
                    HasSubstr("the user id is empty; a user id is 1 to 128")));
  EXPECT_EQ(users().scan("app", "notes", "").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(users().get("app", "notes", "", "1").status().code(),
            Code::kInvalidArgument);
  auto too_long = users().put("app", "notes", std::string(129, 'u'),
                              {{"id", 1}, {"title", "t"}});
  EXPECT_EQ(too_long.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(too_long.status().message(), HasSubstr("is 129 bytes"));
  EXPECT_TRUE(raw_table(notes_.id).empty());
}

TEST_P(UserTableTest, KeysTooLongForTheBackendAreRefusedClearly) {
  // A worst-case user id (every byte escaped) and a long string key.
  const Schema by_name{.columns = {{"name", ColumnType::kString, false}},
                       .primary_key = "name"};
  make_table("app", "by_name", TableKind::kUser, by_name);
  const std::string user(kMaxUserIdLength, '\0');
  const std::string name(400, 'n');
  auto put = users().put("app", "by_name", user, {{"name", name}});
  const uint64_t max = db_->plugin().max_key_size();
  const size_t key_size = 8 + 2 * kMaxUserIdLength + 2 + name.size() + 2;
  if (max != 0 && key_size > max) {
    EXPECT_EQ(put.status().code(), Code::kInvalidArgument);
    EXPECT_THAT(
        put.status().message(),
        AllOf(HasSubstr("is " + std::to_string(key_size) + " bytes encoded"),
              HasSubstr("allows keys of at most " + std::to_string(max))));
  } else {
    ASSERT_TRUE(put.ok()) << put.status();
    EXPECT_EQ(users().get("app", "by_name", user, name)->data["name"], name);
  }
}

TEST_P(UserTableTest, InvalidRowsNameTheColumnAndWriteNothing) {
  auto wrong = users().put("app", "notes", "u", {{"id", "x"}, {"title", 1}});
  EXPECT_EQ(wrong.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(wrong.status().message(),
              AllOf(HasSubstr("put into app.notes for user 'u'"),
                    HasSubstr("column 'id' expects int64, got string")));
  auto unknown = users().put("app", "notes", "u",
                             {{"id", 1}, {"title", "t"}, {"color", "red"}});
  EXPECT_THAT(unknown.status().message(), HasSubstr("unknown column 'color'"));
  auto missing = users().put("app", "notes", "u", {{"id", 1}});
  EXPECT_THAT(missing.status().message(),
              HasSubstr("missing column 'title', which is not nullable "
                        "(expects string)"));
  EXPECT_TRUE(raw_table(notes_.id).empty());
}

TEST_P(UserTableTest, PutManyIsAllOrNothing) {
  const std::vector<json> rows = {{{"id", 1}, {"title", "a"}},
                                  {{"id", 2}, {"title", 2}},
                                  {{"id", 3}, {"title", "c"}}};
  auto bad = users().put_many("app", "notes", "u", rows);
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(bad.status().message(),
              HasSubstr("row 1: column 'title' expects string"));
  EXPECT_TRUE(raw_table(notes_.id).empty());

  const std::vector<json> good = {{{"id", 3}, {"title", "c"}},
                                  {{"id", 1}, {"title", "a"}}};
  auto ids = users().put_many("app", "notes", "u", good);
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_EQ(*ids, (std::vector<std::string>{"3", "1"}));
  EXPECT_EQ(users().scan("app", "notes", "u")->size(), 2u);
}

TEST_P(UserTableTest, UpdateMergesValidatesAndKeepsTheKey) {
  ASSERT_TRUE(users()
                  .put("app", "notes", "u",
                       {{"id", 7}, {"title", "t"}, {"done", false}})
                  .ok());
  auto updated = users().update("app", "notes", "u", "7",
                                {{"done", true}, {"tags", {"x"}}});
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->data,
            (json{{"id", 7}, {"title", "t"}, {"done", true}, {"tags", {"x"}}}));
  EXPECT_EQ(users().get("app", "notes", "u", "7")->data, updated->data);

  // null clears a nullable column; a non-nullable one refuses it.
  auto cleared = users().update("app", "notes", "u", "7", {{"tags", nullptr}});
  ASSERT_TRUE(cleared.ok()) << cleared.status();
  EXPECT_TRUE(cleared->data["tags"].is_null());
  auto null_title =
      users().update("app", "notes", "u", "7", {{"title", nullptr}});
  EXPECT_THAT(null_title.status().message(),
              HasSubstr("null in column 'title', which is not nullable"));

  auto wrong = users().update("app", "notes", "u", "7", {{"done", "yes"}});
  EXPECT_THAT(wrong.status().message(),
              AllOf(HasSubstr("update app.notes for user 'u' row '7'"),
                    HasSubstr("column 'done' expects bool")));
  auto unknown = users().update("app", "notes", "u", "7", {{"colour", 1}});
  EXPECT_THAT(unknown.status().message(), HasSubstr("unknown column 'colour'"));
  auto rekey = users().update("app", "notes", "u", "7", {{"id", 8}});
  EXPECT_THAT(rekey.status().message(),
              HasSubstr("the primary key column 'id' cannot be changed by "
                        "update (from 7 to 8)"));
  // Same key value is fine.
  EXPECT_TRUE(users().update("app", "notes", "u", "7", {{"id", 7}}).ok());
  auto not_object = users().update("app", "notes", "u", "7", json::array());
  EXPECT_THAT(not_object.status().message(),
              HasSubstr("the changes must be a JSON object"));
  auto missing = users().update("app", "notes", "u", "8", {{"done", true}});
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("there is no such row"));
  auto bad_id = users().update("app", "notes", "u", "seven", {{"done", true}});
  EXPECT_EQ(bad_id.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(bad_id.status().message(), HasSubstr("is not an int64"));

  EXPECT_EQ(
      users().get("app", "notes", "u", "7")->data,
      (json{{"id", 7}, {"title", "t"}, {"done", true}, {"tags", nullptr}}));
}

TEST_P(UserTableTest, DeleteRemovesOnlyThatUsersRow) {
  for (const char* user : {"a", "b"}) {
    ASSERT_TRUE(
        users().put("app", "notes", user, {{"id", 1}, {"title", user}}).ok());
  }
  ASSERT_TRUE(users().del("app", "notes", "a", "1").ok());
  EXPECT_EQ(users().get("app", "notes", "a", "1").status().code(),
            Code::kNotFound);
  Status again = users().del("app", "notes", "a", "1");
  EXPECT_EQ(again.code(), Code::kNotFound);
  EXPECT_THAT(again.message(),
              HasSubstr("delete from app.notes for user 'a' row '1'"));
  EXPECT_EQ(users().get("app", "notes", "b", "1")->data["title"], "b");
}

TEST_P(UserTableTest, SharedTablesAreNotUserTables) {
  make_table(
      "app", "config", TableKind::kShared,
      {.columns = {{"k", ColumnType::kString, false}}, .primary_key = "k"});
  auto put = users().put("app", "config", "u", {{"k", "x"}});
  EXPECT_EQ(put.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(put.status().message(),
              HasSubstr("app.config is a shared table, not a user table"));
  auto shared_on_user = shared().scan("app", "notes");
  EXPECT_THAT(shared_on_user.status().message(),
              HasSubstr("app.notes is a user table; use UserTableStore"));
  EXPECT_EQ(users().scan("app", "nope", "u").status().code(), Code::kNotFound);
}

TEST_P(UserTableTest, CursorsStreamInBatches) {
  std::vector<json> rows;
  for (int i = 0; i < 1000; ++i) rows.push_back({{"id", i}, {"title", "t"}});
  ASSERT_TRUE(users().put_many("app", "notes", "u", rows).ok());
  ASSERT_TRUE(
      users().put("app", "notes", "v", {{"id", 5}, {"title", "t"}}).ok());
  auto cursor = users().iter("app", "notes", "u");
  ASSERT_TRUE(cursor.ok()) << cursor.status();
  cursor->set_batch_size(7);
  int expected = 0;
  while (cursor->next()) {
    EXPECT_EQ(cursor->row().row_id, std::to_string(expected));
    EXPECT_EQ(cursor->row().user_id, "u");
    ++expected;
  }
  ASSERT_TRUE(cursor->status().ok()) << cursor->status();
  EXPECT_EQ(expected, 1000);
  EXPECT_FALSE(cursor->next());  // stays at the end

  auto all = users().iter_all("app", "notes");
  ASSERT_TRUE(all.ok()) << all.status();
  int count = 0;
  std::string last_user;
  while (all->next()) {
    ++count;
    last_user = all->row().user_id;
  }
  EXPECT_TRUE(all->status().ok()) << all->status();
  EXPECT_EQ(count, 1001);
  EXPECT_EQ(last_user, "v");
}

TEST_P(UserTableTest, ALiveCursorKeepsTheDatabaseOpen) {
  ASSERT_TRUE(
      users().put("app", "notes", "u", {{"id", 1}, {"title", "t"}}).ok());
  {
    auto cursor = users().iter("app", "notes", "u");
    ASSERT_TRUE(cursor.ok()) << cursor.status();
    EXPECT_EQ(db_->db().close().code(), Code::kBusy);
    ASSERT_TRUE(cursor->next());
    EXPECT_EQ(cursor->row().row_id, "1");
  }
  // Gone: the database can close (TestDb's teardown checks it).
}

TEST_P(UserTableTest, ConcurrentUpdatesOfOneRowLoseNothing) {
  const Schema wide{.columns = {{"id", ColumnType::kInt64, false},
                                {"c0", ColumnType::kInt64, true},
                                {"c1", ColumnType::kInt64, true},
                                {"c2", ColumnType::kInt64, true},
                                {"c3", ColumnType::kInt64, true}},
                    .primary_key = "id"};
  make_table("app", "wide", TableKind::kUser, wide);
  ASSERT_TRUE(users().put("app", "wide", "u", {{"id", 1}}).ok());
  constexpr int kRounds = 100;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int c = 0; c < 4; ++c) {
    threads.emplace_back([this, c, &failures] {
      for (int i = 1; i <= kRounds; ++i) {
        auto r = users().update("app", "wide", "u", "1",
                                {{"c" + std::to_string(c), i}});
        if (!r.ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  auto row = users().get("app", "wide", "u", "1");
  ASSERT_TRUE(row.ok()) << row.status();
  for (int c = 0; c < 4; ++c) {
    EXPECT_EQ(row->data["c" + std::to_string(c)], kRounds) << c;
  }
}

TEST_P(UserTableTest, WritesRacingADropStrandNoRows) {
  for (int round = 0; round < 5; ++round) {
    TableInfo t = make_table("app", "race", TableKind::kUser, kNotes);
    std::atomic<bool> stop{false};
    std::atomic<int> written{0};
    std::vector<std::thread> writers;
    for (int w = 0; w < 3; ++w) {
      writers.emplace_back([this, w, &stop, &written] {
        for (int i = 0; !stop; ++i) {
          auto r = users().put("app", "race", "u" + std::to_string(w),
                               {{"id", i}, {"title", "t"}});
          if (r.ok()) {
            ++written;
          } else {
            EXPECT_EQ(r.status().code(), Code::kNotFound) << r.status();
            return;  // the table is gone
          }
        }
      });
    }
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (written < 20 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    EXPECT_GE(written, 20);
    ASSERT_TRUE(catalog().drop_table("app", "race").ok());
    stop = true;
    for (auto& th : writers) th.join();
    EXPECT_TRUE(raw_table(t.id).empty()) << "round " << round;
  }
}

// A row nested 100,000 levels deep, handed to every write of the API, is
// refused with INVALID_ARGUMENT naming the limit; nothing is written and
// nothing crashes (it used to overflow the stack dumping the value).
TEST_P(UserTableTest, DeeplyNestedRowsAreRefusedAndWriteNothing) {
  // Built by the library's parser, which does not recurse; only moved here,
  // never copied (a copy recurses per level).
  const std::string nested =
      std::string(100'000, '[') + std::string(100'000, ']');
  auto with_deep = [&nested](json row, const std::string& column) {
    row[column] = json::parse(nested);
    return row;
  };
  ASSERT_TRUE(
      users().put("app", "notes", "alice", {{"id", 1}, {"title", "t"}}).ok());
  const KV before = raw_table(notes_.id);

  auto in_json = users().put("app", "notes", "alice",
                             with_deep({{"id", 2}, {"title", "t"}}, "tags"));
  EXPECT_EQ(in_json.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(in_json.status().message(), HasSubstr("128 levels"));
  auto in_string =
      users().put("app", "notes", "alice", with_deep({{"id", 2}}, "title"));
  EXPECT_EQ(in_string.status().code(), Code::kInvalidArgument);
  EXPECT_LT(in_string.status().message().size(), 300u);
  auto bare = users().put("app", "notes", "alice", json::parse(nested));
  EXPECT_EQ(bare.status().code(), Code::kInvalidArgument);
  EXPECT_LT(bare.status().message().size(), 300u);
  std::vector<json> many;
  many.push_back(json{{"id", 3}, {"title", "ok"}});
  many.push_back(with_deep({{"id", 4}, {"title", "t"}}, "tags"));
  auto batch = users().put_many("app", "notes", "alice", many);
  EXPECT_EQ(batch.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(batch.status().message(), HasSubstr("row 1"));

  auto update = users().update("app", "notes", "alice", "1",
                               with_deep(json::object(), "tags"));
  EXPECT_EQ(update.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(update.status().message(), HasSubstr("128 levels"));
  auto update_title = users().update("app", "notes", "alice", "1",
                                     with_deep(json::object(), "title"));
  EXPECT_EQ(update_title.status().code(), Code::kInvalidArgument);
  EXPECT_LT(update_title.status().message().size(), 300u);

  auto shared_table = make_table("app", "config", TableKind::kShared,
                                 Schema{.columns = {{"j", ColumnType::kJson}}});
  auto shared_put =
      shared().put("app", "config", with_deep(json::object(), "j"));
  EXPECT_EQ(shared_put.status().code(), Code::kInvalidArgument);
  auto log =
      catalog().create_table({.ns = "app",
                              .name = "log",
                              .kind = TableKind::kStream,
                              .schema = {.columns = {{"j", ColumnType::kJson}}},
                              .options = {.max_rows = 10}});
  ASSERT_TRUE(log.ok()) << log.status();
  auto appended = stream().append("app", "log", with_deep(json::object(), "j"));
  EXPECT_EQ(appended.status().code(), Code::kInvalidArgument);

  EXPECT_EQ(raw_table(notes_.id), before);
  EXPECT_TRUE(raw_table(shared_table.id).empty());
  EXPECT_TRUE(raw_table(log->id).empty());
}

// A stored row nested deeper than any row the API accepts (written around
// the table layer, e.g. a raw `kalam put` into kalam.tables) reads as
// CORRUPTION naming the limit, from a get and from a scan; nothing crashes
// (printing such a value used to overflow the stack).
TEST_P(UserTableTest, ADeeplyNestedStoredRowReadsAsCorruption) {
  ASSERT_TRUE(
      users().put("app", "notes", "alice", {{"id", 1}, {"title", "t"}}).ok());
  const KV stored = raw_table(notes_.id);
  ASSERT_EQ(stored.size(), 1u);
  const std::string deep = R"({"id":1,"title":"t","tags":)" +
                           std::string(100'000, '[') +
                           std::string(100'000, ']') + "}";
  auto family = db_->db().column_family(kTablesFamily);
  ASSERT_TRUE(family.ok()) << family.status();
  WriteBatch batch;
  batch.put(*family, stored[0].first, deep);
  ASSERT_TRUE(db_->db().write(batch).ok());

  auto got = users().get("app", "notes", "alice", "1");
  EXPECT_EQ(got.status().code(), Code::kCorruption);
  EXPECT_THAT(got.status().message(), HasSubstr("128 levels"));
  EXPECT_LT(got.status().message().size(), 600u);
  auto cursor = users().iter("app", "notes", "alice");
  ASSERT_TRUE(cursor.ok()) << cursor.status();
  size_t rows = 0;
  while (cursor->next()) ++rows;
  EXPECT_EQ(rows, 0u);
  EXPECT_EQ(cursor->status().code(), Code::kCorruption);
}

INSTANTIATE_TEST_SUITE_P(Backends, UserTableTest,
                         ::testing::ValuesIn(test::all_backends()),
                         test::backend_name);

}  // namespace
}  // namespace kalam::tables
