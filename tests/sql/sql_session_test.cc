// kalam::sql::Session on every backend: catalog-driven schemas, typed
// results and NULLs, DDL visibility, per-user isolation under adversarial
// SQL, pushdown (counted by the virtual tables), writes and their atomicity,
// hybrid reads after a flush, prepared statements.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <kalam/sql/session.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "../tables/tables_fixture.h"

namespace kalam::sql {
namespace {

using tables::Column;
using tables::ColumnType;
using tables::Schema;
using tables::TableKind;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class SqlTest : public tables::TablesTest {
 protected:
  void SetUp() override {
    TablesTest::SetUp();
    make_table("app", "notes", TableKind::kUser,
               Schema{.columns = {{"id", ColumnType::kInt64, false},
                                  {"title", ColumnType::kString, false},
                                  {"score", ColumnType::kFloat64, true},
                                  {"done", ColumnType::kBool, true},
                                  {"blob", ColumnType::kBytes, true},
                                  {"at", ColumnType::kTimestamp, true},
                                  {"meta", ColumnType::kJson, true}},
                      .primary_key = "id"});
    for (const char* user : {"alice", "bob"}) {
      for (int i = 1; i <= 20; ++i) {
        auto id =
            users().put("app", "notes", user,
                        {{"id", i},
                         {"title", std::string(user) + "-" + std::to_string(i)},
                         {"score", i * 0.5},
                         {"done", i % 2 == 0}});
        ASSERT_TRUE(id.ok()) << id.status();
      }
    }
    alice_ = open_session(SessionUser::user("alice"));
    admin_ = open_session(SessionUser::administrator());
  }

  std::unique_ptr<Session> open_session(SessionUser user) {
    auto s = Session::open(*tables_, std::move(user));
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }

  // Every row of `sql` as text cells ("NULL" for NULL), joined by '|'.
  static StatusOr<std::vector<std::string>> rows(Session& session,
                                                 std::string_view sql) {
    std::vector<std::string> out;
    Status s = session.execute(sql, [&](const Statement& st) {
      std::string line;
      for (int i = 0; i < st.column_count(); ++i) {
        if (i > 0) line += "|";
        line +=
            st.column_type(i) == ValueType::kNull ? "NULL" : st.column_text(i);
      }
      out.push_back(line);
      return true;
    });
    KALAM_RETURN_IF_ERROR(s);
    return out;
  }

  std::vector<std::string> must(Session& session, std::string_view sql) {
    auto r = rows(session, sql);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.status();
    return r.ok() ? *r : std::vector<std::string>{};
  }

  std::unique_ptr<Session> alice_;
  std::unique_ptr<Session> admin_;
};

TEST_P(SqlTest, SelectsTypedColumnsAndNulls) {
  ASSERT_TRUE(
      users()
          .put("app", "notes", "alice",
               {{"id", 100},
                {"title", "typed"},
                {"score", 2.5},
                {"done", true},
                {"blob", tables::base64_encode(std::string("\0\x01x", 3))},
                {"at", "2024-05-01T12:30:00Z"},
                {"meta", {{"k", 1}}}})
          .ok());
  auto stmt = alice_->prepare(
      "SELECT id, title, score, done, blob, at, meta, user_id, _row_id "
      "FROM app.notes WHERE id = 100");
  ASSERT_TRUE(stmt.ok()) << stmt.status();
  auto row = stmt->step();
  ASSERT_TRUE(row.ok() && *row) << row.status();
  EXPECT_EQ(stmt->column(0), Value(int64_t{100}));
  EXPECT_EQ(stmt->column(1), Value(std::string("typed")));
  EXPECT_EQ(stmt->column(2), Value(2.5));
  EXPECT_EQ(stmt->column(3), Value(int64_t{1}));
  EXPECT_EQ(stmt->column(4), Value(Blob{std::string("\0\x01x", 3)}));
  EXPECT_EQ(stmt->column(5), Value(int64_t{1714566600000}));
  EXPECT_EQ(stmt->column(6), Value(std::string(R"({"k":1})")));
  EXPECT_EQ(stmt->column(7), Value(std::string("alice")));
  EXPECT_EQ(stmt->column(8), Value(std::string("100")));
  EXPECT_EQ(stmt->column_name(1), "title");
  row = stmt->step();
  ASSERT_TRUE(row.ok());
  EXPECT_FALSE(*row);

  // Nullable columns left out are NULL.
  EXPECT_THAT(must(*alice_, "SELECT blob, at, meta FROM app.notes WHERE id=1"),
              ElementsAre("NULL|NULL|NULL"));
  EXPECT_THAT(
      must(*alice_, "SELECT count(*) FROM app.notes WHERE blob IS NULL"),
      ElementsAre("20"));
  // Aggregates, expressions and json functions work over the rows.
  EXPECT_THAT(must(*alice_,
                   "SELECT sum(score), max(id), json_extract(meta, '$.k') "
                   "FROM app.notes WHERE id >= 20"),
              ElementsAre("12.5|100|1"));
}

TEST_P(SqlTest, ScansPointReadsAndPendingRowsReadValuesAlike) {
  // Scans read each row's stored JSON text member by member (the view
  // path); point reads and a transaction's pending rows read a DOM. Both
  // must hand SQLite the same values, escapes and edge cases included.
  const std::string blob("\0\x01\xff\"\\/", 6);
  const nlohmann::json tricky = {
      {"id", -9007199254740993},
      {"title", "quote \" backslash \\ slash / tab \t nl \n \xc3\xa9 \x01"},
      {"score", 1e-7},
      {"done", false},
      {"blob", tables::base64_encode(blob)},
      {"at", 0},
      {"meta", {{"a", {1, "x]}", nullptr}}, {"b", {{"c", "\""}}}}}};
  ASSERT_TRUE(users().put("app", "notes", "alice", tricky).ok());
  ASSERT_TRUE(users()
                  .put("app", "notes", "alice",
                       {{"id", 9223372036854775807},
                        {"title", ""},
                        {"score", -0.0},
                        {"meta", "just a string"}})
                  .ok());
  const std::string columns =
      "SELECT id, title, score, done, blob, at, meta, typeof(score), "
      "typeof(at), length(blob) FROM app.notes ";
  const std::vector<std::string> scanned =
      must(*alice_, columns + "WHERE title NOT LIKE 'alice-%' ORDER BY id");
  ASSERT_EQ(scanned.size(), 2u);
  EXPECT_EQ(must(*alice_, columns + "WHERE id = -9007199254740993"),
            std::vector<std::string>{scanned[0]});
  EXPECT_EQ(must(*alice_, columns + "WHERE id = 9223372036854775807"),
            std::vector<std::string>{scanned[1]});
  auto stmt = alice_->prepare(columns + "WHERE id < 0");
  ASSERT_TRUE(stmt.ok()) << stmt.status();
  auto row = stmt->step();
  ASSERT_TRUE(row.ok() && *row) << row.status();
  EXPECT_EQ(stmt->column(1), Value(tricky["title"].get<std::string>()));
  EXPECT_EQ(stmt->column(2), Value(1e-7));
  EXPECT_EQ(stmt->column(4), Value(Blob{blob}));
  EXPECT_EQ(nlohmann::json::parse(stmt->column_text(6)), tricky["meta"]);
  (void)stmt->reset();
  // The same rows written in a transaction read the same before COMMIT.
  ASSERT_TRUE(
      rows(*alice_,
           "BEGIN; DELETE FROM app.notes WHERE title NOT LIKE 'alice-%'")
          .ok());
  auto put = alice_->prepare(
      "INSERT INTO app.notes(id, title, score, done, blob, at, meta) "
      "VALUES (?, ?, ?, ?, ?, ?, ?)");
  ASSERT_TRUE(put.ok()) << put.status();
  ASSERT_TRUE(put->bind(1, int64_t{-9007199254740993}).ok());
  ASSERT_TRUE(put->bind(2, tricky["title"].get<std::string>()).ok());
  ASSERT_TRUE(put->bind(3, 1e-7).ok());
  ASSERT_TRUE(put->bind(4, int64_t{0}).ok());
  ASSERT_TRUE(put->bind(5, Blob{blob}).ok());
  ASSERT_TRUE(put->bind(6, int64_t{0}).ok());
  ASSERT_TRUE(put->bind(7, tricky["meta"].dump()).ok());
  auto done = put->step();
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(must(*alice_, columns + "WHERE title NOT LIKE 'alice-%'"),
            std::vector<std::string>{scanned[0]});
  ASSERT_TRUE(rows(*alice_, "ROLLBACK").ok());
}

TEST_P(SqlTest, SystemTablesAreReadOnly) {
  EXPECT_THAT(must(*alice_, "SELECT name FROM system.namespaces"),
              ElementsAre("app"));
  EXPECT_THAT(must(*alice_,
                   "SELECT namespace, name, kind, primary_key FROM "
                   "system.tables"),
              ElementsAre("app|notes|user|id"));
  EXPECT_THAT(
      must(*alice_,
           "SELECT name, type, sql_type, nullable, primary_key FROM "
           "system.columns WHERE table_name = 'notes' AND position < 2"),
      ElementsAre("id|int64|INTEGER|0|1", "title|string|TEXT|0|0"));
  auto r = rows(*admin_, "DELETE FROM system.tables");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("may not be modified"));
}

TEST_P(SqlTest, TablesCreatedOrDroppedAreVisibleToTheNextStatement) {
  auto missing = rows(*admin_, "SELECT * FROM app.later");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(),
              HasSubstr("no such table: app.later"));
  make_table("app", "later", TableKind::kShared,
             Schema{.columns = {{"k", ColumnType::kString, false}},
                    .primary_key = "k"});
  ASSERT_TRUE(shared().put("app", "later", {{"k", "x"}}).ok());
  EXPECT_THAT(must(*admin_, "SELECT k FROM app.later"), ElementsAre("x"));
  // A new namespace too.
  make_table("other", "t", TableKind::kShared,
             Schema{.columns = {{"v", ColumnType::kInt64, true}}});
  ASSERT_TRUE(shared().put("other", "t", {{"v", 7}}).ok());
  EXPECT_THAT(must(*admin_, "SELECT v FROM other.t"), ElementsAre("7"));

