// The kalam CLI on the PostgreSQL plugin, against a throwaway server
// (tests/support/postgres_server.h): `kalam migrate` from each embedded
// backend to PostgreSQL and back keeps the data identical, and the CLI
// reports a server it cannot reach with the server's address.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kalam_cli.h"
#include "postgres_server.h"

namespace kalam::test {
namespace {

using ::testing::HasSubstr;

std::string ok(const TempDir& dir, const std::vector<std::string>& args) {
  CliResult r = run_kalam(dir, args);
  EXPECT_EQ(r.exit_code, 0) << r;
  return r.out;
}

// A config for the postgres plugin (its plugin file is in the build's
// plugin directory like the others) with its own schema.
std::string write_postgres_config(const TempDir& dir, const std::string& name,
                                  const PostgresServer& server,
                                  const std::string& conninfo = {}) {
  const std::filesystem::path file = dir / (name + ".yaml");
  write_file(file, "storage:\n  backend: postgres\n  path: " + name +
                       "-data\n  plugin_path: [" KALAM_TEST_PLUGIN_DIR
                       "]\n  options:\n    conninfo: \"" +
                       (conninfo.empty() ? server.conninfo() : conninfo) +
                       "\"\n    schema: " + name + "\n");
  return file.string();
}

void fill(const TempDir& dir, const std::string& config) {
  SeedFamily users{"users", {}};
  for (int i = 0; i < 30; ++i) {
    users.entries["user:" + std::to_string(100 + i)] = std::string(i * 10, 'v');
  }
  seed(dir, config,
       {{"default",
         {{"greeting", "hello"},
          {std::string("\x00\xff", 2), std::string(1, '\0')},
          {std::string(1, '\xff'), "last"}}},
        users,
        {"empty", {}}});
}

std::string contents(const TempDir& dir, const std::string& config) {
  std::string out = ok(dir, {"cf", "list", "--config", config});
  for (const auto& family : lines_of(out)) {
    out +=
        "== " + family + "\n" +
        ok(dir, {"scan", "--cf", family, "--format", "json", "--key-encoding",
                 "hex", "--value-encoding", "hex", "--config", config});
  }
  return out + ok(dir, {"check", "--config", config});
}

TEST(PostgresCli, MigrateFromEachEmbeddedBackendAndBackKeepsTheData) {
  PostgresServer server;
  TempDir dir;
  std::vector<std::string> backends = persistent_backends();
  ASSERT_FALSE(backends.empty());
  for (const std::string& backend : backends) {
    SCOPED_TRACE(backend);
    const std::string source = write_config(dir, backend + "_src", backend);
    fill(dir, source);
    const std::string expected = contents(dir, source);
    ASSERT_THAT(expected, HasSubstr("check: 3 column families, 33 entries"));
    const std::string pg =
        write_postgres_config(dir, "on_pg_" + backend, server);
    std::string out = ok(
        dir, {"migrate", "--config", source, "--to", pg, "--batch-size", "7"});
    EXPECT_THAT(out, HasSubstr("counts and checksums verified"));
    EXPECT_EQ(contents(dir, pg), expected);
    const std::string back = write_config(dir, backend + "_back", backend);
    out = ok(dir, {"migrate", "--config", pg, "--to", back});
    EXPECT_THAT(out, HasSubstr("counts and checksums verified"));
    EXPECT_EQ(contents(dir, back), expected);
  }
}

TEST(PostgresCli, AnUnreachableServerIsNamedInTheError) {
  PostgresServer server;
  TempDir dir;
  const std::string config = write_postgres_config(
      dir, "gone", server,
      "host=127.0.0.1 port=" + std::to_string(server.port()) +
          " user=kalam password=wrong dbname=postgres connect_timeout=5");
  const CliResult r = run_kalam(dir, {"put", "k", "v", "--config", config});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("127.0.0.1"));
  EXPECT_THAT(r.err, HasSubstr("password authentication failed"));
}

// The table demo (namespaces, a user table, rows of two users) on
// PostgreSQL, the same flow and output as on the embedded backends
// (table_commands_test.cc).
TEST(PostgresCli, TableDemoWorks) {
  PostgresServer server;
  TempDir dir;
  const std::string config = write_postgres_config(dir, "tables", server);
  auto run = [&](std::vector<std::string> args) {
    args.push_back("--config");
    args.push_back(config);
    return ok(dir, args);
  };
  EXPECT_EQ(run({"ns", "create", "app"}), "created namespace 'app'\n");
  EXPECT_EQ(run({"table", "create", "app.notes", "--kind", "user", "--column",
                 "id:int64", "--column", "title:string", "--column",
                 "done:bool:nullable", "--primary-key", "id"}),
            "created user table app.notes (id 1)\n");
  EXPECT_EQ(run({"insert", "app.notes", "--user", "alice",
                 R"({"id": 2, "title": "eggs", "done": true})",
                 R"({"id": 1, "title": "milk"})"}),
            "2\n1\n");
  EXPECT_EQ(run({"insert", "app.notes", "--user", "bob",
                 R"({"id": 3, "title": "bread", "done": false})"}),
            "3\n");
  EXPECT_EQ(run({"select", "app.notes", "--user", "alice"}),
            "1\t{\"done\":null,\"id\":1,\"title\":\"milk\"}\n"
            "2\t{\"done\":true,\"id\":2,\"title\":\"eggs\"}\n");
  EXPECT_EQ(run({"select", "app.notes", "--where", "done=false"}),
            "bob\t3\t{\"done\":false,\"id\":3,\"title\":\"bread\"}\n");
}

}  // namespace
}  // namespace kalam::test
