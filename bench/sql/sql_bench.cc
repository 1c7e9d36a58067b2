// kalam-sql-bench: what SQL over the tables costs next to the table API it
// runs on, on each backend (docs/sql.md, "Cost"):
//  - a primary-key point SELECT (one prepared statement, re-bound per
//    lookup, every column read) against UserTableStore::get of the same row;
//  - a user-scoped SELECT * (every row and column of one user) against a
//    RowCursor scan of the same rows (every row parsed, every column read).
// Rows: --rows per user, two users (the scans read one). Each measurement
// is repeated --repetitions times, the four interleaved in each repetition;
// the median run counts. Each measured loop is a function of its own
// (bench_get_lookups, bench_sql_lookups, bench_cursor_scan,
// bench_sql_scan), so on a machine too noisy for wall clock the two sides
// are compared by instruction counts in one run:
//   valgrind --tool=callgrind kalam-sql-bench --rows 2000 --lookups 2000
//       --repetitions 1 --backends lmdb   (one command line)
//   callgrind_annotate --inclusive=yes callgrind.out.* | grep bench_
//
//   kalam-sql-bench [--rows N] [--lookups N] [--repetitions N]
//                   [--backends memory,rocksdb,...]
#include <kalam/plugin.h>
#include <kalam/sql/session.h>
#include <kalam/tables/tables.h>

#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using kalam::Status;
using kalam::sql::Session;
using kalam::sql::SessionUser;
using namespace kalam::tables;

void check(const Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "kalam-sql-bench: %s: %s\n", what,
                 s.to_string().c_str());
    std::exit(1);
  }
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Args {
  int rows = 20000;
  int lookups = 20000;
  int repetitions = 5;
  std::vector<std::string> backends;
};

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

Args parse(int argc, char** argv) {
  Args a;
  a.backends = split(KALAM_SQL_BENCH_PLUGINS);
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--rows") {
      a.rows = std::atoi(value.c_str());
    } else if (flag == "--lookups") {
      a.lookups = std::atoi(value.c_str());
    } else if (flag == "--repetitions") {
      a.repetitions = std::max(1, std::atoi(value.c_str()));
    } else if (flag == "--backends") {
      a.backends = split(value);
    } else {
      std::fprintf(stderr, "kalam-sql-bench: unknown option %s\n",
                   flag.c_str());
      std::exit(2);
    }
  }
  return a;
}

