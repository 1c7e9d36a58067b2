// The quickstart: opens the engine from a YAML config, writes, reads,
// iterates, then uses the table layer — two users writing to a user table,
// a flush to cold storage, an update after the flush, a stream table whose
// events expire, one SQL query over the table — and says what it did and which
// plugin served it. The same program runs on every backend; only the config
// changes. It checks what it shows, and exits non-zero if anything is not as
// described.
//
//   build/examples/kalam-quickstart --config examples/kalam.yaml
#include <kalam/config.h>
#include <kalam/database.h>
#include <kalam/sql/session.h>
#include <kalam/tables/tables.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

namespace {

int fail(const kalam::Status& status, const char* doing) {
  std::fprintf(stderr, "quickstart: %s failed: %s\n", doing,
               status.to_string().c_str());
  return 1;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

int broken(const char* what) {
  std::fprintf(stderr, "quickstart: unexpected result: %s\n", what);
  return 1;
}

void print_rows(const char* title,
                const std::vector<kalam::tables::Row>& rows) {
  std::printf("  %s (%zu):\n", title, rows.size());
  for (const auto& row : rows) {
    std::printf("    %s%s%s %s\n", row.user_id.c_str(),
                row.user_id.empty() ? "" : "/", row.row_id.c_str(),
                row.data.dump().c_str());
  }
}

// The table layer on the same database: returns the exit code.
int tables_demo(kalam::Database& db, const std::filesystem::path& cold_path) {
  using namespace kalam::tables;
  using nlohmann::json;
  // The worker would flush by policy and evict in the background; the demo
  // does both by hand to show each step.
  auto opened = Tables::open(db, {.cold_path = cold_path, .background = false});
  if (!opened.ok()) return fail(opened.status(), "opening the table layer");
  Tables& tables = **opened;
  Catalog& catalog = tables.catalog();

  // A fresh namespace each run.
  if (catalog.describe_namespace("demo").ok()) {
    kalam::Status s = catalog.drop_namespace("demo", {.cascade = true});
    if (!s.ok()) return fail(s, "dropping the previous demo namespace");
  }
  kalam::Status s = catalog.create_namespace("demo");
  if (!s.ok()) return fail(s, "creating namespace demo");
  auto notes = catalog.create_table(
      {.ns = "demo",
       .name = "notes",
       .kind = TableKind::kUser,
       .schema = {.columns = {{"id", ColumnType::kInt64, false},
                              {"text", ColumnType::kString, false}},
                  .primary_key = "id"}});
  if (!notes.ok()) return fail(notes.status(), "creating table demo.notes");
  std::printf("\nCreated user table demo.notes (id %llu)\n",
              static_cast<unsigned long long>(notes->id));

  UserTableStore& users = tables.user();
  const std::pair<const char*, json> writes[] = {
      {"alice", {{"id", 1}, {"text", "buy milk"}}},
      {"alice", {{"id", 2}, {"text", "call bob"}}},
      {"bob", {{"id", 1}, {"text", "fix the bike"}}}};
  for (const auto& [user, row] : writes) {
    auto id = users.put("demo", "notes", user, row);
    if (!id.ok()) return fail(id.status(), "inserting a note");
  }
  auto alice = users.scan("demo", "notes", "alice");
  auto bob = users.scan("demo", "notes", "bob");
  if (!alice.ok()) return fail(alice.status(), "scanning alice's notes");
  if (!bob.ok()) return fail(bob.status(), "scanning bob's notes");
  std::printf("Each user sees only their own rows:\n");
  print_rows("alice", *alice);
  print_rows("bob", *bob);
  if (alice->size() != 2 || bob->size() != 1 ||
      (*bob)[0].data["text"] != "fix the bike") {
    return broken("a user saw rows that are not theirs");
  }

  auto flushed = tables.flush("demo", "notes");
  if (!flushed.ok()) return fail(flushed.status(), "flushing demo.notes");
  std::printf(
      "Flushed %llu rows into %llu cold segment(s) (JSON Lines) under "
      "%s/cold/demo/\n",
      static_cast<unsigned long long>(flushed->rows),
      static_cast<unsigned long long>(flushed->segments), db.path().c_str());
  if (flushed->rows != 3 || flushed->segments != 2 || flushed->removed != 3) {
    return broken("the flush did not move the three rows");
  }

  auto updated =
      users.update("demo", "notes", "alice", "1", {{"text", "buy oat milk"}});
  if (!updated.ok()) return fail(updated.status(), "updating a flushed note");
  auto hybrid = users.scan("demo", "notes", "alice");
  if (!hybrid.ok()) return fail(hybrid.status(), "scanning after the update");
  std::printf(
      "Updated alice/1 after the flush; the hybrid scan merges cold "
      "and hot, the newer version winning:\n");
  print_rows("alice", *hybrid);
  if (hybrid->size() != 2 || (*hybrid)[0].data["text"] != "buy oat milk") {
    return broken("the update after the flush did not win");
  }

  using namespace std::chrono_literals;
  auto events = catalog.create_table(
      {.ns = "demo",
       .name = "events",
       .kind = TableKind::kStream,
       .schema = {.columns = {{"n", ColumnType::kInt64, false}}},
       .options = {.ttl = 300ms, .max_rows = 3}});
  if (!events.ok()) return fail(events.status(), "creating demo.events");
  for (int n = 1; n <= 5; ++n) {
    auto id = tables.stream().append("demo", "events", {{"n", n}});
    if (!id.ok()) return fail(id.status(), "appending an event");
  }
  auto recent = tables.stream().scan("demo", "events");
  if (!recent.ok()) return fail(recent.status(), "reading the stream");
  std::printf(
      "Appended 5 events to stream table demo.events (max_rows 3, "
      "ttl 300 ms):\n");
  print_rows("live events", *recent);
  std::this_thread::sleep_for(400ms);
  auto later = tables.stream().scan("demo", "events");
  if (!later.ok()) return fail(later.status(), "reading the stream");
  auto evicted = tables.stream().evict("demo", "events");
  if (!evicted.ok()) return fail(evicted.status(), "evicting events");
  std::printf("400 ms later: %zu live events; eviction deleted %llu\n",
              later->size(), static_cast<unsigned long long>(*evicted));
  if (recent->size() > 3 || !later->empty() || *evicted != 5) {
    return broken("the stream did not expire its events");
  }

  // SQL over the same rows (docs/sql.md): alice's session reaches only her
  // notes, whatever the query says.
  auto session =
      kalam::sql::Session::open(tables, kalam::sql::SessionUser::user("alice"));
  if (!session.ok()) return fail(session.status(), "opening a SQL session");
  const char* query =
      "SELECT count(*), group_concat(text, '; ') FROM demo.notes "
      "WHERE user_id = 'bob' OR id >= 1";
  auto stmt = (*session)->prepare(query);
  if (!stmt.ok()) return fail(stmt.status(), "preparing the SQL query");
  auto row = stmt->step();
  if (!row.ok()) return fail(row.status(), "running the SQL query");
  if (!*row) return broken("the SQL query returned no row");
  std::printf("SQL as alice: %s\n  -> %lld notes: %s\n", query,
              static_cast<long long>(stmt->column_int(0)),
              stmt->column_text(1).c_str());
  if (stmt->column_int(0) != 2) {
    return broken("a SQL session saw rows of another user");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_file = "examples/kalam.yaml";
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
      config_file = argv[++i];
    } else if (std::strcmp(argv[i], "--help") == 0) {
      std::printf("usage: %s [--config FILE]   (default: %s)\n", argv[0],
                  config_file.c_str());
      return 0;
    } else {
      std::fprintf(stderr, "usage: %s [--config FILE]\n", argv[0]);
      return 2;
    }
  }

  auto config = kalam::load_config_file(config_file);
  if (!config.ok()) return fail(config.status(), "reading the config");
  auto opened = kalam::Database::open(config->storage);
  if (!opened.ok()) return fail(opened.status(), "opening the database");
  kalam::Database& db = **opened;
  const kalam::Plugin& plugin = db.plugin();
  std::printf("Opened %s with backend '%s' (plugin %s, ABI %u.%u)\n",
              db.path().c_str(), plugin.name().c_str(),
              plugin.version().c_str(), plugin.abi_major(), plugin.abi_minor());
  std::printf("  plugin file:  %s\n", plugin.file().c_str());
  std::printf("  capabilities: %s\n",
              join(kalam::capability_names(plugin.capabilities())).c_str());

  // A column family of its own, created on first use.
  auto greetings = db.column_family("greetings", /*create_if_missing=*/true);
  if (!greetings.ok()) return fail(greetings.status(), "creating a family");

  // One atomic batch of writes.
  kalam::WriteBatch batch;
  const char* languages[][2] = {{"lang:en", "hello"},
                                {"lang:fr", "bonjour"},
                                {"lang:ja", "konnichiwa"},
                                {"lang:sw", "jambo"},
                                {"note", "not a language"}};
  for (const auto& [key, value] : languages) batch.put(*greetings, key, value);
  kalam::Status s = db.write(batch, {.sync = true});
  if (!s.ok()) return fail(s, "writing a batch");
  std::printf("Wrote a batch of %zu keys to column family 'greetings'\n",
              batch.count());

  // A point read.
  auto french = db.get(*greetings, "lang:fr");
  if (!french.ok()) return fail(french.status(), "reading lang:fr");
  std::printf("Read lang:fr = %s\n", french->c_str());

  // A prefix scan, bounds pushed down to the backend. The iterator keeps
  // the database open until it goes, so it lives in its own scope.
  {
    auto it = db.new_iterator(*greetings, {.prefix = "lang:"});
    if (!it.ok()) return fail(it.status(), "creating an iterator");
    std::printf("Scanned prefix 'lang:':\n");
    for (it->seek_to_first(); it->valid(); it->next()) {
      std::printf("  %.*s = %.*s\n", static_cast<int>(it->key().size()),
                  it->key().data(), static_cast<int>(it->value().size()),
                  it->value().data());
    }
    if (!it->status().ok()) return fail(it->status(), "scanning");
  }

  if (int rc = tables_demo(db, kalam::cold_path(*config)); rc != 0) return rc;

  // A counter in the default family shows whether data persisted.
  uint64_t runs = 0;
  if (auto previous = db.get({}, "quickstart:runs"); previous.ok()) {
    runs = std::stoull(*previous);
  } else if (!previous.status().is_not_found()) {
    return fail(previous.status(), "reading the run counter");
  }
  s = db.put({}, "quickstart:runs", std::to_string(++runs), {.sync = true});
  if (!s.ok()) return fail(s, "updating the run counter");
  if (plugin.has(KALAM_CAP_PERSISTENT)) {
    std::printf(
        "This database has now been opened by the quickstart %llu "
        "time(s); run it again to see the count persist.\n",
        static_cast<unsigned long long>(runs));
  } else {
    std::printf(
        "Backend '%s' is not persistent: the data goes when the "
        "program exits.\n",
        plugin.name().c_str());
  }

  s = db.close();
  if (!s.ok()) return fail(s, "closing");
  std::printf("Closed cleanly.\n");
  return 0;
}
