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
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <kalam/database.h>
#include <kalam/plugin.h>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "kalam-pg-bench: %s\n", message.c_str());
  std::exit(2);
}

std::string key_of(int thread, uint64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "t%02d-k%010llu", thread,
                static_cast<unsigned long long>(i));
  return buf;  // 16 bytes
}

const std::string kValue(100, 'v');
// The scan workload reads the loaded set ("thread" 99's keys) only, so its
// size does not grow with the write workloads.
const std::string kScanLower = "t99-";
const std::string kScanUpper = "t99.";

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

// ---- plugin: kalam::Database -> C ABI -> kalam_postgres.so ----------------

class PluginStore {
 public:
  PluginStore(const std::string& conninfo, const std::string& schema,
              size_t pool_size, const std::string& plugin_dir) {
    auto plugin = kalam::load_plugin("postgres", {plugin_dir});
    if (!plugin.ok()) die("load_plugin: " + plugin.status().to_string());
    dir_ = std::filesystem::temp_directory_path() /
           ("kalam-pg-bench-" + std::to_string(getpid()));
    auto db =
        kalam::Database::open(*plugin, dir_,
                              {{"conninfo", conninfo, 0},
                               {"schema", schema, 0},
                               {"pool_size", std::to_string(pool_size), 0}});
    if (!db.ok()) die("open: " + db.status().to_string());
    db_ = std::move(db).value();
  }
  ~PluginStore() {
    static_cast<void>(db_->close());
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void write(const std::vector<std::string>& keys) {
    kalam::WriteBatch batch;
    for (const std::string& k : keys) batch.put(cf_, k, kValue);
    const kalam::Status s = db_->write(batch);
    if (!s.ok()) die("write: " + s.to_string());
  }
  bool get(const std::string& key) {
    size_t len = 0;
    const kalam::Status s =
        db_->get_with(cf_, key, [&len](std::string_view v) { len = v.size(); });
    if (s.ok()) return true;
    if (s.is_not_found()) return false;
    die("get: " + s.to_string());
  }
  uint64_t scan() {
    kalam::IteratorOptions options;
    options.lower = kScanLower;
    options.upper = kScanUpper;
    auto it = db_->new_iterator(cf_, options);
    if (!it.ok()) die("new_iterator: " + it.status().to_string());
    it->seek_to_first();
    uint64_t n = 0;
    for (;;) {
      auto got = it->next_batch(
          1000, [](std::string_view, std::string_view) { return true; });
      if (!got.ok()) die("next_batch: " + got.status().to_string());
      if (*got == 0) return n;
      n += *got;
    }
  }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<kalam::Database> db_;
  kalam::ColumnFamily cf_;
};

// ---- the driver (as bench/etcd/etcd_bench.cc) ------------------------------

struct Result {
  double ops_per_s = 0;
  double p50_us = 0;
  double p99_us = 0;
  // CPU time (user + system) of this process per unit: what the client
  // side costs, much less disturbed than wall time by other load on the
  // machine (the server's CPU is not in it).
  double cpu_us_per_unit = 0;
  uint64_t units = 0;  // keys written or read, entries scanned
};

double process_cpu_us() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e6 +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

double quantile(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * v.size()));
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(i), v.end());
  return v[i];
}

// Runs `op(thread, i)` (returning the units it did) on `threads` threads for
// `seconds`; latency per op.
template <class Op>
Result run(int threads, double seconds, Op op) {
  std::vector<std::vector<double>> latencies(threads);
  std::vector<uint64_t> units(threads, 0);
  std::vector<std::thread> pool;
  const double cpu_start = process_cpu_us();
  const auto start = Clock::now();
  const auto stop = start + std::chrono::duration<double>(seconds);
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      // Bounded by time and by count.
      for (uint64_t i = 0; i < 100000000 && Clock::now() < stop; ++i) {
        const auto t0 = Clock::now();
        units[t] += op(t, i);
        latencies[t].push_back(
            std::chrono::duration<double, std::micro>(Clock::now() - t0)
                .count());
      }
    });
  }
  for (auto& th : pool) th.join();
  const double cpu = process_cpu_us() - cpu_start;
  const double took =
      std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  uint64_t total = 0;
  for (int t = 0; t < threads; ++t) {
    all.insert(all.end(), latencies[t].begin(), latencies[t].end());
    total += units[t];
  }
  Result r;
  r.ops_per_s = static_cast<double>(total) / took;
  r.p50_us = quantile(all, 0.50);
  r.p99_us = quantile(all, 0.99);
  r.cpu_us_per_unit = total > 0 ? cpu / static_cast<double>(total) : 0;
  r.units = total;
  return r;
}