  ASSERT_TRUE(catalog().drop_table("app", "later").ok());
  auto gone = rows(*admin_, "SELECT * FROM app.later");
  ASSERT_FALSE(gone.ok());
  EXPECT_THAT(gone.status().message(), HasSubstr("no such table"));
  // Dropped and created again with another schema: the new one is seen.
  make_table("app", "later", TableKind::kShared,
             Schema{.columns = {{"n", ColumnType::kInt64, false}},
                    .primary_key = "n"});
  ASSERT_TRUE(shared().put("app", "later", {{"n", 3}}).ok());
  EXPECT_THAT(must(*admin_, "SELECT n FROM app.later"), ElementsAre("3"));
  // SQL cannot create storage of its own.
  auto ddl = rows(*admin_, "CREATE TABLE app.x(a)");
  ASSERT_FALSE(ddl.ok());
  EXPECT_THAT(ddl.status().message(), HasSubstr("not authorized"));
  auto temp = rows(*admin_, "CREATE TEMP TABLE x(a)");
  ASSERT_FALSE(temp.ok());
}

TEST_P(SqlTest, UserSessionSeesOnlyItsRowsWhateverTheQuery) {
  const std::vector<std::string> adversarial = {
      "SELECT count(*) FROM app.notes WHERE user_id = 'bob'",
      "SELECT count(*) FROM app.notes WHERE (user_id = 'bob' OR 1=1) AND "
      "user_id <> 'alice'",
      "SELECT count(*) FROM app.notes WHERE user_id <> 'alice'",
      "SELECT count(*) FROM app.notes WHERE title LIKE 'bob-%'",
      "SELECT count(*) FROM app.notes a JOIN app.notes b ON a.id = b.id "
      "WHERE b.user_id = 'bob'",
      "SELECT count(*) FROM (SELECT user_id FROM app.notes UNION ALL "
      "SELECT user_id FROM app.notes WHERE user_id='bob') WHERE user_id='bob'",
      "SELECT count(*) FROM app.notes a WHERE EXISTS (SELECT 1 FROM "
      "app.notes b WHERE b.id = a.id AND b.user_id = 'bob')",
      "SELECT count(*) FROM app.notes WHERE id IN (SELECT id FROM app.notes "
      "WHERE user_id = 'bob') AND user_id = 'bob'",
      "SELECT count(*) FROM app.notes WHERE id = 3 AND user_id = 'bob'",
      "SELECT count(*) FROM app.notes WHERE title = 'bob-3'",
  };
  for (const std::string& sql : adversarial) {
    EXPECT_THAT(must(*alice_, sql), ElementsAre("0")) << sql;
  }
  EXPECT_THAT(must(*alice_,
                   "SELECT count(*), min(user_id), max(user_id) FROM "
                   "app.notes WHERE 1=1 OR user_id='bob'"),
              ElementsAre("20|alice|alice"));
  EXPECT_THAT(must(*alice_,
                   "SELECT DISTINCT a.user_id, b.user_id FROM app.notes a, "
                   "app.notes b"),
              ElementsAre("alice|alice"));
  // Writes cannot reach bob's rows either.
  auto steal = rows(*alice_,
                    "INSERT INTO app.notes(user_id, id, title) "
                    "VALUES ('bob', 99, 'x')");
  ASSERT_FALSE(steal.ok());
  EXPECT_THAT(steal.status().message(), HasSubstr("writes only its own rows"));
  EXPECT_TRUE(
      rows(*alice_, "DELETE FROM app.notes WHERE user_id = 'bob'").ok());
  EXPECT_TRUE(rows(*alice_,
                   "UPDATE app.notes SET title='x' WHERE title "
                   "LIKE 'bob%'")
                  .ok());
  auto bob = users().scan("app", "notes", "bob");
  ASSERT_TRUE(bob.ok());
  EXPECT_EQ(bob->size(), 20u);
  for (const auto& row : *bob) EXPECT_NE(row.data["title"], "x");
  // The administrator sees both, each row with its user.
  EXPECT_THAT(
      must(*admin_, "SELECT user_id, count(*) FROM app.notes GROUP BY user_id"),
      ElementsAre("alice|20", "bob|20"));
  EXPECT_THAT(
      must(*admin_, "SELECT title FROM app.notes WHERE user_id='bob' AND id=3"),
      ElementsAre("bob-3"));
}

