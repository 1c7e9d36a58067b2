#include "pg_wire.h"

#include <poll.h>

#include <cstring>
#include <utility>

namespace kalam::postgres_plugin {
namespace {

// The server's text for a result or the connection, without the trailing
// newline libpq adds.
std::string server_text(PGconn* conn, const PGresult* result) {
  const char* text = result != nullptr ? PQresultErrorMessage(result) : "";
  if (text == nullptr || text[0] == '\0') text = PQerrorMessage(conn);
  std::string out = text != nullptr ? text : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) {
    out.pop_back();
  }
  for (char& c : out) {
    if (c == '\n') c = ' ';
  }
  return out.empty() ? "no detail from libpq" : out;
}

const char* hint_for(Failure failure) {
  switch (failure) {
    case Failure::kUnavailable:
      return "; nothing was applied: check that the server is up and "
             "reachable, then retry (the plugin reconnects by itself)";
    case Failure::kOutcomeUnknown:
      return "; the connection was lost after COMMIT was sent, so the write "
             "may or may not have been applied: read the keys back before "
             "retrying";
    case Failure::kTimedOut:
      return "; nothing was applied: the statement ran into "
             "statement_timeout (or a lock wait into lock_timeout); raise "
             "statement_timeout_ms or retry";
    case Failure::kConflict:
      return "; nothing was applied: a concurrent transaction conflicted; "
             "retry";
    case Failure::kNoSpace:
      return "; nothing was applied: the server's disk is full; free space "
             "on the server and retry";
    case Failure::kBadConfig:
      return "; check conninfo (user, password, database) and the role's "
             "privileges on the schema";
    case Failure::kTooLarge:
      return "; nothing was applied: the row is over a server limit";
    default:
      return "";
  }
}

bool looks_like_auth_failure(const std::string& text) {
  return text.find("authentication failed") != std::string::npos ||
         text.find("no password supplied") != std::string::npos ||
         text.find("does not exist") != std::string::npos;
}

// A refusal that TLS settings explain: the server's certificate did not
// verify, TLS was required by one side and not offered by the other, or
// pg_hba.conf has no line for this kind of connection.
bool looks_like_tls_or_hba_refusal(const std::string& text) {
  return text.find("certificate") != std::string::npos ||
         text.find("SSL") != std::string::npos ||
         text.find("no pg_hba.conf entry") != std::string::npos;
}

}  // namespace

Connection::Connection(PGconn* conn) : conn_(conn) {
  const char* host = PQhost(conn_);
  const char* port = PQport(conn_);
  server_ = std::string(host != nullptr ? host : "?") + ":" +
            (port != nullptr ? port : "?");
}

Connection::~Connection() { PQfinish(conn_); }

int Connection::open(const ConnectSpec& spec, std::unique_ptr<Connection>* out,
                     Error& err) {
  // The defaults come first so the conninfo (expanded in place of dbname)
  // overrides them.
  const char* keys[] = {"connect_timeout", "application_name", "dbname",
                        nullptr};
  const char* values[] = {"10", "kalam", spec.conninfo.c_str(), nullptr};
  PGconn* raw = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (raw == nullptr) {
    return fail(err, KALAM_NO_MEMORY,
                "postgres plugin: connect: libpq could not allocate a "
                "connection");
  }
  if (PQstatus(raw) != CONNECTION_OK) {
    const std::string text = server_text(raw, nullptr);
    PQfinish(raw);
    if (looks_like_tls_or_hba_refusal(text)) {
      return fail(err, code_for(Failure::kBadConfig),
                  "postgres plugin: cannot connect: " + text +
                      "; check conninfo's sslmode and sslrootcert (the CA "
                      "that signed the server's certificate) against the "
                      "server's ssl settings and pg_hba.conf");
    }
    const Failure failure = looks_like_auth_failure(text)
                                ? Failure::kBadConfig
                                : Failure::kUnavailable;
    return fail(err, code_for(failure),
                "postgres plugin: cannot connect: " + text + hint_for(failure));
  }
  std::unique_ptr<Connection> conn(new Connection(raw));
  if (PQserverVersion(raw) < 100000) {
    return fail(err, KALAM_NOT_SUPPORTED,
                "postgres plugin: the server at " + conn->server() +
                    " runs PostgreSQL " + std::to_string(PQserverVersion(raw)) +
                    "; the plugin needs version 10 or later");
  }
  std::string setup;
  if (spec.statement_timeout_ms > 0) {
    setup +=
        "SET statement_timeout = " + std::to_string(spec.statement_timeout_ms) +
        ";";
  }
  if (!spec.synchronous_commit.empty()) {
    setup += "SET synchronous_commit = " + spec.synchronous_commit + ";";
  }
  if (spec.read_only) setup += "SET default_transaction_read_only = on;";
  if (!setup.empty()) {
    const int rc = conn->exec(setup, "set up the session", err);
    if (rc != KALAM_OK) return rc;
  }
  *out = std::move(conn);
  return KALAM_OK;
}

