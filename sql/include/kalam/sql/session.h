// SQL over the table layer: a Session runs SQLite's dialect over the tables
// of one Tables instance, on whichever backend that Tables object sits.
// SQLite is the query engine only: every `namespace.table` of the catalog is
// a SQLite virtual table whose rows come from (and go to) the table stores;
// nothing is stored in SQLite (see docs/sql.md).
//
//   KALAM_ASSIGN_OR_RETURN(auto session,
//       kalam::sql::Session::open(*tables,
//       kalam::sql::SessionUser::user("alice")));
//   KALAM_ASSIGN_OR_RETURN(auto stmt, session->prepare(
//       "SELECT id, title FROM app.notes WHERE id >= ? ORDER BY id LIMIT 10"));
//   KALAM_RETURN_IF_ERROR(stmt.bind(1, int64_t{100}));
//   while (true) {
//     KALAM_ASSIGN_OR_RETURN(bool row, stmt.step());
//     if (!row) break;
//     use(stmt.column_int(0), stmt.column_text(1));
//   }
//
// Isolation: a user session reads and writes only its user's rows of user
// tables — every scan of a user table is that user's key range of the
// table layer, chosen when the session is opened, so no WHERE clause, join,
// subquery or function of the statement can reach another user's rows. An
// administrator session sees every user's rows (the `user_id` column says
// whose) and writes any user's.
//
// Transactions: a statement, or an explicit BEGIN ... COMMIT, is applied as
// ONE atomic batch of the table layer (Tables::apply) when it commits: all or
// nothing, stream appends included. Writes are buffered until then, and the
// session's reads overlay them (a transaction sees its own writes; other
// sessions see them after COMMIT). An INSERT's row must still be absent at
// COMMIT (checked atomically with the write): of two sessions inserting one
// key, one commits and the other fails with ALREADY_EXISTS.
//
// Thread safety: a Session and its Statements are used by one thread at a
// time. Several sessions may share one Tables object.
#pragma once

#include <kalam/status.h>
#include <kalam/tables/tables.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace kalam::sql {

// Who a session acts for.
class SessionUser {
 public:
  // A user session: user tables yield (and accept) only `user_id`'s rows.
  static SessionUser user(std::string user_id) {
    return SessionUser(std::move(user_id), false);
  }
  // An administrator session: every user's rows.
  static SessionUser administrator() { return SessionUser({}, true); }

  bool is_admin() const { return admin_; }
  // REQUIRES: !is_admin().
  const std::string& user_id() const { return user_id_; }

 private:
  SessionUser(std::string user_id, bool admin)
      : user_id_(std::move(user_id)), admin_(admin) {}
  std::string user_id_;
  bool admin_ = false;
};

// A BLOB value (bytes columns).
struct Blob {
  std::string bytes;
  friend bool operator==(const Blob& a, const Blob& b) {
    return a.bytes == b.bytes;
  }
  friend bool operator!=(const Blob& a, const Blob& b) { return !(a == b); }
};

// One SQL value: NULL, INTEGER, REAL, TEXT or BLOB.
using Value = std::variant<std::monostate, int64_t, double, std::string, Blob>;

enum class ValueType { kNull, kInteger, kReal, kText, kBlob };
ValueType type_of(const Value& value);
// "NULL", "INTEGER", "REAL", "TEXT", "BLOB".
std::string_view value_type_name(ValueType type);

// What the virtual tables of a session read from the table layer, counted
// since the session was opened (or reset_stats()).
struct ScanStats {
  // Scans opened: full scans of a partition, bounded (key range) scans,
  // point reads (primary key equality).
  uint64_t full_scans = 0;
  uint64_t range_scans = 0;
  uint64_t point_reads = 0;
  // Rows handed to SQLite by the virtual tables' cursors.
  uint64_t rows_read = 0;
};

class Session;

// Whether `text` ends with a complete SQL statement (a semicolon outside
// quotes and comments, and not inside a trigger body): what a shell waits
// for before it runs what was typed.
bool is_complete_statement(std::string_view text);

// A prepared statement. Movable, not copyable; must not outlive its Session.
class Statement {
 public:
  Statement(Statement&&) noexcept;
  Statement& operator=(Statement&&) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Binds parameter `index` (1-based, as in SQLite: ?, ?NNN, :name).
  // INVALID_ARGUMENT for an index out of range.
  Status bind(int index, const Value& value);
  // The index of a named parameter (":name"), or 0 when there is none.
  int parameter_index(std::string_view name) const;
  int parameter_count() const;

