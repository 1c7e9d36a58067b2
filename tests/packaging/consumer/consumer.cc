// An application embedding Kalam the way a new user writes one: C++17, the
// one-line opens, the key/value API, the table layer and SQL. Built out of
// the tree against installed headers (pkg-config and find_package) and
// against the build tree's include root, with -std=c++17 -Wall -Wextra
// -Werror -pedantic (tests/packaging/CMakeLists.txt).
//
//   kalam-consumer <config.yaml>
//
// Prints "consumer: ok ..." and exits 0 when every step gave what it should.
#include <kalam/backend_api.h>
#include <kalam/database.h>
#include <kalam/sql/session.h>
#include <kalam/tables/tables.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#if __cplusplus != 201703L
#error "this consumer checks that the public headers work in C++17"
#endif

namespace {

int failed(const char* step, const kalam::Status& status) {
  std::fprintf(stderr, "consumer: %s: %s\n", step, status.to_string().c_str());
  return 1;
}

int wrong(const char* what) {
  std::fprintf(stderr, "consumer: unexpected: %s\n", what);
  return 1;
}

int key_values(const char* config) {
  auto opened = kalam::open(config);
  if (!opened.ok()) return failed("kalam::open", opened.status());
  kalam::Database& db = **opened;
  std::printf("consumer: backend %s from %s\n", db.plugin().name().c_str(),
              db.plugin().file().c_str());

  kalam::WriteBatch batch;
  batch.put("k1", "one");
  batch.put("k2", "two");
  batch.put("k3", "three");
  kalam::Status s = db.write(batch);
  if (!s.ok()) return failed("write", s);

  auto one = db.get({}, "k1");
  if (!one.ok() || *one != "one") return wrong("get k1");
  std::string seen;
  s = db.get_with({}, "k2", [&](std::string_view value) { seen = value; });
  if (!s.ok() || seen != "two") return wrong("get_with k2");
  std::vector<char> buffer(16);
  auto length = db.get_into({}, "k3", buffer);
  if (!length.ok() || std::string(buffer.data(), *length) != "three") {
    return wrong("get_into k3");
  }
  const std::vector<std::string_view> keys = {"k1", "missing", "k3"};
  auto many = db.multi_get({}, keys);
  if (!many.ok() || many->size() != 3 || !(*many)[0] || (*many)[1] ||
      *(*many)[2] != "three") {
    return wrong("multi_get");
  }

  {
    // Iterators keep the database open: this one is gone before close().
    auto it = db.new_iterator({});
    if (!it.ok()) return failed("new_iterator", it.status());
    auto unpositioned = it->next_batch(
        10, [](std::string_view, std::string_view) { return true; });
    if (!unpositioned.ok() || *unpositioned != 0) {
      return wrong("next_batch on an iterator never positioned visits nothing");
    }
    it->seek_to_first();
    std::vector<std::string> scanned;
    auto count =
        it->next_batch(10, [&](std::string_view key, std::string_view) {
          scanned.emplace_back(key);
          return true;
        });
    if (!count.ok() || *count != 3 || scanned.size() != 3 ||
        scanned[0] != "k1" || scanned[2] != "k3") {
      return wrong("next_batch over k1..k3");
    }
  }
  const kalam::EngineCounters counters = db.counters();
  uint64_t total = 0;
  for (const kalam::EngineCounterField& field :
       kalam::engine_counter_fields()) {
    total += counters.*field.member;
  }
  if (counters.puts < 3 || total < counters.puts ||
      counters == kalam::EngineCounters{}) {
    return wrong("engine counters");
  }
  s = db.close();
  if (!s.ok()) return failed("close", s);
  return 0;
}

int tables_and_sql(const char* config) {
  using kalam::tables::ColumnType;
  auto opened = kalam::tables::open(config);
  if (!opened.ok()) return failed("kalam::tables::open", opened.status());
  kalam::tables::Tables& tables = **opened;
  kalam::tables::Catalog& catalog = tables.catalog();
  if (!catalog.describe_namespace("app").ok()) {
    kalam::Status s = catalog.create_namespace("app");
    if (!s.ok()) return failed("create_namespace", s);
  }
  kalam::tables::TableSpec spec;
  spec.ns = "app";
  spec.name = "notes";
  spec.kind = kalam::tables::TableKind::kUser;
  spec.schema.columns = {{"id", ColumnType::kInt64, false},
                         {"title", ColumnType::kString, true}};
  spec.schema.primary_key = "id";
  auto info = catalog.create_table(spec);
  if (!info.ok()) return failed("create_table", info.status());

  const std::vector<nlohmann::json> rows = {{{"id", 1}, {"title", "a"}},
                                            {{"id", 2}, {"title", "b"}}};
  auto ids = tables.user().put_many("app", "notes", "alice", rows);
  if (!ids.ok()) return failed("put_many", ids.status());
  auto row = tables.user().get("app", "notes", "alice", "2");
  if (!row.ok()) return failed("get", row.status());
  kalam::tables::Row expected;
  expected.user_id = "alice";
  expected.row_id = "2";
  expected.data = rows[1];
  if (*row != expected) return wrong("the row read back");

  auto session =
      kalam::sql::Session::open(tables, kalam::sql::SessionUser::user("alice"));
  if (!session.ok()) return failed("sql session", session.status());
  auto statement = (*session)->prepare("SELECT count(*) FROM app.notes");
  if (!statement.ok()) return failed("prepare", statement.status());
  auto stepped = statement->step();
  if (!stepped.ok() || !*stepped || statement->column_int(0) != 2) {
    return wrong("SELECT count(*)");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: kalam-consumer <config.yaml>\n");
    return 2;
  }
  if (int rc = key_values(argv[1]); rc != 0) return rc;
  if (int rc = tables_and_sql(argv[1]); rc != 0) return rc;
  std::printf("consumer: ok (C++%ld, ABI header %d.%d)\n",
              __cplusplus / 100 % 100, KALAM_ABI_VERSION_MAJOR,
              KALAM_ABI_VERSION_MINOR);
  return 0;
}