template <class Store>
void bench(Store& store, const char* mode, double seconds, uint64_t keys,
           const std::vector<int>& thread_counts,
           const std::string& workloads) {
  // The read set: `keys` keys written by "thread" 99 in batches of 100.
  for (uint64_t i = 0; i < keys; i += 100) {
    std::vector<std::string> batch;
    for (uint64_t j = i; j < std::min(keys, i + 100); ++j) {
      batch.push_back(key_of(99, j));
    }
    store.write(batch);
  }
  std::printf(
      "mode\tworkload\tthreads\tops_per_s\tp50_us\tp99_us\tcpu_us_per_"
      "unit\tunits\n");
  for (int threads : thread_counts) {
    std::vector<std::mt19937_64> rngs;
    for (int t = 0; t < threads; ++t) rngs.emplace_back(1234 + t);
    const auto wanted = [&](const char* workload) {
      return workloads.find("," + std::string(workload) + ",") !=
             std::string::npos;
    };
    const auto print = [&](const char* workload, const Result& r) {
      std::printf("%s\t%s\t%d\t%.0f\t%.0f\t%.0f\t%.3f\t%llu\n", mode, workload,
                  threads, r.ops_per_s, r.p50_us, r.p99_us, r.cpu_us_per_unit,
                  static_cast<unsigned long long>(r.units));
      std::fflush(stdout);
    };
    if (wanted("put"))
      print("put", run(threads, seconds, [&](int t, uint64_t i) {
              store.write({key_of(t, 1000000 + i)});
              return 1;
            }));
    if (wanted("batch100"))
      print("batch100", run(threads, seconds, [&](int t, uint64_t i) {
              std::vector<std::string> batch;
              for (uint64_t j = 0; j < 100; ++j) {
                batch.push_back(key_of(t, 2000000 + i * 100 + j));
              }
              store.write(batch);
              return 100;
            }));
    if (wanted("get"))
      print("get", run(threads, seconds, [&](int t, uint64_t) {
              if (!store.get(key_of(99, rngs[t]() % keys))) die("get: missing");
              return 1;
            }));
    // scan: entries per second over the loaded set.
    if (wanted("scan"))
      print("scan", run(threads, seconds, [&](int, uint64_t) {
              const uint64_t n = store.scan();
              if (n != keys) die("scan: " + std::to_string(n) + " entries");
              return static_cast<int>(n);
            }));
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode;
  std::string conninfo;
  std::string plugin_dir = KALAM_PG_BENCH_PLUGIN_DIR;
  double seconds = 3;
  uint64_t keys = 10000;
  std::vector<int> thread_counts = {1, 4, 16};
  std::string workloads = ",put,batch100,get,scan,";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--mode") {
      mode = value;
    } else if (flag == "--conninfo") {
      conninfo = value;
    } else if (flag == "--seconds") {
      seconds = std::stod(value);
    } else if (flag == "--keys") {
      keys = std::stoull(value);
    } else if (flag == "--workloads") {
      workloads = "," + value + ",";
    } else if (flag == "--plugin-dir") {
      plugin_dir = value;
    } else if (flag == "--threads") {
      thread_counts.clear();
      std::stringstream in(value);
      std::string n;
      while (std::getline(in, n, ',')) thread_counts.push_back(std::stoi(n));
    } else {
      die("unknown flag " + flag);
    }
  }
  if (conninfo.empty()) die("--conninfo is required");
  if (keys == 0) die("--keys must be at least 1");
  const int max_threads =
      *std::max_element(thread_counts.begin(), thread_counts.end());
  // A schema of this run's own, so rounds against one server never share
  // a table.
  const std::string schema =
      "kalam_bench_" + mode + "_" + std::to_string(getpid());
  if (mode == "native") {
    NativeStore store(conninfo, schema);
    bench(store, "native", seconds, keys, thread_counts, workloads);
  } else if (mode == "plugin") {
    // Enough idle connections for every thread, as the native pool keeps.
    PluginStore store(conninfo, schema, static_cast<size_t>(max_threads),
                      plugin_dir);
    bench(store, "plugin", seconds, keys, thread_counts, workloads);
  } else {
    die("--mode native|plugin is required");
  }
  return 0;
}
