// Session and Statement: a SQLite connection with no storage of its own,
// whose schemas are the catalog's namespaces, attached on first use.
#include <kalam/sql/session.h>

#include <algorithm>
#include <cstring>

#include "internals.h"

namespace kalam::sql {

namespace {

// SQLite allows this many attached databases (SQLITE_MAX_ATTACHED, 10 in
// Debian's build); the least recently used namespace is detached to make
// room for another.
int max_attached(sqlite3* db) {
  return sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, -1);
}

std::string sql_quoted(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// The session's own DDL passes; a statement's DDL, ATTACH, DETACH and
// schema-changing PRAGMAs do not: SQLite is the query engine, never the
// storage (tables are created and dropped through the table layer).
int authorize(void* aux, int action, const char* arg1, const char*, const char*,
              const char*) {
  auto* internals = static_cast<Session::Internals*>(aux);
  if (internals->internal_ddl) return SQLITE_OK;
  switch (action) {
    case SQLITE_CREATE_INDEX:
    case SQLITE_CREATE_TABLE:
    case SQLITE_CREATE_TEMP_INDEX:
    case SQLITE_CREATE_TEMP_TABLE:
    case SQLITE_CREATE_TEMP_TRIGGER:
    case SQLITE_CREATE_TEMP_VIEW:
    case SQLITE_CREATE_TRIGGER:
    case SQLITE_CREATE_VIEW:
    case SQLITE_CREATE_VTABLE:
    case SQLITE_DROP_INDEX:
    case SQLITE_DROP_TABLE:
    case SQLITE_DROP_TEMP_INDEX:
    case SQLITE_DROP_TEMP_TABLE:
    case SQLITE_DROP_TEMP_TRIGGER:
    case SQLITE_DROP_TEMP_VIEW:
    case SQLITE_DROP_TRIGGER:
    case SQLITE_DROP_VIEW:
    case SQLITE_DROP_VTABLE:
    case SQLITE_ALTER_TABLE:
    case SQLITE_ATTACH:
    case SQLITE_DETACH:
      return SQLITE_DENY;
    case SQLITE_PRAGMA: {
      static const char* const kAllowed[] = {
          "table_info",    "table_xinfo", "table_list",      "database_list",
          "function_list", "module_list", "compile_options", "collation_list"};
      for (const char* allowed : kAllowed) {
        if (arg1 != nullptr && sqlite3_stricmp(arg1, allowed) == 0) {
          return SQLITE_OK;
        }
      }
      return SQLITE_DENY;
    }
    default:
      return SQLITE_OK;
  }
}

// "line 2, column 7" of byte `offset` of `text`.
std::string position(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  size_t line = 1, column = 1;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

}  // namespace

ValueType type_of(const Value& value) {
  return static_cast<ValueType>(value.index());
}

std::string_view value_type_name(ValueType type) {
  switch (type) {
    case ValueType::kNull:
      return "NULL";
    case ValueType::kInteger:
      return "INTEGER";
    case ValueType::kReal:
      return "REAL";
    case ValueType::kText:
      return "TEXT";
    case ValueType::kBlob:
      return "BLOB";
  }
  return "NULL";
}

// --- Session -----------------------------------------------------------------

Session::Session(tables::Tables& tables, SessionUser user)
    : tables_(tables),
      user_(std::move(user)),
      internals_(std::make_unique<Internals>()) {}

Session::~Session() {
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

StatusOr<std::unique_ptr<Session>> Session::open(tables::Tables& tables,
                                                 SessionUser user) {
  if (!user.is_admin() && (user.user_id().empty() ||
                           user.user_id().size() > tables::kMaxUserIdLength)) {
    return Status::InvalidArgument(
        "a SQL session's user id is 1 to " +
        std::to_string(tables::kMaxUserIdLength) + " bytes (got " +
        std::to_string(user.user_id().size()) +
        "); open an administrator session to see every user's rows");
  }
  std::unique_ptr<Session> session(new Session(tables, std::move(user)));
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      ":memory:", &db,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
      nullptr);
  session->db_ = db;
  if (rc != SQLITE_OK) {
    return Status::Internal(std::string("cannot open the SQL engine: ") +
                            (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
  }
  session->internals_->db = db;
  sqlite3_extended_result_codes(db, 1);
  rc = detail::register_modules(db, session.get());
  if (rc != SQLITE_OK) {
    return Status::Internal(std::string("cannot register the SQL modules: ") +
                            sqlite3_errmsg(db));
  }
  sqlite3_set_authorizer(db, authorize, session->internals_.get());
  return session;
}

bool is_complete_statement(std::string_view text) {
  return sqlite3_complete(std::string(text).c_str()) != 0;
}

int64_t Session::changes() const { return sqlite3_changes64(db_); }

bool Session::in_transaction() const {
  return sqlite3_get_autocommit(db_) == 0;
}

Status Session::exec_internal(const std::string& sql) {
  internals_->internal_ddl = true;
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  internals_->internal_ddl = false;
  if (rc == SQLITE_OK) return Status::OK();
  std::string message = err != nullptr ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  return Status::Internal(message + " (running: " + sql + ")");
}

StatusOr<bool> Session::attach(const std::string& ns) {
  if (ns == "main" || ns == "temp") return false;
  auto& attached = internals_->attached;
  for (auto it = attached.begin(); it != attached.end(); ++it) {
    if (it->first == ns) {
      attached.splice(attached.end(), attached, it);  // most recently used
      return true;
    }
  }
  std::map<std::string, uint64_t> tables;
  const bool system = ns == tables::kSystemNamespace;
  if (!system) {
    auto listed = tables_.catalog().list_tables(ns);
    if (!listed.ok()) {
      if (listed.status().is_not_found()) return false;
      return listed.status();
    }
    for (const auto& t : *listed) tables[t.name] = t.id;
  }
  if (static_cast<int>(attached.size()) >= max_attached(db_)) {
    const std::string victim = attached.front().first;
    Status s = exec_internal("DETACH " + sql_quoted(victim));
    if (!s.ok()) {
      return Status::InvalidArgument(
          "a session reaches at most " + std::to_string(max_attached(db_)) +
          " namespaces at a time (SQLite's attached-database limit), and " +
          victim + " is in use; finish the running statements first");
    }
    attached.pop_front();
  }
  KALAM_RETURN_IF_ERROR(
      exec_internal("ATTACH ':memory:' AS " + sql_quoted(ns)));
  attached.emplace_back(ns, std::map<std::string, uint64_t>{});
  auto& registered = attached.back().second;
  if (system) {
    for (const char* name : {"namespaces", "tables", "columns"}) {
      KALAM_RETURN_IF_ERROR(
          exec_internal("CREATE VIRTUAL TABLE " + sql_quoted(ns) + "." +
                        sql_quoted(name) + " USING kalam_system"));
      registered[name] = 0;
    }
    return true;
  }
  for (const auto& [name, id] : tables) {
    KALAM_RETURN_IF_ERROR(exec_internal("CREATE VIRTUAL TABLE " +
                                        sql_quoted(ns) + "." +
                                        sql_quoted(name) + " USING kalam"));
    registered[name] = id;
  }
  return true;
}

Status Session::refresh() {
  // Schema changes inside a transaction would be undone by its ROLLBACK
  // (and SQLite refuses ATTACH there): a transaction sees the tables as
  // they were when it began.
  if (in_transaction()) return Status::OK();
  auto& attached = internals_->attached;
  KALAM_ASSIGN_OR_RETURN(auto namespaces, tables_.catalog().list_namespaces());
  std::vector<std::string> names = {std::string(tables::kSystemNamespace)};
  for (const auto& ns : namespaces) names.push_back(ns.name);
  for (auto it = attached.begin(); it != attached.end();) {
    const std::string ns = it->first;
    if (ns == tables::kSystemNamespace) {
      ++it;
      continue;
    }
    auto& registered = it->second;
    auto listed = tables_.catalog().list_tables(ns);
    if (!listed.ok() && !listed.status().is_not_found()) return listed.status();
    if (!listed.ok() && internals_->active_statements == 0) {
      // The namespace is gone: so is its schema.
      KALAM_RETURN_IF_ERROR(exec_internal("DETACH " + sql_quoted(ns)));
      it = attached.erase(it);
      continue;
    }
    std::map<std::string, uint64_t> now;
    if (listed.ok()) {
      for (const auto& t : *listed) now[t.name] = t.id;
    }
    for (auto r = registered.begin(); r != registered.end();) {
      auto found = now.find(r->first);
      if (found != now.end() && found->second == r->second) {
        ++r;
        continue;
      }
      // Dropped, or dropped and created again (a new id, maybe a new
      // schema): the old virtual table goes.
      KALAM_RETURN_IF_ERROR(exec_internal("DROP TABLE " + sql_quoted(ns) + "." +
                                          sql_quoted(r->first)));
      r = registered.erase(r);
    }
    for (const auto& [name, id] : now) {
      if (registered.count(name) != 0) continue;
      KALAM_RETURN_IF_ERROR(exec_internal("CREATE VIRTUAL TABLE " +
                                          sql_quoted(ns) + "." +
                                          sql_quoted(name) + " USING kalam"));
      registered[name] = id;
    }
    ++it;
  }
  // Namespaces not attached yet, while SQLite has room: so that a
  // transaction can reach them too (beyond the limit, prepare() attaches
  // on first use, outside transactions).
  for (const std::string& ns : names) {
    if (static_cast<int>(attached.size()) >= max_attached(db_)) break;
    bool present = false;
    for (const auto& a : attached) present = present || a.first == ns;
    if (present || ns == "main" || ns == "temp") continue;
    KALAM_RETURN_IF_ERROR(attach(ns).status());
  }
  return Status::OK();
}

Status Session::error_status(int rc, std::string_view script, size_t base) {
  Status table_error = std::move(internals_->table_error);
  internals_->table_error = Status::OK();
  // The statement, for the context: its first line, shortened.
  std::string_view text = script.substr(std::min(base, script.size()));
  while (!text.empty() && (text.front() == ' ' || text.front() == '\n' ||
                           text.front() == '\t')) {
    text.remove_prefix(1);
  }
  std::string statement(text.substr(0, std::min(text.find(';'), size_t{120})));
  if (statement.size() < text.size() && text[statement.size()] != ';') {
    statement += "...";
  }
  const std::string context = "SQL `" + statement + "`";
  if (!table_error.ok()) return table_error.with_context(context);
  std::string message = sqlite3_errmsg(db_);
  const int offset = sqlite3_error_offset(db_);
  if (offset >= 0) {
    message = "at " + position(script, base + static_cast<size_t>(offset)) +
              ": " + message;
  }
  if ((rc & 0xFF) == SQLITE_AUTH) {
    message +=
        " (SQL cannot create, drop or alter tables, attach databases or "
        "change pragmas: manage tables through the table layer, e.g. "
        "`kalam table create`)";
  }
  if ((rc & 0xFF) == SQLITE_NOMEM) {
    return Status::Internal(message).with_context(context);
  }
  return Status::InvalidArgument(message).with_context(context);
}

StatusOr<Statement> Session::prepare(std::string_view sql, size_t* consumed) {
  return prepare_at(sql, 0, consumed);
}

StatusOr<Statement> Session::prepare_at(std::string_view script, size_t base,
                                        size_t* consumed) {
  const std::string_view sql = script.substr(base);
  KALAM_RETURN_IF_ERROR(refresh());
  internals_->table_error = Status::OK();
  // A statement may name a namespace that is not attached yet (or a table
  // created since): attach it and prepare again, a bounded number of times.
  std::string tried;
  for (int attempt = 0; attempt < 32; ++attempt) {
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                0, &stmt, &tail);
    if (rc == SQLITE_OK) {
      if (consumed != nullptr) {
        *consumed = tail != nullptr ? static_cast<size_t>(tail - sql.data())
                                    : sql.size();
      }
      return Statement(this, stmt);
    }
    const std::string message = sqlite3_errmsg(db_);
    static constexpr std::string_view kNoSuchTable = "no such table: ";
    if (message.rfind(kNoSuchTable, 0) == 0) {
      const std::string name = message.substr(kNoSuchTable.size());
      const size_t dot = name.find('.');
      if (dot != std::string::npos && name != tried && !in_transaction()) {
        tried = name;
        auto attached = attach(name.substr(0, dot));
        if (!attached.ok()) return attached.status();
        if (*attached) continue;
      }
    }
    return error_status(rc, script, base);
  }
  return Status::InvalidArgument("SQL statement names too many namespaces");
}

Status Session::execute(std::string_view script,
                        const std::function<bool(const Statement&)>& visit) {
  size_t at = 0;
  while (at < script.size()) {
    size_t used = 0;
    KALAM_ASSIGN_OR_RETURN(Statement stmt, prepare_at(script, at, &used));
    if (used == 0) break;
    stmt.base_ = at;
    stmt.script_ = script;
    Status s = stmt.for_each(
        [&](const Statement& row) { return visit ? visit(row) : true; });
    if (!s.ok()) return s;
    at += used;
  }
  return Status::OK();
}

void Session::statement_started() {
  if (internals_->active_statements == 0) {
    detail::clear_handles(*this);
    internals_->table_error = Status::OK();
  }
  ++internals_->active_statements;
}

void Session::statement_finished() {
  if (internals_->active_statements > 0) --internals_->active_statements;
}

// --- Statement ---------------------------------------------------------------

Statement::Statement(Session* session, sqlite3_stmt* stmt)
    : session_(session), stmt_(stmt) {}

Statement::Statement(Statement&& other) noexcept
    : session_(other.session_),
      stmt_(other.stmt_),
      active_(other.active_),
      script_(other.script_),
      base_(other.base_) {
  other.stmt_ = nullptr;
  other.active_ = false;
}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    if (active_) session_->statement_finished();
    sqlite3_finalize(stmt_);
    session_ = other.session_;
    stmt_ = other.stmt_;
    active_ = other.active_;
    script_ = other.script_;
    base_ = other.base_;
    other.stmt_ = nullptr;
    other.active_ = false;
  }
  return *this;
}

Statement::~Statement() {
  if (active_) session_->statement_finished();
  sqlite3_finalize(stmt_);
}

int Statement::parameter_count() const {
  return stmt_ ? sqlite3_bind_parameter_count(stmt_) : 0;
}

int Statement::parameter_index(std::string_view name) const {
  if (stmt_ == nullptr) return 0;
  return sqlite3_bind_parameter_index(stmt_, std::string(name).c_str());
}

Status Statement::bind(int index, const Value& value) {
  if (stmt_ == nullptr || index < 1 || index > parameter_count()) {
    return Status::InvalidArgument(
        "parameter " + std::to_string(index) + " is out of range: the " +
        "statement has " + std::to_string(parameter_count()) + " parameters");
  }
  if (active_) KALAM_RETURN_IF_ERROR(reset());
  int rc = SQLITE_OK;
  switch (type_of(value)) {
    case ValueType::kNull:
      rc = sqlite3_bind_null(stmt_, index);
      break;
    case ValueType::kInteger:
      rc = sqlite3_bind_int64(stmt_, index, std::get<int64_t>(value));
      break;
    case ValueType::kReal:
      rc = sqlite3_bind_double(stmt_, index, std::get<double>(value));
      break;
    case ValueType::kText: {
      const std::string& s = std::get<std::string>(value);
      rc = sqlite3_bind_text64(stmt_, index, s.data(), s.size(),
                               SQLITE_TRANSIENT, SQLITE_UTF8);
      break;
    }
    case ValueType::kBlob: {
      const std::string& s = std::get<Blob>(value).bytes;
      rc = sqlite3_bind_blob64(stmt_, index, s.data(), s.size(),
                               SQLITE_TRANSIENT);
      break;
    }
  }
  if (rc != SQLITE_OK) {
    return Status::InvalidArgument("cannot bind parameter " +
                                   std::to_string(index) + ": " +
                                   sqlite3_errstr(rc));
  }
  return Status::OK();
}

StatusOr<bool> Statement::step() {
  if (stmt_ == nullptr) return false;  // an empty statement
  if (!active_) {
    session_->statement_started();
    active_ = true;
  }
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  active_ = false;
  session_->statement_finished();
  if (rc == SQLITE_DONE) {
    sqlite3_reset(stmt_);
    return false;
  }
  Status s;
  if (!script_.empty()) {
    s = session_->error_status(rc, script_, base_);
  } else {
    const char* text = sqlite3_sql(stmt_);
    const std::string sql = text != nullptr ? text : "";
    s = session_->error_status(rc, sql, 0);
  }
  sqlite3_reset(stmt_);
  return s;
}

Status Statement::reset() {
  if (stmt_ == nullptr) return Status::OK();
  if (active_) {
    active_ = false;
    session_->statement_finished();
  }
  sqlite3_reset(stmt_);
  return Status::OK();
}

Status Statement::for_each(const std::function<bool(const Statement&)>& visit) {
  for (size_t rows = 0;; ++rows) {
    KALAM_ASSIGN_OR_RETURN(bool row, step());
    if (!row) return Status::OK();
    if (!visit(*this)) return reset();
  }
}

int Statement::column_count() const {
  return stmt_ ? sqlite3_column_count(stmt_) : 0;
}

std::string Statement::column_name(int i) const {
  const char* name = sqlite3_column_name(stmt_, i);
  return name != nullptr ? name : "";
}

ValueType Statement::column_type(int i) const {
  switch (sqlite3_column_type(stmt_, i)) {
    case SQLITE_INTEGER:
      return ValueType::kInteger;
    case SQLITE_FLOAT:
      return ValueType::kReal;
    case SQLITE_TEXT:
      return ValueType::kText;
    case SQLITE_BLOB:
      return ValueType::kBlob;
    default:
      return ValueType::kNull;
  }
}

Value Statement::column(int i) const {
  switch (column_type(i)) {
    case ValueType::kInteger:
      return sqlite3_column_int64(stmt_, i);
    case ValueType::kReal:
      return sqlite3_column_double(stmt_, i);
    case ValueType::kText:
      return column_text(i);
    case ValueType::kBlob: {
      const void* data = sqlite3_column_blob(stmt_, i);
      const int size = sqlite3_column_bytes(stmt_, i);
      return Blob{std::string(static_cast<const char*>(data),
                              static_cast<size_t>(size))};
    }
    case ValueType::kNull:
      break;
  }
  return std::monostate{};
}

int64_t Statement::column_int(int i) const {
  return sqlite3_column_int64(stmt_, i);
}

double Statement::column_double(int i) const {
  return sqlite3_column_double(stmt_, i);
}

std::string Statement::column_text(int i) const {
  const unsigned char* text = sqlite3_column_text(stmt_, i);
  const int size = sqlite3_column_bytes(stmt_, i);
  return text != nullptr ? std::string(reinterpret_cast<const char*>(text),
                                       static_cast<size_t>(size))
                         : std::string();
}

bool Statement::read_only() const {
  return stmt_ == nullptr || sqlite3_stmt_readonly(stmt_) != 0;
}

std::string Statement::sql() const {
  const char* text = stmt_ ? sqlite3_sql(stmt_) : nullptr;
  return text != nullptr ? text : "";
}

}  // namespace kalam::sql
