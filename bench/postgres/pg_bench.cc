// kalam-pg-bench: the PostgreSQL plugin next to the same libpq calls made
// without the engine (bench/postgres/README.md).
//
//   kalam-pg-bench --mode native|plugin --conninfo STR [--seconds S]
//       [--threads 1,4,16] [--keys N] [--workloads put,batch100,get,scan]
//       [--plugin-dir DIR]
//
// Workloads, each for --seconds per thread count, every thread its own
// keys: put (one key per write), batch100 (100 keys per write: one
// transaction), get (random loaded keys) and scan (the loaded set, bounds
// pushed down). Prints one TSV line per (workload, threads): ops/s
// (keys/s for batch100, entries/s for scan), p50 and p99 latency of one op
// in microseconds, and the client process's CPU time per key (per entry
// for scan) in microseconds.
//
// The native side issues exactly what kalam_postgres.so issues for these
// calls (plugins/postgres/pg_db.cc, pg_wire.cc, pg_iter.cc), on a table of
// the same layout (`key bytea PRIMARY KEY, value bytea NOT NULL`) in a
// schema of its own:
//  - connections opened with the plugin's defaults (connect_timeout=10,
//    application_name=kalam, then the conninfo), kept in a pool;
//  - the plugin's prepared statements, by the same names and SQL text,
//    prepared once per connection, binary parameters and results;
//  - a write: one pipeline of BEGIN, the stripe advisory locks
//    (pg_advisory_xact_lock_shared of each written key's stripe, ascending,
//    in one SELECT), one prepared upsert per key, COMMIT, then the sync
//    point: one round trip;
//  - a get: the prepared point SELECT;
//  - a scan: START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY;
//    SELECT 1 (the iterator's read view), keyset pages of 64, 128, ... up
//    to 2048 rows with the same statements, then ROLLBACK.
// So the ratio plugin/native is what the engine, the C ABI and the plugin's
// bookkeeping cost; the server and the network are the same for both.
#include <libpq-fe.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "../remote/remote_bench.h"
#include "../remote/remote_plugin_store.h"