bool Connection::alive() {
  if (PQstatus(conn_) != CONNECTION_OK) return false;
  if (PQtransactionStatus(conn_) != PQTRANS_IDLE) return false;
  pollfd fd{};
  fd.fd = PQsocket(conn_);
  if (fd.fd < 0) return false;
  fd.events = POLLIN;
  const int ready = ::poll(&fd, 1, 0);
  if (ready == 0) return true;  // nothing pending: the usual case
  if (ready < 0) return false;
  // Readable while idle: a notice, a parameter change, or the server
  // closing the connection. Consume it and look again.
  if (PQconsumeInput(conn_) == 0) return false;
  while (PGnotify* notify = PQnotifies(conn_)) PQfreemem(notify);
  return PQstatus(conn_) == CONNECTION_OK && !PQisBusy(conn_);
}

int Connection::fail_from(Error& err, const PGresult* result,
                          const std::string& what, Failure* failure) {
  const char* sqlstate = result != nullptr
                             ? PQresultErrorField(result, PG_DIAG_SQLSTATE)
                             : nullptr;
  const bool connection_ok = PQstatus(conn_) == CONNECTION_OK;
  const Failure kind = classify_sqlstate(sqlstate, connection_ok);
  if (failure != nullptr) *failure = kind;
  int64_t native = 0;
  if (sqlstate != nullptr && std::strlen(sqlstate) == 5) {
    // The SQLSTATE's five characters packed into one number (ASCII, big
    // end first) so a caller can recover them; the message has them too.
    for (int i = 0; i < 5; ++i) {
      native = (native << 8) | static_cast<unsigned char>(sqlstate[i]);
    }
  }
  std::string message = "postgres plugin: " + what + " on the server at " +
                        server_ + ": " + server_text(conn_, result);
  if (sqlstate != nullptr && sqlstate[0] != '\0') {
    message += std::string(" (SQLSTATE ") + sqlstate + ")";
  } else if (!connection_ok) {
    message += " (connection lost)";
  }
  message += hint_for(kind);
  return fail(err, code_for(kind), std::move(message), native);
}

int Connection::exec(const std::string& sql, const char* what, Error& err,
                     Result* out) {
  Result result(PQexec(conn_, sql.c_str()));
  const ExecStatusType st =
      result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    return fail_from(err, result.get(), what);
  }
  if (out != nullptr) *out = std::move(result);
  return KALAM_OK;
}

int Connection::exec_params(const std::string& sql,
                            std::span<const std::string> params,
                            const char* what, Error& err, Result* out) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const std::string& p : params) values.push_back(p.c_str());
  Result result(PQexecParams(conn_, sql.c_str(),
                             static_cast<int>(params.size()), nullptr,
                             values.data(), nullptr, nullptr, 0));
  const ExecStatusType st =
      result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    return fail_from(err, result.get(), what);
  }
  if (out != nullptr) *out = std::move(result);
  return KALAM_OK;
}