TEST_P(SqlTest, PrimaryKeyPredicatesAreBoundedScans) {
  alice_->reset_stats();
  EXPECT_THAT(must(*alice_, "SELECT title FROM app.notes WHERE id = 7"),
              ElementsAre("alice-7"));
  EXPECT_EQ(alice_->stats().point_reads, 1u);
  EXPECT_EQ(alice_->stats().full_scans, 0u);
  EXPECT_EQ(alice_->stats().rows_read, 1u);

  alice_->reset_stats();
  EXPECT_THAT(
      must(*alice_, "SELECT id FROM app.notes WHERE id > 5 AND id <= 8"),
      ElementsAre("6", "7", "8"));
  EXPECT_EQ(alice_->stats().range_scans, 1u);
  EXPECT_EQ(alice_->stats().rows_read, 3u);

  alice_->reset_stats();
  EXPECT_THAT(must(*alice_, "SELECT id FROM app.notes WHERE id >= 19"),
              ElementsAre("19", "20"));
  EXPECT_EQ(alice_->stats().rows_read, 2u);

  // LIMIT stops the scan; ORDER BY the key needs no sort.
  alice_->reset_stats();
  EXPECT_THAT(must(*alice_, "SELECT id FROM app.notes ORDER BY id LIMIT 3"),
              ElementsAre("1", "2", "3"));
  EXPECT_LE(alice_->stats().rows_read, 3u);

  alice_->reset_stats();
  EXPECT_THAT(must(*alice_, "SELECT id FROM app.notes LIMIT 2 OFFSET 3"),
              ElementsAre("4", "5"));
  EXPECT_LE(alice_->stats().rows_read, 5u);
  // A filter SQLite applies after the scan: LIMIT is not pushed, and the
  // answer is still right.
  EXPECT_THAT(must(*alice_,
                   "SELECT id FROM app.notes WHERE title LIKE "
                   "'%-1_' LIMIT 2"),
              ElementsAre("10", "11"));
  EXPECT_THAT(must(*alice_,
                   "SELECT id FROM app.notes ORDER BY title DESC "
                   "LIMIT 2"),
              ElementsAre("9", "8"));

  auto plan = must(*alice_,
                   "EXPLAIN QUERY PLAN SELECT * FROM app.notes WHERE id "
                   "BETWEEN 2 AND 4 ORDER BY id");
  ASSERT_FALSE(plan.empty());
  std::string text;
  for (const auto& line : plan) text += line + "\n";
  EXPECT_THAT(text, HasSubstr("key range id>=? AND id<=?"));
  EXPECT_THAT(text, HasSubstr("ORDER BY consumed"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("TEMP B-TREE")));
  auto point =
      must(*alice_, "EXPLAIN QUERY PLAN SELECT * FROM app.notes WHERE id = 1");
  ASSERT_FALSE(point.empty());
  EXPECT_THAT(point.back(), HasSubstr("point read id=?"));

  // Empty and odd bounds.
  EXPECT_THAT(must(*alice_, "SELECT id FROM app.notes WHERE id > 5 AND id < 3"),
              ElementsAre());
  EXPECT_THAT(must(*alice_, "SELECT id FROM app.notes WHERE id = 2.5"),
              ElementsAre());
  EXPECT_THAT(must(*alice_, "SELECT id FROM app.notes WHERE id > 18.5"),
              ElementsAre("19", "20"));
  EXPECT_THAT(must(*alice_, "SELECT id FROM app.notes WHERE id = NULL"),
              ElementsAre());
  EXPECT_THAT(must(*alice_, "SELECT id FROM app.notes WHERE id = '4'"),
              ElementsAre("4"));

  // An administrator's key lookup with the user bounded is a point read.
  admin_->reset_stats();
  EXPECT_THAT(must(*admin_,
                   "SELECT title FROM app.notes WHERE user_id='bob' "
                   "AND id = 9"),
              ElementsAre("bob-9"));
  EXPECT_EQ(admin_->stats().point_reads, 1u);
  // ... and every user's rows come by (user, key).
  auto plan2 = must(*admin_,
                    "EXPLAIN QUERY PLAN SELECT * FROM app.notes ORDER BY "
                    "user_id, id");
  std::string text2;
  for (const auto& line : plan2) text2 += line + "\n";
  EXPECT_THAT(text2, HasSubstr("ORDER BY consumed"));
}