  // Runs the statement to its next row: true when a row is there (read it
  // with column*()), false when the statement is done. Errors carry the
  // table layer's code where a table store failed (e.g. INVALID_ARGUMENT
  // for a row that does not fit the schema), else INVALID_ARGUMENT for SQL
  // errors; the message names the statement.
  StatusOr<bool> step();
  // Back to before the first step (bindings are kept).
  Status reset();
  // Steps to the end, handing each row to `visit` (which returns false to
  // stop early). Returns the first error.
  Status for_each(const std::function<bool(const Statement&)>& visit);

  int column_count() const;
  std::string column_name(int i) const;
  // REQUIRES: the last step() returned true.
  Value column(int i) const;
  ValueType column_type(int i) const;
  int64_t column_int(int i) const;
  double column_double(int i) const;
  std::string column_text(int i) const;

  // Whether the statement only reads (SELECT, EXPLAIN, ...).
  bool read_only() const;
  // The statement's SQL text.
  std::string sql() const;

 private:
  friend class Session;
  Statement(Session* session, sqlite3_stmt* stmt);
  Session* session_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  bool active_ = false;  // stepped and not yet done or reset
  // Session::execute: the script the statement came from and its offset
  // there (for error positions); empty otherwise.
  std::string_view script_;
  size_t base_ = 0;
};

class Session {
 public:
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  // REQUIRES: every Statement of the session is gone.
  ~Session();

  // Opens a session over `tables` for `user`. INVALID_ARGUMENT for a user
  // id the table layer refuses (empty, too long).
  // REQUIRES: `tables` outlives the session.
  static StatusOr<std::unique_ptr<Session>> open(tables::Tables& tables,
                                                 SessionUser user);

  // Prepares the first statement of `sql`; `*consumed` (when given) is set
  // to the bytes of `sql` it used, so a script is run by preparing from
  // there on. An empty statement (only spaces or comments) yields a
  // Statement whose step() returns false at once. Errors: INVALID_ARGUMENT
  // with SQLite's message and, where SQLite knows it, the position
  // ("at line 1, column 15: no such column: titel").
  StatusOr<Statement> prepare(std::string_view sql, size_t* consumed = nullptr);

  // Runs every statement of `script` in turn; each row of each statement is
  // handed to `visit` (may be empty). Stops at the first error, whose
  // message gives the line and column in `script`.
  Status execute(std::string_view script,
                 const std::function<bool(const Statement&)>& visit = {});

  const SessionUser& user() const { return user_; }
  tables::Tables& tables() { return tables_; }
  const ScanStats& stats() const { return stats_; }
  void reset_stats() { stats_ = ScanStats{}; }

  // Whether an explicit transaction (BEGIN) is open.
  bool in_transaction() const;
  // Rows the latest INSERT, UPDATE or DELETE changed.
  int64_t changes() const;

  // Internal (the virtual tables).
  struct Internals;
  Internals& internals() { return *internals_; }
  ScanStats& mutable_stats() { return stats_; }

 private:
  friend class Statement;
  Session(tables::Tables& tables, SessionUser user);
  // Brings the virtual tables of the attached namespaces in line with the
  // catalog (tables created or dropped since the last statement).
  Status refresh();
  // Attaches namespace `ns` (and its tables) when the catalog has it.
  // false when there is no such namespace.
  StatusOr<bool> attach(const std::string& ns);
  // Runs internal DDL (attach, create/drop virtual table).
  Status exec_internal(const std::string& sql);
  // The Status of a failed SQLite call: a table-layer error a virtual table
  // recorded, or SQLite's own message.
  Status error_status(int rc, std::string_view script, size_t base);
  // prepare() of the statement at byte `base` of `script` (positions in
  // errors are the script's).
  StatusOr<Statement> prepare_at(std::string_view script, size_t base,
                                 size_t* consumed);
  void statement_started();
  void statement_finished();

  tables::Tables& tables_;
  SessionUser user_;
  sqlite3* db_ = nullptr;
  ScanStats stats_;
  std::unique_ptr<Internals> internals_;
};

}  // namespace kalam::sql