namespace {

using namespace kalam_bench;

// ---- native: libpq, the plugin's statements --------------------------------

// The plugin's key stripes and their hash (pg_db.cc, kLockStripes).
constexpr uint32_t kLockStripes = 64;
uint64_t fnv1a(const void* data, size_t len) {
  uint64_t h = 1469598103934665603ull;
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < len; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

std::string be64(int64_t value) {
  const auto v = static_cast<uint64_t>(value);
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(v >> (56 - 8 * i));
  return out;
}

struct PgResult {
  explicit PgResult(PGresult* result) : r(result) {}
  ~PgResult() { PQclear(r); }
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  PGresult* r;
  bool ok() const {
    const ExecStatusType st = PQresultStatus(r);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
  }
};

class NativeStore {
 public:
  NativeStore(const std::string& conninfo, const std::string& schema)
      : conninfo_(conninfo), schema_(schema) {
    table_ = "\"" + schema_ + "\".cf_0";
    PGconn* c = connect();
    PgResult r(
        PQexec(c, ("CREATE SCHEMA \"" + schema_ + "\"; CREATE TABLE " + table_ +
                   " (key bytea PRIMARY KEY, value bytea NOT NULL)")
                      .c_str()));
    if (!r.ok()) die(std::string("create: ") + PQresultErrorMessage(r.r));
    give(c);
    space_ = static_cast<int32_t>(fnv1a(schema_.data(), schema_.size()) &
                                  0x7fffffff);
  }
  ~NativeStore() {
    for (PGconn* c : idle_) PQfinish(c);
  }

  void write(const std::vector<std::string>& keys) {
    Conn c = take();
    prepare(c, "put_0",
            "INSERT INTO " + table_ +
                " (key, value) VALUES ($1::bytea, $2::bytea) ON CONFLICT "
                "(key) DO UPDATE SET value = EXCLUDED.value");
    bool stripes[kLockStripes] = {};
    for (const std::string& k : keys) {
      stripes[fnv1a(k.data(), k.size()) % kLockStripes] = true;
    }
    std::string locks;
    for (uint32_t s = 0; s < kLockStripes; ++s) {
      if (!stripes[s]) continue;
      locks += locks.empty() ? "SELECT " : ", ";
      locks += "pg_advisory_xact_lock_shared(" + std::to_string(space_) + ", " +
               std::to_string(s) + ")";
    }
    PGconn* pg = c.conn;
    if (PQenterPipelineMode(pg) != 1) die("enter pipeline mode");
    size_t sent = 0;
    auto send_sql = [&](const char* sql) {
      if (PQsendQueryParams(pg, sql, 0, nullptr, nullptr, nullptr, nullptr,
                            1) != 1) {
        die(std::string("send: ") + PQerrorMessage(pg));
      }
      ++sent;
    };
    send_sql("BEGIN");
    send_sql(locks.c_str());
    for (const std::string& k : keys) {
      const char* values[2] = {k.data(), kValue.data()};
      const int lengths[2] = {static_cast<int>(k.size()),
                              static_cast<int>(kValue.size())};
      const int formats[2] = {1, 1};
      if (PQsendQueryPrepared(pg, "put_0", 2, values, lengths, formats, 1) !=
          1) {
        die(std::string("send: ") + PQerrorMessage(pg));
      }
      ++sent;
    }
    send_sql("COMMIT");
    if (PQpipelineSync(pg) != 1) die("pipeline sync");
    for (size_t i = 0; i < sent; ++i) {
      PgResult r(PQgetResult(pg));
      if (r.r == nullptr || !r.ok()) {
        die(std::string("write: ") + PQerrorMessage(pg));
      }
      PgResult end(PQgetResult(pg));  // each query's results end with NULL
    }
    PgResult sync(PQgetResult(pg));
    if (PQresultStatus(sync.r) != PGRES_PIPELINE_SYNC) die("no sync point");
    PQexitPipelineMode(pg);
    give(c.conn);
  }

  bool get(const std::string& key) {
    Conn c = take();
    prepare(c, "get_0",
            "SELECT value FROM " + table_ + " WHERE key = $1::bytea");
    const char* values[1] = {key.data()};
    const int lengths[1] = {static_cast<int>(key.size())};
    const int formats[1] = {1};
    PgResult r(PQexecPrepared(c.conn, "get_0", 1, values, lengths, formats, 1));
    if (!r.ok()) die(std::string("get: ") + PQresultErrorMessage(r.r));
    const bool found = PQntuples(r.r) == 1;
    if (found) sink_ += static_cast<size_t>(PQgetlength(r.r, 0, 0));
    give(c.conn);
    return found;
  }

  uint64_t scan() {
    Conn c = take();
    prepare(c, "fgeb_0",
            "SELECT key, value FROM " + table_ +
                " WHERE key >= $1::bytea AND key < $2::bytea ORDER BY key "
                "LIMIT $3::int8");
    prepare(c, "fgtb_0",
            "SELECT key, value FROM " + table_ +
                " WHERE key > $1::bytea AND key < $2::bytea ORDER BY key "
                "LIMIT $3::int8");
    {
      PgResult r(PQexec(c.conn,
                        "START TRANSACTION ISOLATION LEVEL REPEATABLE READ, "
                        "READ ONLY; SELECT 1"));
      if (!r.ok()) die(std::string("begin: ") + PQresultErrorMessage(r.r));
    }
    uint64_t n = 0;
    int64_t page = 64;
    std::string pivot = kScanLower;
    const char* statement = "fgeb_0";
    // One page buffer per scan, reused from page to page (the plugin's
    // iterator keeps one too).
    std::vector<std::pair<std::string, std::string>> entries;
    for (;;) {
      const std::string limit = be64(page);
      const char* values[3] = {pivot.data(), kScanUpper.data(), limit.data()};
      const int lengths[3] = {static_cast<int>(pivot.size()),
                              static_cast<int>(kScanUpper.size()), 8};
      const int formats[3] = {1, 1, 1};
      PgResult r(
          PQexecPrepared(c.conn, statement, 3, values, lengths, formats, 1));
      if (!r.ok()) die(std::string("scan: ") + PQresultErrorMessage(r.r));
      const int rows = PQntuples(r.r);
      // Copied out, as the plugin's page is.
      entries.clear();
      entries.reserve(static_cast<size_t>(rows));
      for (int i = 0; i < rows; ++i) {
        entries.emplace_back(
            std::string(PQgetvalue(r.r, i, 0),
                        static_cast<size_t>(PQgetlength(r.r, i, 0))),
            std::string(PQgetvalue(r.r, i, 1),
                        static_cast<size_t>(PQgetlength(r.r, i, 1))));
      }
      for (const auto& e : entries) sink_ += e.first.size() + e.second.size();
      n += static_cast<uint64_t>(rows);
      if (rows < page) break;
      pivot = entries.back().first;
      statement = "fgtb_0";
      page = std::min<int64_t>(page * 2, 2048);
    }
    PgResult end(PQexec(c.conn, "ROLLBACK"));
    if (!end.ok()) die(std::string("end: ") + PQresultErrorMessage(end.r));
    give(c.conn);
    return n;
  }

 private:
  struct Conn {
    PGconn* conn;
    std::unordered_set<std::string>* prepared;
  };

  PGconn* connect() {
    const char* keys[] = {"connect_timeout", "application_name", "dbname",
                          nullptr};
    const char* values[] = {"10", "kalam", conninfo_.c_str(), nullptr};
    PGconn* c = PQconnectdbParams(keys, values, 1);
    if (PQstatus(c) != CONNECTION_OK) {
      die(std::string("connect: ") + PQerrorMessage(c));
    }
    std::lock_guard lock(mutex_);
    prepared_[c];
    return c;
  }
  Conn take() {
    PGconn* c = nullptr;
    {
      std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        c = idle_.back();
        idle_.pop_back();
      }
    }
    if (c == nullptr) c = connect();
    std::lock_guard lock(mutex_);
    return Conn{c, &prepared_[c]};
  }
  void give(PGconn* c) {
    std::lock_guard lock(mutex_);
    idle_.push_back(c);
  }
  void prepare(Conn& c, const char* name, const std::string& sql) {
    if (c.prepared->count(name) != 0) return;
    PgResult r(PQprepare(c.conn, name, sql.c_str(), 0, nullptr));
    if (!r.ok()) die(std::string("prepare: ") + PQresultErrorMessage(r.r));
    c.prepared->insert(name);
  }

  std::string conninfo_;
  std::string schema_;
  std::string table_;
  int32_t space_ = 0;
  std::mutex mutex_;
  std::vector<PGconn*> idle_;
  // Node-based: the sets stay put while other connections are added.
  std::unordered_map<PGconn*, std::unordered_set<std::string>> prepared_;
  size_t sink_ = 0;  // keeps the reads' copies observable
};

}  // namespace

int main(int argc, char** argv) {
  g_program = "kalam-pg-bench";
  std::string mode;
  std::string conninfo;
  std::string plugin_dir = KALAM_PG_BENCH_PLUGIN_DIR;
  WorkloadOptions options;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--mode") {
      mode = value;
    } else if (flag == "--conninfo") {
      conninfo = value;
    } else if (flag == "--plugin-dir") {
      plugin_dir = value;
    } else if (!options.take(flag, value)) {
      die("unknown flag " + flag);
    }
  }
  if (conninfo.empty()) die("--conninfo is required");
  // A schema of this run's own, so rounds against one server never share
  // a table.
  const std::string schema =
      "kalam_bench_" + mode + "_" + std::to_string(getpid());
  if (mode == "native") {
    NativeStore store(conninfo, schema);
    run_workloads(store, "native", options);
  } else if (mode == "plugin") {
    // Enough idle connections for every thread, as the native pool keeps.
    PluginStore store(
        "postgres", plugin_dir,
        {{"conninfo", conninfo, 0},
         {"schema", schema, 0},
         {"pool_size", std::to_string(options.max_threads()), 0}});
    run_workloads(store, "plugin", options);
  } else {
    die("--mode native|plugin is required");
  }
  return 0;
}
