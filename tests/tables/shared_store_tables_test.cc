// The table layer on a store two engine processes share: two forked
// processes, each with its own engine (Database + Tables, its own data
// directory) on one store — a PostgreSQL schema of a throwaway server
// (tests/support/postgres_server.h) or a throwaway 3-member etcd cluster
// (tests/support/etcd_cluster.h) — race to create the same table (one
// wins), insert rows with generated and with explicit ids, and increment the
// same counter row N times each through update_with(): the counter ends at
// exactly 2N and no row is lost. The engine's in-process locks cannot see
// the other process; only the conditional writes (checked by the plugin
// inside its transaction) keep this correct.
//
// Built once per backend (tests/tables/CMakeLists.txt): with
// KALAM_TEST_PLUGIN_POSTGRES_PATH or KALAM_TEST_PLUGIN_ETCD_PATH. The parent
// never opens the store before forking (gRPC, under the etcd plugin, does
// not survive a fork): the setup runs in a child of its own.
#include <gtest/gtest.h>
#include <kalam/database.h>
#include <kalam/plugin.h>
#include <kalam/tables/tables.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <vector>

#if defined(KALAM_TEST_PLUGIN_POSTGRES_PATH)
#include "postgres_server.h"
#elif defined(KALAM_TEST_PLUGIN_ETCD_PATH)
#include "etcd_cluster.h"
#endif

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

// Opens an engine on the shared store, with the data directory `dir` of
// its own.
using OpenEngine = std::function<StatusOr<Engine>(const fs::path& dir)>;

// An engine on `plugin_file` with `options`, in data directory `dir`.
StatusOr<Engine> open_engine(const char* plugin_file, std::string_view name,
                             const std::vector<BackendOption>& options,
                             const fs::path& dir) {
  KALAM_ASSIGN_OR_RETURN(std::shared_ptr<const Plugin> plugin,
                         load_plugin_file(plugin_file, name));
  Engine engine;
  KALAM_ASSIGN_OR_RETURN(engine.db, Database::open(plugin, dir, options));
  KALAM_ASSIGN_OR_RETURN(engine.tables,
                         Tables::open(*engine.db, {.background = false}));
  return engine;
}

// One process's work. Returns the exit code: 0, or the step that failed
// (its status printed to stderr).
int child(const OpenEngine& open_engine, const fs::path& dir, int process,
          int race_fd) {
  auto fail = [](int code, const Status& s) {
    std::fprintf(stderr, "child step %d: %s\n", code, s.to_string().c_str());
    return code;
  };
  auto engine = open_engine(dir);
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

// The tables and the rows both processes update. Returns the exit code.
int set_up(const OpenEngine& open_engine, const fs::path& dir) {
  auto fail = [](int code, const Status& s) {
    std::fprintf(stderr, "setup step %d: %s\n", code, s.to_string().c_str());
    return code;
  };
  auto engine = open_engine(dir);
  if (!engine.ok()) return fail(1, engine.status());
  Catalog& catalog = engine->tables->catalog();
  if (Status s = catalog.create_namespace("app"); !s.ok()) return fail(2, s);
  for (const auto& [name, schema] :
       {std::pair{"counter", kCounter}, std::pair{"events", kEvents},
        std::pair{"items", kItems}}) {
    Status s = catalog
                   .create_table({.ns = "app",
                                  .name = name,
                                  .kind = TableKind::kShared,
                                  .schema = schema})
                   .status();
    if (!s.ok()) return fail(3, s);
  }
  SharedTableStore& shared = engine->tables->shared();
  if (auto put = shared.put("app", "counter", {{"id", 1}, {"count", 0}});
      !put.ok()) {
    return fail(4, put.status());
  }
  for (int id = 0; id < 10; ++id) {
    auto put =
        shared.put("app", "items", {{"id", id}, {"process", -1}, {"hits", 0}});
    if (!put.ok()) return fail(5, put.status());
  }
  if (Status s = engine->db->close(); !s.ok()) return fail(6, s);
  return 0;
}

// Waits (bounded by ctest's timeout: a hung child is killed with the test)
// for `pid`, and expects it to have exited with 0.
void expect_clean_exit(pid_t pid, const char* what) {
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << what << ": exit status " << WEXITSTATUS(status)
      << " (the step that failed; its error is on stderr)";
}

void two_engine_processes_lose_no_update(const OpenEngine& open_engine,
                                         const fs::path& dir) {
  const pid_t setup = fork();
  ASSERT_GE(setup, 0);
  if (setup == 0) _exit(set_up(open_engine, dir / "setup"));
  expect_clean_exit(setup, "setup");
  if (::testing::Test::HasFailure()) return;

  int race[2];
  ASSERT_EQ(pipe(race), 0);
  pid_t pids[2];
  for (int p = 0; p < 2; ++p) {
    pids[p] = fork();
    ASSERT_GE(pids[p], 0);
    if (pids[p] == 0) {
      close(race[0]);
      _exit(child(open_engine, dir / ("p" + std::to_string(p)), p, race[1]));
    }
  }
  close(race[1]);
  for (pid_t pid : pids) expect_clean_exit(pid, "engine process");
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

  auto engine = open_engine(dir / "check");
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

#if defined(KALAM_TEST_PLUGIN_POSTGRES_PATH)
TEST(PostgresTables, TwoEngineProcessesOnOneStoreLoseNoUpdate) {
  test::PostgresServer server;
  const std::string conninfo = server.conninfo();
  two_engine_processes_lose_no_update(
      [&](const fs::path& dir) {
        return open_engine(KALAM_TEST_PLUGIN_POSTGRES_PATH, "postgres",
                           {{.key = "conninfo", .value = conninfo},
                            {.key = "schema", .value = "shared_tables"}},
                           dir);
      },
      server.dir() / "engines");
}
#elif defined(KALAM_TEST_PLUGIN_ETCD_PATH)
TEST(EtcdTables, TwoEngineProcessesOnOneClusterLoseNoUpdate) {
  test::EtcdCluster cluster;
  const std::string endpoints = cluster.endpoints();
  two_engine_processes_lose_no_update(
      [&](const fs::path& dir) {
        return open_engine(KALAM_TEST_PLUGIN_ETCD_PATH, "etcd",
                           {{.key = "endpoints", .value = endpoints},
                            {.key = "namespace", .value = "shared_tables"}},
                           dir);
      },
      cluster.dir() / "engines");
}
#endif

}  // namespace
}  // namespace kalam::tables
