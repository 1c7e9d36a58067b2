// The wire to the server, kept apart from the ABI mapping: one libpq
// connection (prepared statements, binary parameters, a pipelined write
// transaction) and the pool of idle connections. Every failure here is
// turned into a KALAM_* code by fail_from(), through pg_status's classifier.
#pragma once

#include <libpq-fe.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include "pg_status.h"

namespace kalam::postgres_plugin {

struct ResultDeleter {
  void operator()(PGresult* result) const noexcept { PQclear(result); }
};
// An owned PGresult.
using Result = std::unique_ptr<PGresult, ResultDeleter>;

// One binary parameter: bytes that must stay valid while the call runs.
struct Param {
  const char* data = nullptr;
  int len = 0;
};

// How every connection of a database is opened and set up.
struct ConnectSpec {
  std::string conninfo;
  int64_t statement_timeout_ms = 0;  // 0: the server's setting
  std::string synchronous_commit;    // empty: the server's setting
  bool read_only = false;            // default_transaction_read_only
};

class Connection {
 public:
  // Connects (bounded by connect_timeout, 10 s unless conninfo says
  // otherwise) and applies the session settings of `spec`.
  static int open(const ConnectSpec& spec, std::unique_ptr<Connection>* out,
                  Error& err);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // True when the connection is idle and usable: not broken, not in a
  // transaction, and the server has not closed it (checked without waiting:
  // a poll of the socket). A connection the server restarted under is found
  // dead here instead of failing the next statement.
  bool alive();
  // The cheap part of alive(), without the poll: libpq knows the
  // connection is healthy and no transaction is open. For a connection
  // coming back to the pool right after a call succeeded on it; the next
  // take() polls it before use anyway.
  bool idle() const {
    return PQstatus(conn_) == CONNECTION_OK &&
           PQtransactionStatus(conn_) == PQTRANS_IDLE;
  }
  // Whether a transaction is open (or failed and not yet rolled back).
  bool in_transaction() const {
    return PQtransactionStatus(conn_) != PQTRANS_IDLE;
  }
  // "host:port" of the server, for messages.
  const std::string& server() const { return server_; }

  // Runs simple SQL (may be several statements; no parameters). The last
  // statement's result goes to *out when it is non-NULL.
  int exec(const std::string& sql, const char* what, Error& err,
           Result* out = nullptr);
  // Runs one statement with text parameters; text results to *out (may be
  // NULL). For the catalog, not for data.
  int exec_params(const std::string& sql, std::span<const std::string> params,
                  const char* what, Error& err, Result* out = nullptr);
  // Whether this connection has prepared statement `name`.
  bool has_prepared(const std::string& name) const {
    return prepared_.count(name) != 0;
  }
  // Prepares `sql` as `name` unless this connection already has it.
  int prepare(const std::string& name, const std::string& sql, Error& err);
  // Runs prepared statement `name` with binary parameters; rows come back
  // in binary. *out (may be NULL) receives the result on success.
  int run(const std::string& name, std::span<const Param> params,
          const char* what, Error& err, Result* out = nullptr,
          Failure* failure = nullptr);

  // One step of a write transaction: a prepared statement and its
  // parameters (up to two).
  struct Step {
    const std::string* statement = nullptr;
    int param_count = 0;
    Param params[2];
    // Without a statement: this SQL text, without parameters.
    const char* sql = nullptr;
  };
  // Runs BEGIN, `steps` and COMMIT as one transaction in pipeline mode:
  // the statements go out in chunks without waiting for each other's
  // results, so a batch of N steps costs about N/kPipelineChunk round
  // trips. With `sync_commit_on`, the transaction commits with
  // synchronous_commit = on (WAL flushed before COMMIT returns) whatever
  // the session's setting. On failure, err says whether anything may have
  // been applied: only a connection lost after COMMIT was sent leaves the
  // outcome unknown (Failure::kOutcomeUnknown). With `begun`, the caller
  // has already opened the transaction on this connection (a conditional
  // write checked its expectations in it): BEGIN is not sent.
  int transaction(std::span<const Step> steps, bool sync_commit_on,
                  Failure* failure, Error& err, bool begun = false);

  // Records the failure of `what` on this connection (`result` may be NULL)
  // in err and returns its code; *failure (may be NULL) receives its class.
  int fail_from(Error& err, const PGresult* result, const std::string& what,
                Failure* failure = nullptr);

  // Statements per pipeline chunk (see transaction()).
  static constexpr size_t kPipelineChunk = 512;

 private:
  explicit Connection(PGconn* conn);
  // Reads one query's result in pipeline mode (and the NULL after it).
  Result pipeline_result();

  PGconn* conn_;
  std::string server_;
  std::unordered_set<std::string> prepared_;
};

// Idle connections of one database, reused by reads, writes and snapshots.
// Keeps at most `max_idle` idle ones; more may be open while in use (the
// server's max_connections bounds them).
class Pool {
 public:
  Pool(ConnectSpec spec, size_t max_idle)
      : spec_(std::move(spec)), max_idle_(max_idle) {}
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // An idle, live connection, or a new one.
  int take(std::unique_ptr<Connection>* out, Error& err);
  // Takes a connection back: kept when it is idle (Connection::idle(); not
  // polled: take() does that) and there is room, else closed.
  void give(std::unique_ptr<Connection> conn) noexcept;
  // Closes every idle connection.
  void clear() noexcept;

  const ConnectSpec& spec() const { return spec_; }
  uint64_t opened() const { return opened_.load(std::memory_order_relaxed); }
  size_t idle() const;

 private:
  const ConnectSpec spec_;
  const size_t max_idle_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::atomic<uint64_t> opened_{0};
};

}  // namespace kalam::postgres_plugin