TEST_P(SqlTest, StringKeysAndTablesWithoutKeys) {
  make_table("app", "kv", TableKind::kShared,
             Schema{.columns = {{"k", ColumnType::kString, false},
                                {"v", ColumnType::kInt64, true}},
                    .primary_key = "k"});
  make_table("app", "log", TableKind::kShared,
             Schema{.columns = {{"msg", ColumnType::kString, false}}});
  EXPECT_TRUE(rows(*admin_,
                   "INSERT INTO app.kv VALUES ('b', 2), ('a', 1), "
                   "('c', 3), ('bb', 22)")
                  .ok());
  admin_->reset_stats();
  EXPECT_THAT(must(*admin_, "SELECT k FROM app.kv WHERE k >= 'b' AND k < 'c'"),
              ElementsAre("b", "bb"));
  EXPECT_EQ(admin_->stats().range_scans, 1u);
  EXPECT_EQ(admin_->stats().rows_read, 2u);
  // A non-binary collation is not pushed (and still answered right).
  EXPECT_THAT(must(*admin_,
                   "SELECT k FROM app.kv WHERE k = 'B' COLLATE "
                   "NOCASE"),
              ElementsAre("b"));

  ASSERT_TRUE(
      rows(*admin_, "INSERT INTO app.log(msg) VALUES ('one'), ('two')").ok());
  auto ids = must(*admin_, "SELECT _row_id FROM app.log");
  ASSERT_EQ(ids.size(), 2u);
  admin_->reset_stats();
  EXPECT_THAT(
      must(*admin_, "SELECT msg FROM app.log WHERE _row_id = '" + ids[1] + "'"),
      ElementsAre("two"));
  EXPECT_EQ(admin_->stats().point_reads, 1u);
  // An UPDATE of a table without a key keeps the row's id.
  ASSERT_TRUE(
      rows(*admin_, "UPDATE app.log SET msg = 'uno' WHERE msg = 'one'").ok());
  EXPECT_THAT(must(*admin_, "SELECT _row_id, msg FROM app.log"),
              ElementsAre(ids[0] + "|uno", ids[1] + "|two"));
}

