// The table layer on a store two engine processes share: two forked
// processes, each with its own engine (Database + Tables, its own data
// directory) on one PostgreSQL schema of a throwaway server
// (tests/support/postgres_server.h), race to create the same namespace and
// table (one wins), insert rows with generated and with explicit ids, and
// increment the same counter row N times each through update_with(): the
// counter ends at exactly 2N and no row is lost. The engine's in-process
// locks cannot see the other process; only the conditional writes (checked
// by the plugin inside its transaction) keep this correct.
#include <gtest/gtest.h>
#include <kalam/database.h>
#include <kalam/plugin.h>
#include <kalam/tables/tables.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "postgres_server.h"

namespace kalam::tables {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kIncrements = 100;  // per process
constexpr int kInserts = 100;     // rows per process and table

const Schema kCounter{.columns = {{"id", ColumnType::kInt64, false},
                                  {"count", ColumnType::kInt64, false}},
                      .primary_key = "id"};
const Schema kEvents{.columns = {{"process", ColumnType::kInt64, false},
                                 {"n", ColumnType::kInt64, false}}};
const Schema kItems{.columns = {{"id", ColumnType::kInt64, false},
                                {"process", ColumnType::kInt64, false},
                                {"hits", ColumnType::kInt64, false}},
                    .primary_key = "id"};

struct Engine {
  std::unique_ptr<Database> db;
  std::unique_ptr<Tables> tables;
};

// Opens the engine on schema "shared_tables" of the server, with its own
// data directory.
StatusOr<Engine> open_engine(const std::string& conninfo, const fs::path& dir) {
  KALAM_ASSIGN_OR_RETURN(
      std::shared_ptr<const Plugin> plugin,
      load_plugin_file(KALAM_TEST_PLUGIN_POSTGRES_PATH, "postgres"));
  Engine engine;
  KALAM_ASSIGN_OR_RETURN(
      engine.db, Database::open(plugin, dir,
                                {{.key = "conninfo", .value = conninfo},
                                 {.key = "schema", .value = "shared_tables"}}));
  KALAM_ASSIGN_OR_RETURN(engine.tables,
                         Tables::open(*engine.db, {.background = false}));
  return engine;
}

// One process's work. Returns the exit code: 0, or the step that failed
// (its status printed to stderr).
int child(const std::string& conninfo, const fs::path& dir, int process,
          int race_fd) {
  auto fail = [](int code, const Status& s) {
    std::fprintf(stderr, "child step %d: %s\n", code, s.to_string().c_str());
    return code;
  };
  auto engine = open_engine(conninfo, dir);
  if (!engine.ok()) return fail(10, engine.status());
  Tables& tables = *engine->tables;
  // The race for one table: exactly one process creates it.
  Status race = tables.catalog()
                    .create_table({.ns = "app",
                                   .name = "race",
                                   .kind = TableKind::kShared,
                                   .schema = kItems})
                    .status();
  if (!race.ok() && race.code() != Code::kAlreadyExists) return fail(11, race);
  const char won = race.ok() ? 1 : 0;
  if (::write(race_fd, &won, 1) != 1) return 12;

  for (int i = 0; i < kIncrements; ++i) {
    // Interleaved with inserts, so both processes write all the time.
    auto counted = tables.shared().update_with(
        "app", "counter", "1", [](const json& current) -> StatusOr<json> {
          return json{{"count", current["count"].get<int64_t>() + 1}};
        });
    if (!counted.ok()) return fail(13, counted.status());
    auto event =
        tables.shared().put("app", "events", {{"process", process}, {"n", i}});
    if (!event.ok()) return fail(14, event.status());
    // Items: this process's own ids, and hits on ids both processes share.
    const int64_t own = 1000 + process * kInserts + i;
    auto item = tables.shared().put(
        "app", "items", {{"id", own}, {"process", process}, {"hits", 0}});
    if (!item.ok()) return fail(15, item.status());
    auto hit = tables.shared().update_with(
        "app", "items", std::to_string(i % 10),
        [](const json& current) -> StatusOr<json> {
          return json{{"hits", current["hits"].get<int64_t>() + 1}};
        });
    if (!hit.ok()) return fail(16, hit.status());
  }
  Status closed = engine->db->close();
  if (!closed.ok()) return fail(17, closed);
  return 0;
}

TEST(PostgresTables, TwoEngineProcessesOnOneStoreLoseNoUpdate) {
  test::PostgresServer server;
  const fs::path dir = server.dir() / "engines";
  // The parent sets up the tables and the rows both processes update.
  {
    auto engine = open_engine(server.conninfo(), dir / "setup");
    ASSERT_TRUE(engine.ok()) << engine.status();
    Catalog& catalog = engine->tables->catalog();
    ASSERT_TRUE(catalog.create_namespace("app").ok());
    for (const auto& [name, schema] :
         {std::pair{"counter", kCounter}, std::pair{"events", kEvents},
          std::pair{"items", kItems}}) {
      ASSERT_TRUE(catalog
                      .create_table({.ns = "app",
                                     .name = name,
                                     .kind = TableKind::kShared,
                                     .schema = schema})
                      .ok());
    }
    SharedTableStore& shared = engine->tables->shared();
    ASSERT_TRUE(shared.put("app", "counter", {{"id", 1}, {"count", 0}}).ok());
    for (int id = 0; id < 10; ++id) {
      ASSERT_TRUE(
          shared.put("app", "items", {{"id", id}, {"process", -1}, {"hits", 0}})
              .ok());
    }
    ASSERT_TRUE(engine->db->close().ok());
  }

  int race[2];
  ASSERT_EQ(pipe(race), 0);
  pid_t pids[2];
  for (int p = 0; p < 2; ++p) {
    pids[p] = fork();
    ASSERT_GE(pids[p], 0);
    if (pids[p] == 0) {
      close(race[0]);
      _exit(child(server.conninfo(), dir / ("p" + std::to_string(p)), p,
                  race[1]));
    }
  }
  close(race[1]);
  for (pid_t pid : pids) {
    int status = 0;
    // Bounded: ctest's timeout kills a hung child with the test (and the
    // server fixture's PR_SET_PDEATHSIG stops the server).
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "child exit status " << WEXITSTATUS(status)
        << " (the step that failed; its error is on stderr)";
  }
  int winners = 0;
  char won = 0;
  int answers = 0;
  while (read(race[0], &won, 1) == 1) {
    ++answers;
    winners += won;
  }
  close(race[0]);
  EXPECT_EQ(answers, 2);
  EXPECT_EQ(winners, 1) << "exactly one process created app.race";

  auto engine = open_engine(server.conninfo(), dir / "check");
  ASSERT_TRUE(engine.ok()) << engine.status();
  SharedTableStore& shared = engine->tables->shared();
  auto counter = shared.get("app", "counter", "1");
  ASSERT_TRUE(counter.ok()) << counter.status();
  EXPECT_EQ(counter->data["count"], 2 * kIncrements)
      << "an increment of one process was lost to the other's";

  auto events = shared.scan("app", "events");
  ASSERT_TRUE(events.ok()) << events.status();
  std::set<std::pair<int64_t, int64_t>> seen;
  std::set<std::string> ids;
  for (const Row& row : *events) {
    seen.emplace(row.data["process"].get<int64_t>(),
                 row.data["n"].get<int64_t>());
    ids.insert(row.row_id);
  }
  EXPECT_EQ(events->size(), 2u * kIncrements);
  EXPECT_EQ(seen.size(), 2u * kIncrements) << "every insert, once";
  EXPECT_EQ(ids.size(), 2u * kIncrements) << "generated ids never collide";

  auto items = shared.scan("app", "items");
  ASSERT_TRUE(items.ok()) << items.status();
  EXPECT_EQ(items->size(), 10u + 2u * kInserts);
  int64_t hits = 0;
  for (const Row& row : *items) hits += row.data["hits"].get<int64_t>();
  EXPECT_EQ(hits, 2 * kIncrements) << "every hit on a shared row counted";
  auto race_table = engine->tables->catalog().describe_table("app", "race");
  EXPECT_TRUE(race_table.ok()) << race_table.status();
  ASSERT_TRUE(engine->db->close().ok());
}

}  // namespace
}  // namespace kalam::tables