// Reads every column of a row DOM (what a consumer of the row does).
size_t touch(const nlohmann::json& row) {
  size_t n = 0;
  for (const auto& [k, v] : row.items()) {
    n += k.size() + (v.is_string() ? v.get_ref<const std::string&>().size()
                                   : static_cast<size_t>(v.is_number()));
  }
  return n;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// The four measured loops. noinline: each is one entry in a profile.
[[gnu::noinline]] size_t bench_get_lookups(Tables& t,
                                           const std::vector<int64_t>& keys) {
  size_t sink = 0;
  for (int64_t k : keys) {
    auto row = t.user().get("app", "notes", "alice", std::to_string(k));
    check(row.status(), "get");
    sink += touch(row->data);
  }
  return sink;
}

[[gnu::noinline]] size_t bench_sql_lookups(kalam::sql::Statement& select,
                                           const std::vector<int64_t>& keys) {
  size_t sink = 0;
  for (int64_t k : keys) {
    check(select.bind(1, k), "bind");
    auto more = select.step();
    check(more.status(), "step");
    if (!*more) check(Status::Internal("row not found"), "select");
    sink += select.column_text(1).size() +
            static_cast<size_t>(select.column_int(0)) +
            static_cast<size_t>(select.column_double(2)) +
            static_cast<size_t>(select.column_int(3));
    check(select.reset(), "reset");
  }
  return sink;
}

[[gnu::noinline]] size_t bench_cursor_scan(Tables& t, size_t* rows) {
  size_t sink = 0;
  auto cursor = t.user().iter("app", "notes", "alice");
  check(cursor.status(), "iter");
  size_t n = 0;
  while (cursor->next()) {
    sink += touch(cursor->row().data);
    ++n;
  }
  check(cursor->status(), "cursor");
  *rows = n;
  return sink;
}

[[gnu::noinline]] size_t bench_sql_scan(Session& session, size_t* rows) {
  size_t sink = 0;
  auto all = session.prepare("SELECT * FROM app.notes");
  check(all.status(), "prepare scan");
  size_t m = 0;
  check(all->for_each([&](const kalam::sql::Statement& st) {
    for (int i = 0; i < st.column_count(); ++i) {
      sink += st.column_type(i) == kalam::sql::ValueType::kText
                  ? st.column_text(i).size()
                  : static_cast<size_t>(st.column_int(i) != 0);
    }
    ++m;
    return true;
  }),
        "scan");
  *rows = m;
  return sink;
}

void run(const std::string& backend, const Args& args) {
  if (backend == "faulty") return;  // a test wrapper, not a store
  auto plugin = kalam::load_plugin(backend, {KALAM_SQL_BENCH_PLUGIN_DIR});
  check(plugin.status(), "load plugin");
  const auto dir =
      std::filesystem::temp_directory_path() /
      ("kalam-sql-bench-" + backend + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  {
    auto db = kalam::Database::open(*plugin, dir / "db", {});
    check(db.status(), "open");
    auto tables = Tables::open(**db, {.background = false});
    check(tables.status(), "tables");
    Tables& t = **tables;
    check(t.catalog().create_namespace("app"), "ns");
    check(t.catalog()
              .create_table(
                  {.ns = "app",
                   .name = "notes",
                   .kind = TableKind::kUser,
                   .schema = {.columns = {{"id", ColumnType::kInt64, false},
                                          {"title", ColumnType::kString, false},
                                          {"score", ColumnType::kFloat64, true},
                                          {"done", ColumnType::kBool, true}},
                              .primary_key = "id"}})
              .status(),
          "table");
    for (const char* user : {"alice", "bob"}) {
      std::vector<nlohmann::json> rows;
      for (int i = 0; i < args.rows; ++i) {
        rows.push_back({{"id", i},
                        {"title", "note number " + std::to_string(i)},
                        {"score", i * 0.25},
                        {"done", i % 3 == 0}});
        if (rows.size() == 1000 || i + 1 == args.rows) {
          check(t.user().put_many("app", "notes", user, rows).status(), "put");
          rows.clear();
        }
      }
    }
    auto session = Session::open(t, SessionUser::user("alice"));
    check(session.status(), "session");
    auto select = (*session)->prepare(
        "SELECT id, title, score, done FROM app.notes WHERE id = ?");
    check(select.status(), "prepare");

    std::mt19937_64 rng(42);
    std::vector<int64_t> keys;
    for (int i = 0; i < args.lookups; ++i) {
      keys.push_back(static_cast<int64_t>(rng() % args.rows));
    }
    std::vector<double> get_s, sql_s, cursor_s, scan_s;
    size_t sink = 0;
    for (int rep = 0; rep < args.repetitions; ++rep) {
      auto start = Clock::now();
      sink += bench_get_lookups(t, keys);
      get_s.push_back(seconds_since(start));

      start = Clock::now();
      sink += bench_sql_lookups(*select, keys);
      sql_s.push_back(seconds_since(start));

      size_t n = 0, m = 0;
      start = Clock::now();
      sink += bench_cursor_scan(t, &n);
      cursor_s.push_back(seconds_since(start));

      start = Clock::now();
      sink += bench_sql_scan(**session, &m);
      scan_s.push_back(seconds_since(start));
      if (n != m || n != static_cast<size_t>(args.rows)) {
        check(Status::Internal("scans disagree"), "scan");
      }
    }
    const double get_ns = median(get_s) * 1e9 / args.lookups;
    const double sql_ns = median(sql_s) * 1e9 / args.lookups;
    const double cursor_rps = args.rows / median(cursor_s);
    const double scan_rps = args.rows / median(scan_s);
    std::printf("| %-8s | %9.0f | %9.0f | %5.2fx | %11.0f | %11.0f | %5.2f |\n",
                backend.c_str(), get_ns, sql_ns, sql_ns / get_ns, cursor_rps,
                scan_rps, scan_rps / cursor_rps);
    std::fflush(stdout);
    if (sink == 42) std::puts("");  // keep the reads
  }
  std::filesystem::remove_all(dir);
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  std::printf("rows per user: %d, lookups: %d, median of %d\n\n", args.rows,
              args.lookups, args.repetitions);
  std::printf(
      "| backend  | get ns/op | SQL ns/op | ratio  | cursor rows/s | SQL "
      "rows/s  | ratio |\n"
      "|----------|-----------|-----------|--------|-------------|--------"
      "-----|-------|\n");
  for (const auto& backend : args.backends) run(backend, args);
  return 0;
}