int Connection::prepare(const std::string& name, const std::string& sql,
                        Error& err) {
  if (prepared_.count(name) != 0) return KALAM_OK;
  Result result(PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr));
  if (!result || PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
    return fail_from(err, result.get(), "prepare " + name);
  }
  prepared_.insert(name);
  return KALAM_OK;
}

int Connection::run(const std::string& name, std::span<const Param> params,
                    const char* what, Error& err, Result* out,
                    Failure* failure) {
  constexpr size_t kMaxParams = 4;
  const char* values[kMaxParams];
  int lengths[kMaxParams];
  int formats[kMaxParams];
  if (params.size() > kMaxParams) {
    return fail(err, KALAM_INTERNAL,
                "postgres plugin: too many parameters for " + name);
  }
  for (size_t i = 0; i < params.size(); ++i) {
    // A zero-length value must not be NULL (that would be SQL NULL).
    values[i] = params[i].data != nullptr ? params[i].data : "";
    lengths[i] = params[i].len;
    formats[i] = 1;
  }
  Result result(PQexecPrepared(conn_, name.c_str(),
                               static_cast<int>(params.size()), values, lengths,
                               formats, /*resultFormat=*/1));
  const ExecStatusType st =
      result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    return fail_from(err, result.get(), what, failure);
  }
  if (out != nullptr) *out = std::move(result);
  return KALAM_OK;
}

Result Connection::pipeline_result() {
  Result result(PQgetResult(conn_));
  if (!result) return result;
  if (PQresultStatus(result.get()) != PGRES_PIPELINE_SYNC) {
    // Each query's results end with a NULL.
    Result end(PQgetResult(conn_));
    (void)end;
  }
  return result;
}