TEST_P(SqlTest, WritesGoThroughTheStores) {
  ASSERT_TRUE(rows(*alice_,
                   "INSERT INTO app.notes(id, title, score) VALUES (50, "
                   "'new', 1.5)")
                  .ok());
  auto row = users().get("app", "notes", "alice", "50");
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ(row->data["title"], "new");
  EXPECT_EQ(row->data["score"], 1.5);

  auto updated = rows(*alice_,
                      "UPDATE app.notes SET title = title || '!', done = 1 "
                      "WHERE id IN (50, 1)");
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(users().get("app", "notes", "alice", "50")->data["title"], "new!");
  EXPECT_EQ(users().get("app", "notes", "alice", "1")->data["done"], true);
  EXPECT_EQ(users().get("app", "notes", "bob", "1")->data["title"], "bob-1");

  // A key change is a delete and a put.
  ASSERT_TRUE(rows(*alice_, "UPDATE app.notes SET id = 51 WHERE id = 50").ok());
  EXPECT_TRUE(
      users().get("app", "notes", "alice", "50").status().is_not_found());
  EXPECT_EQ(users().get("app", "notes", "alice", "51")->data["title"], "new!");

  ASSERT_TRUE(rows(*alice_, "DELETE FROM app.notes WHERE id > 10").ok());
  EXPECT_EQ(users().scan("app", "notes", "alice")->size(), 10u);
  EXPECT_EQ(users().scan("app", "notes", "bob")->size(), 20u);

  // Schema errors are the table layer's.
  auto bad = rows(*alice_, "INSERT INTO app.notes(id, title) VALUES (60, 5)");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("title"));
  auto null_pk = rows(*alice_, "INSERT INTO app.notes(title) VALUES ('x')");
  ASSERT_FALSE(null_pk.ok());
  EXPECT_THAT(null_pk.status().message(), HasSubstr("id"));
  // INSERT of an existing key fails; OR REPLACE / OR IGNORE as in SQLite.
  auto dup = rows(*alice_, "INSERT INTO app.notes(id, title) VALUES (1, 'd')");
  ASSERT_FALSE(dup.ok());
  EXPECT_THAT(dup.status().message(), HasSubstr("UNIQUE constraint failed"));
  ASSERT_TRUE(rows(*alice_,
                   "INSERT OR IGNORE INTO app.notes(id, title) VALUES (1, 'i')")
                  .ok());
  EXPECT_EQ(users().get("app", "notes", "alice", "1")->data["title"],
            "alice-1!");
  ASSERT_TRUE(
      rows(*alice_,
           "INSERT OR REPLACE INTO app.notes(id, title) VALUES (1, 'r')")
          .ok());
  EXPECT_EQ(users().get("app", "notes", "alice", "1")->data["title"], "r");
  // An administrator names the user of what it writes.
  auto no_user =
      rows(*admin_, "INSERT INTO app.notes(id, title) VALUES (70, 'x')");
  ASSERT_FALSE(no_user.ok());
  EXPECT_THAT(no_user.status().message(), HasSubstr("user_id"));
  ASSERT_TRUE(rows(*admin_,
                   "INSERT INTO app.notes(user_id, id, title) VALUES "
                   "('carol', 70, 'c')")
                  .ok());
  EXPECT_EQ(users().get("app", "notes", "carol", "70")->data["title"], "c");
}

TEST_P(SqlTest, StatementsAndTransactionsAreAtomic) {
  // One statement: the failing third row leaves nothing of the first two.
  auto bad = rows(*alice_,
                  "INSERT INTO app.notes(id, title) VALUES (201, 'a'), "
                  "(202, 'b'), (203, NULL), (204, 'd')");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(
      users().get("app", "notes", "alice", "201").status().is_not_found());
  EXPECT_TRUE(
      users().get("app", "notes", "alice", "202").status().is_not_found());

  // BEGIN ... COMMIT: applied together at COMMIT.
  ASSERT_TRUE(rows(*alice_, "BEGIN").ok());
  ASSERT_TRUE(alice_->in_transaction());
  ASSERT_TRUE(
      rows(*alice_, "INSERT INTO app.notes(id, title) VALUES (300, 'x')").ok());
  ASSERT_TRUE(rows(*alice_, "DELETE FROM app.notes WHERE id = 1").ok());
  EXPECT_TRUE(
      users().get("app", "notes", "alice", "300").status().is_not_found());
  EXPECT_TRUE(users().get("app", "notes", "alice", "1").ok());
  ASSERT_TRUE(rows(*alice_, "COMMIT").ok());
  EXPECT_TRUE(users().get("app", "notes", "alice", "300").ok());
  EXPECT_TRUE(
      users().get("app", "notes", "alice", "1").status().is_not_found());

  // ROLLBACK: nothing.
  ASSERT_TRUE(rows(*alice_,
                   "BEGIN; INSERT INTO app.notes(id, title) VALUES "
                   "(301, 'x'); DELETE FROM app.notes; ROLLBACK")
                  .ok());
  EXPECT_TRUE(
      users().get("app", "notes", "alice", "301").status().is_not_found());
  EXPECT_EQ(users().scan("app", "notes", "alice")->size(), 20u);

  // A failed statement inside a transaction is undone alone; the rest
  // commits.
  ASSERT_TRUE(rows(*alice_,
                   "BEGIN; INSERT INTO app.notes(id, title) VALUES "
                   "(302, 'ok')")
                  .ok());
  EXPECT_FALSE(rows(*alice_,
                    "INSERT INTO app.notes(id, title) VALUES (303, "
                    "'a'), (304, NULL)")
                   .ok());
  ASSERT_TRUE(rows(*alice_, "COMMIT").ok());
  EXPECT_TRUE(users().get("app", "notes", "alice", "302").ok());
  EXPECT_TRUE(
      users().get("app", "notes", "alice", "303").status().is_not_found());
}

