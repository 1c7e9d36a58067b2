// Atomicity of SQL writes under storage faults: the faulty plugin wraps each
// backend and fails one call in the middle of a statement (a read of its
// uniqueness checks) or its commit (the one batch write). Nothing of the
// statement may then be applied, and the session stays usable.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <kalam/plugin.h>
#include <kalam/sql/session.h>
#include <kalam/tables/tables.h>
#include <kalam/test_paths.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "temp_dir.h"
#include "test_db.h"

namespace kalam::sql {
namespace {

using tables::ColumnType;
using tables::Schema;
using tables::TableKind;

// The faulty plugin declares its inner backend's capabilities when it is
// loaded, so one process wraps one backend: KALAM_FAULTY_INNER (ctest runs
// this test once per backend), else memory.
std::string inner_backend() {
  const char* env = std::getenv("KALAM_FAULTY_INNER");
  return env != nullptr && env[0] != '\0' ? env : "memory";
}

class SqlFaultTest : public ::testing::Test {
 protected:
  struct Opened {
    std::unique_ptr<Database> db;
    std::unique_ptr<tables::Tables> tables;
    ~Opened() {
      tables.reset();
      if (db) (void)db->close();
    }
  };

  // A database behind the faulty plugin wrapping the backend under test,
  // failing call `fail_call` of kind `kind` (none when negative), with
  // app.notes and user alice's rows 1..5 in it.
  std::unique_ptr<Opened> open(const std::filesystem::path& dir,
                               const std::string& kind, int64_t fail_call) {
    auto plugin = load_plugin("faulty", {KALAM_TEST_PLUGIN_DIR});
    EXPECT_TRUE(plugin.ok()) << plugin.status();
    if (!plugin.ok()) return nullptr;
    std::vector<BackendOption> options = {{"inner", inner_backend(), 0},
                                          {"fail_kind", kind, 0}};
    if (fail_call >= 0) {
      options.push_back({"fail_call", std::to_string(fail_call), 0});
    }
    auto db = Database::open(*plugin, dir, options);
    EXPECT_TRUE(db.ok()) << db.status();
    if (!db.ok()) return nullptr;
    auto out = std::make_unique<Opened>();
    out->db = std::move(*db);
    auto t = tables::Tables::open(*out->db, {.background = false});
    EXPECT_TRUE(t.ok()) << t.status();
    if (!t.ok()) return nullptr;
    out->tables = std::move(*t);
    EXPECT_TRUE(out->tables->catalog().create_namespace("app").ok());
    EXPECT_TRUE(
        out->tables->catalog()
            .create_table(
                {.ns = "app",
                 .name = "notes",
                 .kind = TableKind::kUser,
                 .schema = {.columns = {{"id", ColumnType::kInt64, false},
                                        {"title", ColumnType::kString, false}},
                            .primary_key = "id"}})
            .ok());
    for (int i = 1; i <= 5; ++i) {
      EXPECT_TRUE(out->tables->user()
                      .put("app", "notes", "alice",
                           {{"id", i}, {"title", "t" + std::to_string(i)}})
                      .ok());
    }
    return out;
  }

  static uint64_t calls(Database& db) {
    auto v = db.property(ColumnFamily(), "faulty.calls");
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? std::stoull(*v) : 0;
  }

  // Runs `sql` with the `nth` call of `kind` after the setup failing; checks
  // that it fails and that alice's rows are exactly what they were.
  void expect_nothing_applied(const std::string& kind, uint64_t nth,
                              const std::string& sql) {
    uint64_t setup_calls = 0;
    {
      test::TempDir probe;
      auto clean = open(probe.path() / "db", kind, -1);
      ASSERT_NE(clean, nullptr);
      setup_calls = calls(*clean->db);
    }
    test::TempDir dir;
    auto faulty =
        open(dir.path() / "db", kind, static_cast<int64_t>(setup_calls + nth));
    ASSERT_NE(faulty, nullptr);
    auto before = faulty->tables->user().scan("app", "notes", "alice");
    ASSERT_TRUE(before.ok()) << before.status();
    auto session = Session::open(*faulty->tables, SessionUser::user("alice"));
    ASSERT_TRUE(session.ok()) << session.status();
    Status s = (*session)->execute(sql);
    ASSERT_FALSE(s.ok()) << kind << " call " << nth << " did not fail: " << sql;
    EXPECT_EQ(s.code(), Code::kIoError) << s;
    EXPECT_THAT(s.message(), ::testing::HasSubstr("injected"));
    auto after = faulty->tables->user().scan("app", "notes", "alice");
    ASSERT_TRUE(after.ok()) << after.status();
    EXPECT_EQ(*after, *before)
        << "a failed statement applied something: " << sql;
    // The session still works.
    Status again = (*session)->execute(
        "INSERT INTO app.notes(id, title) VALUES (99, 'later')");
    EXPECT_TRUE(again.ok()) << again;
    EXPECT_TRUE(faulty->tables->user().get("app", "notes", "alice", "99").ok());
  }
};

TEST_F(SqlFaultTest, ReadFailingMidStatementAppliesNothing) {
  // Each inserted row's uniqueness check reads; the third read fails.
  expect_nothing_applied("read", 2,
                         "INSERT INTO app.notes(id, title) VALUES (10, 'a'), "
                         "(11, 'b'), (12, 'c'), (13, 'd')");
}

TEST_F(SqlFaultTest, CommitWriteFailingAppliesNothing) {
  // A batch with an INSERT carries expectations (the inserted keys must be
  // absent): on a backend with conditional writes it is a write_conditional
  // call, so both kinds of write are counted (and the first one fails).
  const std::string writes = "write,write_conditional";
  expect_nothing_applied(writes, 0,
                         "DELETE FROM app.notes WHERE id <= 3; "
                         "INSERT INTO app.notes(id, title) VALUES (20, 'x')");
  expect_nothing_applied(writes, 0,
                         "INSERT INTO app.notes(id, title) VALUES (20, 'x'), "
                         "(21, 'y')");
  expect_nothing_applied(writes, 0,
                         "BEGIN; UPDATE app.notes SET title = 'u'; INSERT "
                         "INTO app.notes(id, title) VALUES (21, 'y'); "
                         "DELETE FROM app.notes WHERE id = 5; COMMIT");
}

}  // namespace
}  // namespace kalam::sql