int Connection::transaction(std::span<const Step> steps, bool sync_commit_on,
                            Failure* failure, Error& err, bool begun) {
  if (PQenterPipelineMode(conn_) != 1) {
    return fail_from(err, nullptr, "write: enter pipeline mode", failure);
  }
  size_t sent = 0;           // queries queued (BEGIN and SET LOCAL included)
  size_t received = 0;       // their results read
  bool commit_sent = false;  // COMMIT is queued and a flush was attempted
  bool committed = false;    // COMMIT's result came back OK
  size_t commit_index = 0;   // COMMIT's place among the queries sent
  Result first_error;        // the first failed query's result
  size_t error_index = 0;    // its place
  std::string error_what;
  bool lost = false;  // the connection broke

  auto send = [&](const char* sql, const std::string* statement,
                  int param_count, const Param* params) {
    const char* values[2];
    int lengths[2];
    int formats[2] = {1, 1};
    for (int i = 0; i < param_count; ++i) {
      values[i] = params[i].data != nullptr ? params[i].data : "";
      lengths[i] = params[i].len;
    }
    const int ok =
        statement != nullptr
            ? PQsendQueryPrepared(conn_, statement->c_str(), param_count,
                                  values, lengths, formats, 1)
            : PQsendQueryParams(conn_, sql, 0, nullptr, nullptr, nullptr,
                                nullptr, 1);
    if (ok != 1) {
      lost = true;
      return false;
    }
    ++sent;
    return true;
  };
  // Reads the results of everything sent so far.
  auto drain = [&](bool expect_commit_last) {
    while (received < sent) {
      Result r = pipeline_result();
      if (!r) {
        lost = true;
        return;
      }
      ++received;
      const ExecStatusType st = PQresultStatus(r.get());
      if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        if (expect_commit_last && received == sent) committed = true;
        continue;
      }
      if (st == PGRES_PIPELINE_ABORTED) continue;
      if (PQstatus(conn_) != CONNECTION_OK) lost = true;
      if (!first_error) {
        first_error = std::move(r);
        error_index = received - 1;
        error_what = "write";
      }
      if (lost) return;
    }
  };

  if ((begun || send("BEGIN", nullptr, 0, nullptr)) &&
      (!sync_commit_on ||
       send("SET LOCAL synchronous_commit = on", nullptr, 0, nullptr))) {
    for (size_t i = 0; i < steps.size() && !lost && !first_error; ++i) {
      if (!send(steps[i].sql, steps[i].statement, steps[i].param_count,
                steps[i].params)) {
        break;
      }
      if ((i + 1) % kPipelineChunk == 0) {
        if (PQsendFlushRequest(conn_) != 1 || PQflush(conn_) != 0) {
          lost = true;
          break;
        }
        drain(false);
      }
    }
    if (!lost && !first_error && send("COMMIT", nullptr, 0, nullptr)) {
      commit_sent = true;
      commit_index = sent - 1;
    }
  }
  if (!lost) {
    if (PQpipelineSync(conn_) != 1) {
      lost = true;
    } else {
      drain(commit_sent);
      if (!lost) {
        // The sync point.
        Result sync = pipeline_result();
        if (!sync || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC) {
          lost = PQstatus(conn_) != CONNECTION_OK;
        }
      }
    }
  }
  if (!lost) PQexitPipelineMode(conn_);
  if (committed && !first_error) return KALAM_OK;

  if (lost || PQstatus(conn_) != CONNECTION_OK) {
    // Nothing was applied only when the server itself reported an error
    // (with a SQLSTATE) for a statement before COMMIT: it then skips every
    // later statement. An error libpq made up for the lost connection says
    // nothing about how far the server got: results it had buffered, the
    // COMMIT's included, may have died with it.
    const char* sqlstate =
        first_error ? PQresultErrorField(first_error.get(), PG_DIAG_SQLSTATE)
                    : nullptr;
    const bool server_refused_before_commit =
        first_error && sqlstate != nullptr && sqlstate[0] != '\0' &&
        (!commit_sent || error_index < commit_index);
    const Failure kind = commit_sent && !server_refused_before_commit
                             ? Failure::kOutcomeUnknown
                             : Failure::kUnavailable;
    if (failure != nullptr) *failure = kind;
    std::string message =
        "postgres plugin: write: the connection to the "
        "server at " +
        server_ + " was lost (" + server_text(conn_, first_error.get()) + ")";
    message += hint_for(kind);
    return fail(err, code_for(kind), std::move(message));
  }
  // The server refused a statement: the transaction is aborted; end it.
  const int rc = fail_from(err, first_error.get(), error_what, failure);
  if (PQtransactionStatus(conn_) != PQTRANS_IDLE) {
    Result rollback(PQexec(conn_, "ROLLBACK"));
    (void)rollback;
  }
  return rc;
}

int Pool::take(std::unique_ptr<Connection>* out, Error& err) {
  {
    std::lock_guard lock(mutex_);
    while (!idle_.empty()) {
      std::unique_ptr<Connection> conn = std::move(idle_.back());
      idle_.pop_back();
      if (conn->alive()) {
        *out = std::move(conn);
        return KALAM_OK;
      }
      // Dead (e.g. the server restarted): close it and try the next.
    }
  }
  std::unique_ptr<Connection> conn;
  const int rc = Connection::open(spec_, &conn, err);
  if (rc != KALAM_OK) return rc;
  opened_.fetch_add(1, std::memory_order_relaxed);
  *out = std::move(conn);
  return KALAM_OK;
}

void Pool::give(std::unique_ptr<Connection> conn) noexcept {
  // One poll per use is enough: take() polls before handing it out.
  if (!conn || !conn->idle()) return;
  std::lock_guard lock(mutex_);
  if (idle_.size() < max_idle_) {
    try {
      idle_.push_back(std::move(conn));
    } catch (...) {
      // Out of memory: close the connection instead of keeping it.
    }
  }
}

void Pool::clear() noexcept {
  std::vector<std::unique_ptr<Connection>> doomed;
  {
    std::lock_guard lock(mutex_);
    doomed.swap(idle_);
  }
}

size_t Pool::idle() const {
  std::lock_guard lock(mutex_);
  return idle_.size();
}

}  // namespace kalam::postgres_plugin