TEST_P(SqlTest, HybridReadsAfterFlush) {
  auto flushed = tables_->flush("app", "notes");
  ASSERT_TRUE(flushed.ok()) << flushed.status();
  ASSERT_TRUE(
      users().update("app", "notes", "alice", "2", {{"title", "hot"}}).ok());
  ASSERT_TRUE(users().del("app", "notes", "alice", "3").ok());
  EXPECT_THAT(must(*alice_, "SELECT id, title FROM app.notes WHERE id <= 4"),
              ElementsAre("1|alice-1", "2|hot", "4|alice-4"));
  EXPECT_THAT(must(*alice_, "SELECT title FROM app.notes WHERE id = 5"),
              ElementsAre("alice-5"));
  EXPECT_THAT(must(*alice_, "SELECT count(*) FROM app.notes"),
              ElementsAre("19"));
  alice_->reset_stats();
  EXPECT_THAT(must(*alice_,
                   "SELECT id FROM app.notes WHERE id BETWEEN 10 AND "
                   "12"),
              ElementsAre("10", "11", "12"));
  EXPECT_EQ(alice_->stats().rows_read, 3u);
  // Writes through SQL over cold rows: deletes leave tombstones.
  ASSERT_TRUE(rows(*alice_, "DELETE FROM app.notes WHERE id >= 15").ok());
  EXPECT_THAT(must(*alice_, "SELECT count(*) FROM app.notes"),
              ElementsAre("13"));
  EXPECT_EQ(users().scan("app", "notes", "alice")->size(), 13u);
  EXPECT_THAT(must(*admin_, "SELECT count(*) FROM app.notes"),
              ElementsAre("33"));
}

TEST_P(SqlTest, PreparedStatementsWithParameters) {
  auto stmt = alice_->prepare(
      "SELECT title FROM app.notes WHERE id = :id AND title <> ?2");
  ASSERT_TRUE(stmt.ok()) << stmt.status();
  EXPECT_EQ(stmt->parameter_count(), 2);
  const int id = stmt->parameter_index(":id");
  ASSERT_EQ(id, 1);
  for (int i : {3, 4, 5}) {
    ASSERT_TRUE(stmt->bind(id, int64_t{i}).ok());
    ASSERT_TRUE(stmt->bind(2, std::string("nothing")).ok());
    std::vector<std::string> got;
    ASSERT_TRUE(stmt->for_each([&](const Statement& s) {
                      got.push_back(s.column_text(0));
                      return true;
                    })
                    .ok());
    EXPECT_THAT(got, ElementsAre("alice-" + std::to_string(i)));
  }
  EXPECT_FALSE(stmt->bind(3, int64_t{1}).ok());

  auto insert = alice_->prepare(
      "INSERT INTO app.notes(id, title, blob) VALUES (?, ?, ?)");
  ASSERT_TRUE(insert.ok()) << insert.status();
  ASSERT_TRUE(insert->bind(1, int64_t{400}).ok());
  ASSERT_TRUE(insert->bind(2, std::string("p")).ok());
  ASSERT_TRUE(insert->bind(3, Blob{"\xff\x00"}).ok());
  auto done = insert->step();
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_FALSE(*done);
  EXPECT_EQ(users().get("app", "notes", "alice", "400")->data["blob"],
            tables::base64_encode("\xff"));

  // Errors name the position in the statement.
  auto typo = alice_->prepare("SELECT titel FROM app.notes");
  ASSERT_FALSE(typo.ok());
  EXPECT_THAT(typo.status().message(), HasSubstr("line 1, column 8"));
  EXPECT_THAT(typo.status().message(), HasSubstr("no such column: titel"));
}

