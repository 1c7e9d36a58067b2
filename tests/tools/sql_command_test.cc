// `kalam sql` on every persistent backend: one-shot statements for a user
// and an administrator, the three output formats, --explain, scripts from a
// file and stdin, the shell driven through stdin, errors with positions and
// exit codes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kalam_cli.h"

namespace kalam::test {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class SqlCommandTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ok({"ns", "create", "app"});
    ok({"table", "create", "app.notes", "--kind", "user", "--column",
        "id:int64", "--column", "title:string", "--column",
        "done:bool:nullable", "--primary-key", "id"});
    ok({"insert", "app.notes", "--user", "alice", R"({"id": 1, "title": "a1"})",
        R"({"id": 2, "title": "a2", "done": true})"});
    ok({"insert", "app.notes", "--user", "bob", R"({"id": 1, "title": "b1"})"});
  }

  CliResult kalam(std::vector<std::string> args,
                  const std::filesystem::path& stdin_file = "/dev/null") {
    args.push_back("--config");
    args.push_back(config_);
    return run_kalam(dir_, args, stdin_file);
  }
  std::string ok(std::vector<std::string> args,
                 const std::filesystem::path& stdin_file = "/dev/null") {
    CliResult r = kalam(args, stdin_file);
    EXPECT_EQ(r.exit_code, 0) << args[0] << ": " << r;
    EXPECT_EQ(r.err, "") << args[0] << ": " << r;
    return r.out;
  }

  TempDir dir_;
  std::string config_ = write_config(dir_, "db", GetParam());
};

TEST_P(SqlCommandTest, OneShotFormatsAndIsolation) {
  EXPECT_EQ(ok({"sql", "--user", "alice",
                "SELECT id, title, done FROM app.notes ORDER BY id"}),
            "id | title | done\n"
            "---+-------+-----\n"
            "1  | a1    | NULL\n"
            "2  | a2    | 1\n");
  // bob's rows are out of alice's reach, whatever she writes.
  EXPECT_EQ(ok({"sql", "--user", "alice", "--format", "csv",
                "SELECT count(*) AS n FROM app.notes WHERE user_id = 'bob' "
                "OR 1=1"}),
            "n\n2\n");
  const auto lines = lines_of(
      ok({"sql", "--admin", "--format", "json",
          "SELECT user_id, id, title FROM app.notes ORDER BY user_id, id"}));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(json::parse(lines[2]),
            json({{"user_id", "bob"}, {"id", 1}, {"title", "b1"}}));
  // Writes, then reads by the table commands.
  ok({"sql", "--user", "bob",
      "INSERT INTO app.notes(id, title) VALUES (5, 'b5'); UPDATE app.notes "
      "SET done = 0 WHERE id = 1"});
  EXPECT_THAT(ok({"select", "app.notes", "--user", "bob"}),
              HasSubstr("\"title\":\"b5\""));
  EXPECT_THAT(ok({"select", "app.notes", "--user", "bob", "--where", "id=1"}),
              HasSubstr("\"done\":false"));
}

TEST_P(SqlCommandTest, ExplainShowsPushdown) {
  const std::string plan = ok({"sql", "--admin", "--explain",
                               "SELECT * FROM app.notes WHERE user_id = 'bob' "
                               "AND id = 1"});
  EXPECT_THAT(plan, HasSubstr("point read user_id=? AND id=?"));
  EXPECT_THAT(ok({"sql", "--user", "alice", "--explain",
                  "SELECT * FROM app.notes WHERE id > 1 ORDER BY id"}),
              HasSubstr("key range id>? (ORDER BY consumed)"));
}

TEST_P(SqlCommandTest, ScriptsFromFileAndStdinAndTheShell) {
  const auto script = dir_ / "script.sql";
  write_file(
      script,
      "-- a comment\n"
      "INSERT OR REPLACE INTO app.notes(id, title)\n  VALUES (10, 'ten');\n"
      "SELECT title FROM app.notes WHERE id = 10;\n");
  EXPECT_EQ(ok({"sql", "--user", "alice", "--format", "csv", "--file",
                script.string()}),
            "title\nten\n");
  EXPECT_EQ(
      ok({"sql", "--user", "alice", "--format", "csv", "--file", "-"}, script),
      "title\nten\n");
  // The shell: statements over several lines, dot commands, an error that
  // does not end the session (the exit code reports it).
  const auto input = dir_ / "shell.txt";
  write_file(input,
             ".format csv\n"
             "SELECT id\n  FROM app.notes\n  WHERE id < 3;\n"
             "SELECT nope FROM app.notes;\n"
             ".tables\n"
             "SELECT 'still here';\n"
             ".quit\n");
  CliResult shell = kalam({"sql", "--user", "alice", "--shell"}, input);
  EXPECT_EQ(shell.exit_code, 1) << shell;
  EXPECT_EQ(shell.out,
            "id\n1\n2\ntable,kind\napp.notes,user\n'still here'\nstill here\n");
  EXPECT_THAT(shell.err, HasSubstr("no such column: nope"));
  EXPECT_THAT(shell.err, HasSubstr("line 1, column 8"));
}

TEST_P(SqlCommandTest, ErrorsAndExitCodes) {
  CliResult usage = kalam({"sql", "SELECT 1"});
  EXPECT_EQ(usage.exit_code, 2) << usage;
  EXPECT_THAT(usage.err, HasSubstr("--user USER"));
  CliResult both = kalam({"sql", "--admin", "--user", "x", "SELECT 1"});
  EXPECT_EQ(both.exit_code, 2) << both;

  CliResult typo = kalam({"sql", "--admin",
                          "SELECT 1;\nSELECT titel FROM "
                          "app.notes"});
  EXPECT_EQ(typo.exit_code, 1) << typo;
  EXPECT_THAT(typo.err, StartsWith("kalam: "));
  EXPECT_THAT(typo.err,
              HasSubstr("at line 2, column 8: no such column: titel"));

  CliResult schema = kalam({"sql", "--user", "alice",
                            "INSERT INTO app.notes(id, title) VALUES (3, 4)"});
  EXPECT_EQ(schema.exit_code, 1) << schema;
  EXPECT_THAT(schema.err, HasSubstr("title"));
  CliResult dup = kalam({"sql", "--user", "alice",
                         "INSERT INTO app.notes(id, title) VALUES (7, 'x'), "
                         "(1, 'dup')"});
  EXPECT_EQ(dup.exit_code, 1) << dup;
  EXPECT_THAT(dup.err, HasSubstr("UNIQUE constraint failed"));
  // Nothing of the failed statement was applied.
  EXPECT_EQ(ok({"sql", "--user", "alice", "--format", "csv",
                "SELECT count(*) AS n FROM app.notes WHERE id = 7"}),
            "n\n0\n");
}

INSTANTIATE_TEST_SUITE_P(Backends, SqlCommandTest,
                         ::testing::ValuesIn(persistent_backends()),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace kalam::test
