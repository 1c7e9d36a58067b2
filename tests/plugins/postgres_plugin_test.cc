// What is special about the PostgreSQL plugin (kalam_postgres.so), through
// the raw C ABI and the conformance harness (RawDatabase), against a real,
// throwaway server (tests/support/postgres_server.h): the server's bytea
// order is the ABI's byte order, options, authentication, statement
// timeouts, the server killed or restarted mid-workload, the engine process
// killed mid-workload, and two processes writing one database. Behaviour
// every plugin shares is tested by the conformance suite
// (conformance_runner_passes_postgres).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "conformance.h"
#include "postgres_server.h"

namespace kalam::conformance {
namespace {

using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;
using Options = std::map<std::string, std::string>;

std::string bytes(std::initializer_list<int> list) {
  std::string out;
  for (int b : list) out.push_back(static_cast<char>(b));
  return out;
}

// A schema name as an SQL identifier (the plugin accepts only
// [A-Za-z0-9_] names).
std::string quote(const std::string& name) { return "\"" + name + "\""; }

// memcmp order, the shorter first on a tie (std::char_traits<char>
// compares as unsigned char).
bool byte_less(const std::string& a, const std::string& b) { return a < b; }

class PostgresTest : public ::testing::Test, public RawDatabase {
 public:
  static void SetUpTestSuite() { server_ = new test::PostgresServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  BackendUnderTest backend(Options extra = {}) const {
    Options options = {{"conninfo", server_->conninfo()}};
    for (auto& [k, v] : extra) options[k] = v;
    return {"postgres", KALAM_TEST_PLUGIN_POSTGRES_PATH, options};
  }
  void SetUp() override { ASSERT_TRUE(start(backend())); }
  // open_with() replaces every option: these keep conninfo.
  void reopen_with(Options extra) {
    open_with(backend(std::move(extra)).options);
  }
  void TearDown() override { close_db(); }

  std::string schema() {
    std::string value;
    EXPECT_EQ(property(nullptr, "postgres.schema", &value), KALAM_OK);
    return value;
  }

  kalam_db* raw_db() const { return db_; }

  static test::PostgresServer* server_;
};
test::PostgresServer* PostgresTest::server_ = nullptr;

// ---- Order and mapping ----------------------------------------------------

TEST_F(PostgresTest, ServerByteaOrderIsTheAbiByteOrder) {
  std::vector<std::string> keys = {bytes({0x00}),
                                   bytes({0x00, 0x00}),
                                   bytes({0x00, 0x01}),
                                   bytes({0x01}),
                                   bytes({0x7F}),
                                   bytes({0x80}),
                                   bytes({0xFE, 0xFF}),
                                   bytes({0xFF}),
                                   bytes({0xFF, 0x00}),
                                   bytes({0xFF, 0xFF}),
                                   "a",
                                   std::string("a\0", 2),
                                   "ab",
                                   "abc",
                                   "b",
                                   "B",
                                   "\xc3\xa9",
                                   "e"};
  std::mt19937 rng(7);
  for (int i = 0; i < 300; ++i) {
    std::string k(1 + rng() % 6, '\0');
    for (char& c : k) c = static_cast<char>(rng());
    keys.push_back(k);
  }
  std::vector<Op> ops;
  for (const std::string& k : keys) ops.push_back(Put(nullptr, k, k));
  ASSERT_EQ(write(ops), KALAM_OK);
  std::sort(keys.begin(), keys.end(), byte_less);
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  KV expected;
  for (const std::string& k : keys) expected.emplace_back(k, k);
  EXPECT_EQ(scan(nullptr), expected);
  std::reverse(expected.begin(), expected.end());
  IterSpec reverse;
  reverse.reverse = true;
  EXPECT_EQ(scan(nullptr, reverse), expected);

  // The server itself orders the column this way (ORDER BY on the table),
  // and bytea is not a collatable type: no locale can change the order.
  const std::string table = quote(schema()) + ".cf_0";
  PGconn* conn = PQconnectdb(server_->conninfo().c_str());
  ASSERT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
  PGresult* r = PQexecParams(
      conn,
      ("SELECT key FROM " + table + " ORDER BY key COLLATE \"C\"").c_str(), 0,
      nullptr, nullptr, nullptr, nullptr, 1);
  EXPECT_NE(PQresultStatus(r), PGRES_TUPLES_OK)
      << "COLLATE on bytea should be refused: bytea has no collation";
  PQclear(r);
  r = PQexecParams(conn, ("SELECT key FROM " + table + " ORDER BY key").c_str(),
                   0, nullptr, nullptr, nullptr, nullptr, 1);
  ASSERT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQresultErrorMessage(r);
  std::vector<std::string> server_order;
  for (int i = 0; i < PQntuples(r); ++i) {
    server_order.emplace_back(PQgetvalue(r, i, 0),
                              static_cast<size_t>(PQgetlength(r, i, 0)));
  }
  PQclear(r);
  PQfinish(conn);
  EXPECT_EQ(server_order, keys);
}

TEST_F(PostgresTest, EachDatabaseIsASchemaRecordedInItsDirectory) {
  const std::string first = schema();
  EXPECT_THAT(first, ::testing::StartsWith("kalam_"));
  ASSERT_EQ(put(nullptr, "k", "v"), KALAM_OK);
  // The same directory reopens the same schema; the schema option must
  // agree with the recorded one.
  reopen();
  EXPECT_EQ(schema(), first);
  EXPECT_EQ(value_of(nullptr, "k"), "v");
  kalam_db* other = nullptr;
  RawStatus status;
  EXPECT_EQ(open_at(db_path(), &other, KALAM_OPEN_CREATE_IF_MISSING,
                    {{"schema", "another_one"}}, &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(other, nullptr);
  EXPECT_THAT(status.text(), HasSubstr(first));
  // A named schema is shared by every directory that names it.
  ASSERT_EQ(open_at(dir_ / "b", &other, KALAM_OPEN_CREATE_IF_MISSING,
                    {{"schema", "shared_db"}}, &status),
            KALAM_OK)
      << status.text();
  std::swap(other, db_);
  ASSERT_EQ(put(nullptr, "shared", "yes"), KALAM_OK);
  std::swap(other, db_);
  ASSERT_EQ(vt().close(other, &status), KALAM_OK);
  ASSERT_EQ(open_at(dir_ / "c", &other, 0, {{"schema", "shared_db"}}, &status),
            KALAM_OK)
      << status.text();
  std::swap(other, db_);
  EXPECT_EQ(value_of(nullptr, "shared"), "yes");
  EXPECT_EQ(value_of(nullptr, "k"), std::nullopt);
  std::swap(other, db_);
  ASSERT_EQ(vt().close(other, &status), KALAM_OK);
  // Without create, a schema that does not exist is NOT_FOUND.
  EXPECT_EQ(open_at(dir_ / "d", &other, 0, {{"schema", "absent_db"}}, &status),
            KALAM_NOT_FOUND);
}

// ---- Options --------------------------------------------------------------

TEST_F(PostgresTest, OptionsAreCheckedAndNamed) {
  const std::vector<std::pair<Options, std::string>> bad = {
      {{{"conn_info", "x"}}, "conn_info"},
      {{{"pool_size", "-1"}}, "pool_size"},
      {{{"pool_size", "many"}}, "pool_size"},
      {{{"statement_timeout_ms", "1.5"}}, "statement_timeout_ms"},
      {{{"synchronous_commit", "sometimes"}}, "synchronous_commit"},
      {{{"schema", "no-dashes"}}, "schema"},
      {{{"schema", "1digit"}}, "schema"},
      {{{"schema", "pg_mine"}}, "schema"},
  };
  for (const auto& [options, key] : bad) {
    kalam_db* other = nullptr;
    RawStatus status;
    EXPECT_EQ(open_at(dir_ / "other", &other, KALAM_OPEN_CREATE_IF_MISSING,
                      options, &status),
              KALAM_INVALID_ARGUMENT)
        << key;
    EXPECT_EQ(other, nullptr);
    EXPECT_THAT(status.text(), HasSubstr(key));
  }
  // Good values open; synchronous_commit=off still makes SYNC writes and
  // flush() durable (a commit with synchronous_commit=on).
  reopen_with({{"pool_size", "0"},
               {"statement_timeout_ms", "60000"},
               {"synchronous_commit", "off"}});
  ASSERT_EQ(put(nullptr, "async", "1"), KALAM_OK);
  ASSERT_EQ(put(nullptr, "sync", "1", /*sync=*/true), KALAM_OK);
  RawStatus status;
  EXPECT_EQ(vt().flush(db_, 0, &status), KALAM_OK) << status.text();
  reopen();
  EXPECT_EQ(value_of(nullptr, "async"), "1");
  EXPECT_EQ(value_of(nullptr, "sync"), "1");
}

// ---- Authentication and unreachable servers --------------------------------

TEST_F(PostgresTest, WrongPasswordIsAClearErrorNamingTheServer) {
  const std::string where = "127.0.0.1";
  const std::string port = std::to_string(server_->port());
  kalam_db* other = nullptr;
  RawStatus status;
  const auto begin = Clock::now();
  const int rc =
      open_at(dir_ / "other", &other, KALAM_OPEN_CREATE_IF_MISSING,
              {{"conninfo", server_->conninfo("not-the-password")}}, &status);
  EXPECT_LT(Clock::now() - begin, std::chrono::seconds(15)) << "never a hang";
  EXPECT_NE(rc, KALAM_OK);
  EXPECT_EQ(other, nullptr);
  EXPECT_THAT(status.text(), HasSubstr(where));
  EXPECT_THAT(status.text(), HasSubstr(port));
  EXPECT_THAT(status.text(), HasSubstr("password authentication failed"));
  // The right password (every other test uses it) works: scram-sha-256 is
  // the only method the fixture's pg_hba.conf allows.
  EXPECT_EQ(server_->sql("SELECT 1 WHERE current_setting("
                         "'password_encryption') = 'scram-sha-256'"),
            "");
}

TEST_F(PostgresTest, NoServerIsAClearErrorNotAHang) {
  // A port nothing listens on: the server is "gone".
  int free_port = 0;
  {
    test::PostgresServer* s = server_;
    free_port = s->port() == 65535 ? 65534 : s->port() + 1;
  }
  kalam_db* other = nullptr;
  RawStatus status;
  const auto begin = Clock::now();
  const int rc =
      open_at(dir_ / "other", &other, KALAM_OPEN_CREATE_IF_MISSING,
              {{"conninfo", "host=127.0.0.1 port=" + std::to_string(free_port) +
                                " user=kalam password=x connect_timeout=3"}},
              &status);
  EXPECT_LT(Clock::now() - begin, std::chrono::seconds(15));
  // UNAVAILABLE for this ABI 1.2 host; an ABI 1.1 host gets IO_ERROR.
  EXPECT_STREQ(kalam_code_name(rc), kalam_code_name(KALAM_UNAVAILABLE));
  EXPECT_EQ(other, nullptr);
  EXPECT_THAT(status.text(), HasSubstr("127.0.0.1"));
  EXPECT_THAT(status.text(), HasSubstr("nothing was applied"));
}

// ---- Statement timeout ----------------------------------------------------

TEST_F(PostgresTest, StatementTimeoutIsReportedAndAppliesNothing) {
  reopen_with({{"statement_timeout_ms", "300"}});
  const std::string table = quote(schema()) + ".cf_0";
  // Another session holds the table locked, so the write waits until
  // statement_timeout cancels it.
  PGconn* locker = PQconnectdb(server_->conninfo().c_str());
  ASSERT_EQ(PQstatus(locker), CONNECTION_OK);
  PQclear(PQexec(
      locker,
      ("BEGIN; LOCK TABLE " + table + " IN ACCESS EXCLUSIVE MODE").c_str()));
  RawStatus status;
  const auto begin = Clock::now();
  const int rc = write({Put(nullptr, "a", "1"), Put(nullptr, "b", "2")}, false,
                       sizeof(kalam_write_op), &status);
  EXPECT_LT(Clock::now() - begin, std::chrono::seconds(10));
  // TIMED_OUT for this ABI 1.2 host; an ABI 1.1 host gets IO_ERROR.
  EXPECT_STREQ(kalam_code_name(rc), kalam_code_name(KALAM_TIMED_OUT));
  EXPECT_THAT(status.text(), HasSubstr("statement_timeout"));
  EXPECT_THAT(status.text(), HasSubstr("nothing was applied"));
  PQclear(PQexec(locker, "ROLLBACK"));
  PQfinish(locker);
  EXPECT_EQ(value_of(nullptr, "a"), std::nullopt);
  EXPECT_EQ(write({Put(nullptr, "a", "1"), Put(nullptr, "b", "2")}), KALAM_OK);
  EXPECT_EQ(value_of(nullptr, "b"), "2");
}

// ---- Failures of the server ----------------------------------------------

constexpr int kBatchKeys = 5;

std::string batch_key(int batch, int i) {
  return "b" + std::to_string(batch) + "-" + std::to_string(i);
}

std::vector<Op> batch_ops(kalam_cf* cf, int batch) {
  std::vector<Op> ops;
  for (int i = 0; i < kBatchKeys; ++i) {
    ops.push_back(Put(cf, batch_key(batch, i), std::to_string(batch)));
  }
  return ops;
}

// Raw write of `ops` (the harness's write() asserts nothing about codes).
int raw_write(const kalam_backend_vtable& vt, kalam_db* db,
              const std::vector<Op>& ops, RawStatus* status) {
  std::vector<kalam_write_op> raw(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    raw[i] = kalam_write_op{ops[i].type,        0,
                            ops[i].cf,          ops[i].key.data(),
                            ops[i].key.size(),  ops[i].value.data(),
                            ops[i].value.size()};
  }
  kalam_write_options options{};
  options.struct_size = sizeof options;
  options.op_stride = sizeof(kalam_write_op);
  return vt.write(db, &options, raw.data(), raw.size(), status);
}

// How many of the batch's keys are stored (each with the batch's value).
int stored_keys(RawDatabase& db, int batch) {
  int n = 0;
  for (int i = 0; i < kBatchKeys; ++i) {
    const auto v = db.value_of(nullptr, batch_key(batch, i));
    if (v.has_value()) {
      EXPECT_EQ(*v, std::to_string(batch));
      ++n;
    }
  }
  return n;
}

template <class Pred>
bool wait_for(Pred pred, std::chrono::seconds limit) {
  const auto deadline = Clock::now() + limit;
  while (!pred()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// A writer thread commits batches while the server goes down (kill -9 or a
// fast shutdown) and comes back on the same port: writes fail with a clear
// error while it is down, never hang, succeed again after it is back, and
// every acknowledged batch is there in full, every failed one in full or
// not at all.
void outage_while_writing(PostgresTest& t, test::PostgresServer& server,
                          bool kill9) {
  std::atomic<bool> stop{false};
  std::atomic<int> acked_count{0};
  std::atomic<int> failed_count{0};
  std::mutex mutex;
  std::vector<int> acked;
  std::vector<int> failed;
  std::vector<std::pair<int, std::string>> errors;
  std::atomic<int64_t> longest_ms{0};
  const kalam_backend_vtable& vt = t.vt();
  kalam_db* db = t.raw_db();
  std::thread writer([&] {
    for (int batch = 0; !stop.load() && batch < 1000000; ++batch) {
      RawStatus status;
      const auto begin = Clock::now();
      const int rc = raw_write(vt, db, batch_ops(nullptr, batch), &status);
      const int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             Clock::now() - begin)
                             .count();
      if (ms > longest_ms.load()) longest_ms.store(ms);
      std::lock_guard lock(mutex);
      if (rc == KALAM_OK) {
        acked.push_back(batch);
        acked_count.fetch_add(1);
      } else {
        failed.push_back(batch);
        errors.emplace_back(rc, status.text());
        failed_count.fetch_add(1);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  });
  const bool warmed = wait_for([&] { return acked_count.load() >= 20; },
                               std::chrono::seconds(60));
  if (kill9) {
    server.kill9();
  } else {
    server.stop();
  }
  const bool saw_errors = wait_for([&] { return failed_count.load() >= 3; },
                                   std::chrono::seconds(30));
  // A read while the server is down is an error too, not a hang.
  RawStatus read_status;
  std::string ignored;
  const auto read_begin = Clock::now();
  const int read_rc = vt.get(
      db, nullptr, nullptr, "b0-0", 4,
      [](void* ctx, const void* d, size_t n) {
        static_cast<std::string*>(ctx)->assign(static_cast<const char*>(d), n);
      },
      &ignored, &read_status);
  const auto read_time = Clock::now() - read_begin;
  bool restarted = false;
  for (int attempt = 0; attempt < 100 && !restarted; ++attempt) {
    restarted = server.start();
    if (!restarted) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  const int acked_before = acked_count.load();
  const bool resumed =
      restarted &&
      wait_for([&] { return acked_count.load() >= acked_before + 20; },
               std::chrono::seconds(60));
  stop.store(true);
  writer.join();

  ASSERT_TRUE(warmed) << "the writer never got going";
  ASSERT_TRUE(restarted) << "the server did not come back; see "
                         << server.dir() / "server.log";
  EXPECT_TRUE(saw_errors) << "writes kept succeeding with the server down";
  EXPECT_TRUE(resumed) << "writes did not succeed again after the restart";
  EXPECT_LT(longest_ms.load(), 30000) << "a write hung";
  EXPECT_STREQ(kalam_code_name(read_rc), kalam_code_name(KALAM_UNAVAILABLE))
      << read_status.text();
  EXPECT_LT(read_time, std::chrono::seconds(15));
  if (!errors.empty()) {
    std::cout << "while down, e.g.: " << errors.front().second << "\n"
              << "a read: " << read_status.text() << "\n";
  }
  for (const auto& [rc, text] : errors) {
    // This ABI 1.2 host gets the code that says which it was.
    EXPECT_THAT(text, HasSubstr("127.0.0.1")) << text;
    if (rc == KALAM_OUTCOME_UNKNOWN) {
      EXPECT_THAT(text, HasSubstr("may or may not")) << text;
    } else {
      EXPECT_STREQ(kalam_code_name(rc), kalam_code_name(KALAM_UNAVAILABLE))
          << text;
      EXPECT_THAT(text, HasSubstr("nothing was applied")) << text;
    }
  }
  for (int batch : acked) {
    EXPECT_EQ(stored_keys(t, batch), kBatchKeys)
        << "acknowledged batch " << batch << " was lost";
  }
  for (int batch : failed) {
    const int n = stored_keys(t, batch);
    EXPECT_TRUE(n == 0 || n == kBatchKeys)
        << "batch " << batch << " is partly applied: " << n << " keys";
  }
}

TEST_F(PostgresTest, ServerKilledMidWorkloadThenRestarted) {
  outage_while_writing(*this, *server_, /*kill9=*/true);
}

TEST_F(PostgresTest, ServerRestartedMidWorkload) {
  outage_while_writing(*this, *server_, /*kill9=*/false);
}

// ---- Failures of the engine process ---------------------------------------

// In a forked child (no gtest there): opens schema `schema` and commits
// batches until killed, writing each acknowledged batch number to `fd`.
[[noreturn]] void child_writer(const kalam_backend_vtable& vt,
                               const std::string& conninfo,
                               const std::filesystem::path& dir,
                               const std::string& schema, int first_batch,
                               int batches, int fd) {
  const char* keys[] = {"conninfo", "schema"};
  const char* values[] = {conninfo.c_str(), schema.c_str()};
  const std::string path = dir.string();
  kalam_open_params params{};
  params.struct_size = sizeof params;
  params.flags = KALAM_OPEN_CREATE_IF_MISSING;
  params.path = path.c_str();
  params.option_keys = keys;
  params.option_values = values;
  params.option_count = 2;
  kalam_db* db = nullptr;
  if (vt.open(&params, &db, nullptr) != KALAM_OK) _exit(3);
  kalam_cf* shared = nullptr;
  if (vt.cf_open(db, "shared", KALAM_CF_CREATE_IF_MISSING, &shared, nullptr) !=
      KALAM_OK) {
    _exit(4);
  }
  for (int batch = first_batch; batch < first_batch + batches; ++batch) {
    std::vector<Op> ops = batch_ops(nullptr, batch);
    for (Op& op : batch_ops(shared, batch)) ops.push_back(op);
    if (raw_write(vt, db, ops, nullptr) != KALAM_OK) _exit(5);
    if (fd >= 0 && ::write(fd, &batch, sizeof batch) != sizeof batch) _exit(6);
  }
  if (vt.close(db, nullptr) != KALAM_OK) _exit(7);
  _exit(0);
}

TEST_F(PostgresTest, EngineKilledMidWorkloadLosesNoAcknowledgedWrite) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    child_writer(vt(), server_->conninfo(), dir_ / "child", "engine_kill", 0,
                 1000000, fds[1]);
  }
  close(fds[1]);
  std::vector<int> acked;
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  int batch = 0;
  while (acked.size() < 40 && Clock::now() < deadline &&
         read(fds[0], &batch, sizeof batch) == sizeof batch) {
    acked.push_back(batch);
  }
  kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  // Acknowledgements written before the kill.
  while (read(fds[0], &batch, sizeof batch) == sizeof batch) {
    acked.push_back(batch);
  }
  close(fds[0]);
  ASSERT_TRUE(WIFSIGNALED(status))
      << "the child ended early, exit status " << WEXITSTATUS(status);
  ASSERT_GE(acked.size(), 40u);

  open_with(backend({{"schema", "engine_kill"}}).options,
            KALAM_OPEN_CREATE_IF_MISSING, dir_ / "parent");
  kalam_cf* shared = existing("shared");
  for (int b : acked) {
    EXPECT_EQ(stored_keys(*this, b), kBatchKeys) << "acknowledged batch " << b;
  }
  // Nothing partial: every key in either family belongs to a whole batch
  // present in both families.
  const KV main = scan(nullptr);
  const KV other = scan(shared);
  EXPECT_EQ(main.size() % kBatchKeys, 0u);
  EXPECT_EQ(main, other);
  EXPECT_GE(main.size(), acked.size() * kBatchKeys);
  EXPECT_LE(main.size(), (acked.size() + 1) * kBatchKeys)
      << "at most the one batch in flight at the kill may be there too";
}

TEST_F(PostgresTest, TwoProcessesWritingOneDatabaseLoseNothing) {
  constexpr int kBatches = 60;
  pid_t pids[2];
  for (int p = 0; p < 2; ++p) {
    pids[p] = fork();
    ASSERT_GE(pids[p], 0);
    if (pids[p] == 0) {
      child_writer(vt(), server_->conninfo(), dir_ / ("p" + std::to_string(p)),
                   "two_procs", p * kBatches, kBatches, -1);
    }
  }
  for (pid_t pid : pids) {
    int status = 0;
    // Bounded: ctest's timeout kills a hung child with the test.
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "child exit status " << status;
  }
  open_with(backend({{"schema", "two_procs"}}).options, 0, dir_ / "p0");
  kalam_cf* shared = existing("shared");
  EXPECT_EQ(list_families().size(), 2u);
  const KV main = scan(nullptr);
  EXPECT_EQ(main.size(), 2u * kBatches * kBatchKeys);
  EXPECT_EQ(scan(shared), main);
  for (int b = 0; b < 2 * kBatches; ++b) {
    EXPECT_EQ(stored_keys(*this, b), kBatchKeys) << "batch " << b;
  }
}

}  // namespace
}  // namespace kalam::conformance