TEST_P(SqlTest, StreamAndSharedTables) {
  tables::TableSpec spec{
      .ns = "app",
      .name = "events",
      .kind = TableKind::kStream,
      .schema = {.columns = {{"e", ColumnType::kString, false}}}};
  spec.options.max_rows = 100;
  ASSERT_TRUE(catalog().create_table(spec).ok());
  ASSERT_TRUE(
      rows(*alice_, "INSERT INTO app.events(e) VALUES ('a'), ('b')").ok());
  EXPECT_THAT(must(*alice_, "SELECT e FROM app.events"), ElementsAre("a", "b"));
  EXPECT_FALSE(rows(*alice_, "DELETE FROM app.events").ok());
  // A stream append and row writes are one atomic batch: the transaction
  // reads its own pending event, and COMMIT applies both.
  ASSERT_TRUE(rows(*alice_,
                   "BEGIN; INSERT INTO app.events(e) VALUES ('c'); INSERT "
                   "INTO app.notes(id, title) VALUES (500, 'x')")
                  .ok());
  EXPECT_THAT(must(*alice_, "SELECT e FROM app.events"),
              ElementsAre("a", "b", "c"));
  EXPECT_THAT(must(*admin_, "SELECT count(*) FROM app.events"),
              ElementsAre("2"))
      << "another session does not see the pending event";
  ASSERT_TRUE(rows(*alice_, "COMMIT").ok());
  EXPECT_THAT(must(*admin_, "SELECT e FROM app.events"),
              ElementsAre("a", "b", "c"));
  EXPECT_TRUE(users().get("app", "notes", "alice", "500").ok());
  // All or nothing: an event and a row write whose batch fails (a row that
  // exists) leave neither.
  auto mixed = rows(*alice_,
                    "BEGIN; INSERT INTO app.events(e) VALUES ('d'); "
                    "INSERT INTO app.notes(id, title) VALUES (501, 'y')");
  ASSERT_TRUE(mixed.ok()) << mixed.status();
  ASSERT_TRUE(
      users().put("app", "notes", "alice", {{"id", 501}, {"title", "z"}}).ok());
  auto commit = rows(*alice_, "COMMIT");
  ASSERT_FALSE(commit.ok());
  EXPECT_THAT(commit.status().message(), HasSubstr("nothing was applied"));
  if (alice_->in_transaction()) (void)rows(*alice_, "ROLLBACK");
  EXPECT_THAT(must(*alice_, "SELECT count(*) FROM app.events"),
              ElementsAre("3"));
  EXPECT_EQ(users().get("app", "notes", "alice", "501")->data["title"], "z");
}

TEST_P(SqlTest, ATransactionReadsItsOwnWrites) {
  ASSERT_TRUE(rows(*alice_,
                   "BEGIN; INSERT INTO app.notes(id, title) VALUES (300, "
                   "'new'), (0, 'zero'); UPDATE app.notes SET title = 'two' "
                   "WHERE id = 2; DELETE FROM app.notes WHERE id = 3")
                  .ok());
  ASSERT_TRUE(alice_->in_transaction());
  // Point reads.
  EXPECT_THAT(must(*alice_, "SELECT title FROM app.notes WHERE id = 300"),
              ElementsAre("new"));
  EXPECT_THAT(must(*alice_, "SELECT title FROM app.notes WHERE id = 2"),
              ElementsAre("two"));
  EXPECT_THAT(must(*alice_, "SELECT title FROM app.notes WHERE id = 3"),
              ElementsAre());
  // Range scans and full scans, in key order, the pending rows merged in.
  EXPECT_THAT(must(*alice_,
                   "SELECT id, title FROM app.notes WHERE id >= 0 AND id < 5 "
                   "ORDER BY id"),
              ElementsAre("0|zero", "1|alice-1", "2|two", "4|alice-4"));
  EXPECT_THAT(must(*alice_, "SELECT count(*), max(id) FROM app.notes"),
              ElementsAre("21|300"));
  EXPECT_THAT(must(*alice_, "SELECT id FROM app.notes ORDER BY id LIMIT 3"),
              ElementsAre("0", "1", "2"));
  EXPECT_THAT(must(*alice_, "SELECT id FROM app.notes WHERE id > 19"),
              ElementsAre("20", "300"));
  // Nobody else sees them before COMMIT: not the store, not bob, not an
  // administrator session.
  EXPECT_TRUE(
      users().get("app", "notes", "alice", "300").status().is_not_found());
  EXPECT_THAT(
      must(*admin_, "SELECT count(*) FROM app.notes WHERE user_id = 'alice'"),
      ElementsAre("20"));
  // Writes over pending rows: update and delete them, and a key deleted in
  // the transaction can be inserted again.
  ASSERT_TRUE(
      rows(*alice_, "UPDATE app.notes SET title = 'newer' WHERE id = 300")
          .ok());
  ASSERT_TRUE(rows(*alice_, "DELETE FROM app.notes WHERE id = 0").ok());
  ASSERT_TRUE(
      rows(*alice_, "INSERT INTO app.notes(id, title) VALUES (3, 'three')")
          .ok());
  auto dup =
      rows(*alice_, "INSERT INTO app.notes(id, title) VALUES (300, 'x')");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), Code::kAlreadyExists) << dup.status();
  EXPECT_THAT(must(*alice_,
                   "SELECT id, title FROM app.notes WHERE id IN (0, 3, 300) "
                   "ORDER BY id"),
              ElementsAre("3|three", "300|newer"));
  // A savepoint rolled back takes its writes out of what is read.
  ASSERT_TRUE(rows(*alice_,
                   "SAVEPOINT s; DELETE FROM app.notes WHERE id <= 10; "
                   "INSERT INTO app.notes(id, title) VALUES (400, 's')")
                  .ok());
  EXPECT_THAT(must(*alice_, "SELECT count(*) FROM app.notes"),
              ElementsAre("12"));
  ASSERT_TRUE(rows(*alice_, "ROLLBACK TO s; RELEASE s").ok());
  EXPECT_THAT(must(*alice_, "SELECT count(*) FROM app.notes"),
              ElementsAre("21"));
  ASSERT_TRUE(rows(*alice_, "COMMIT").ok());
  EXPECT_EQ(users().get("app", "notes", "alice", "300")->data["title"],
            "newer");
  EXPECT_EQ(users().get("app", "notes", "alice", "3")->data["title"], "three");
  EXPECT_EQ(users().get("app", "notes", "alice", "2")->data["title"], "two");
  EXPECT_TRUE(
      users().get("app", "notes", "alice", "0").status().is_not_found());
  EXPECT_TRUE(
      users().get("app", "notes", "alice", "400").status().is_not_found());
  EXPECT_EQ(users().scan("app", "notes", "alice")->size(), 21u);

  // An administrator's every-user scan merges pending rows of any user, in
  // (user, key) order; a table without a primary key reads its new rows by
  // the ids drawn for them.
  make_table("app", "log", TableKind::kShared,
             Schema{.columns = {{"line", ColumnType::kString, false}}});
  ASSERT_TRUE(rows(*admin_,
                   "BEGIN; INSERT INTO app.notes(user_id, id, title) VALUES "
                   "('bob', 0, 'b0'), ('carol', 1, 'c1'); INSERT INTO "
                   "app.log(line) VALUES ('one'), ('two')")
                  .ok());
  EXPECT_THAT(must(*admin_,
                   "SELECT user_id, id FROM app.notes WHERE id < 2 "
                   "ORDER BY user_id, id"),
              ElementsAre("alice|1", "bob|0", "bob|1", "carol|1"));
  EXPECT_THAT(must(*admin_, "SELECT line FROM app.log"),
              ElementsAre("one", "two"));
  ASSERT_TRUE(
      rows(*admin_, "UPDATE app.log SET line = 'TWO' WHERE line = 'two'").ok());
  const auto ids = must(*admin_,
                        "SELECT _row_id FROM app.log WHERE "
                        "line = 'TWO'");
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_THAT(must(*admin_,
                   "SELECT line FROM app.log WHERE _row_id = '" + ids[0] + "'"),
              ElementsAre("TWO"));
  ASSERT_TRUE(rows(*admin_, "COMMIT").ok());
  auto stored = shared().get("app", "log", ids[0]);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->data["line"], "TWO");
  EXPECT_EQ(shared().scan("app", "log")->size(), 2u);
  EXPECT_TRUE(users().get("app", "notes", "carol", "1").ok());
}

TEST_P(SqlTest, TwoSessionsInsertingOneKeyCannotBothSucceed) {
  auto other = open_session(SessionUser::user("alice"));
  ASSERT_NE(other, nullptr);
  // Both check the key at INSERT time (absent for both: nothing committed
  // yet); the check that counts is the one made atomically at COMMIT.
  ASSERT_TRUE(rows(*alice_,
                   "BEGIN; INSERT INTO app.notes(id, title) VALUES (700, "
                   "'mine'), (701, 'also mine')")
                  .ok());
  ASSERT_TRUE(rows(*other,
                   "BEGIN; INSERT INTO app.notes(id, title) VALUES (700, "
                   "'theirs'), (702, 'also theirs')")
                  .ok());
  ASSERT_TRUE(rows(*alice_, "COMMIT").ok());
  auto lost = rows(*other, "COMMIT");
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.status().code(), Code::kAlreadyExists) << lost.status();
  EXPECT_THAT(lost.status().message(), HasSubstr("nothing was applied"));
  if (other->in_transaction()) (void)rows(*other, "ROLLBACK");
  EXPECT_EQ(users().get("app", "notes", "alice", "700")->data["title"], "mine");
  EXPECT_TRUE(users().get("app", "notes", "alice", "701").ok());
  EXPECT_TRUE(
      users().get("app", "notes", "alice", "702").status().is_not_found());
  // INSERT OR REPLACE is an upsert: it does not conflict.
  ASSERT_TRUE(rows(*other,
                   "INSERT OR REPLACE INTO app.notes(id, title) VALUES (700, "
                   "'replaced')")
                  .ok());
  EXPECT_EQ(users().get("app", "notes", "alice", "700")->data["title"],
            "replaced");

  // Threads, each with its own session, inserting the same keys at once:
  // every key is inserted exactly once.
  constexpr int kThreads = 3;
  constexpr int kKeys = 25;
  std::atomic<int> wins{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto session = Session::open(*tables_, SessionUser::user("alice"));
      ASSERT_TRUE(session.ok()) << session.status();
      for (int k = 0; k < kKeys; ++k) {
        Status s = (*session)->execute(
            "INSERT INTO app.notes(id, title) VALUES (" +
            std::to_string(1000 + k) + ", 'thread " + std::to_string(t) + "')");
        if (s.ok()) {
          ++wins;
        } else {
          EXPECT_EQ(s.code(), Code::kAlreadyExists) << s;
          ++refused;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wins.load(), kKeys);
  EXPECT_EQ(refused.load(), kKeys * (kThreads - 1));
  EXPECT_THAT(must(*alice_, "SELECT count(*) FROM app.notes WHERE id >= 1000"),
              ElementsAre(std::to_string(kKeys)));
}

INSTANTIATE_TEST_SUITE_P(Backends, SqlTest,
                         ::testing::ValuesIn(test::all_backends()),
                         test::backend_name);

}  // namespace
}  // namespace kalam::sql
