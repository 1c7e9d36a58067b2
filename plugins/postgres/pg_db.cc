#include "pg_db.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <utility>

#include "pg_iter.h"

namespace kalam::postgres_plugin {
namespace {

const std::string kPrefix = "postgres plugin: ";
// A failed write is retried this many times when the server reports a
// serialization failure or a deadlock (nothing was applied then).
constexpr int kConflictRetries = 3;

// The key stripes of the write locks (see README.md, "Conditional
// writes"): every write takes the advisory locks of the stripes of the keys
// it writes shared (all of them for a delete-range), a conditional write
// those of its expected keys exclusively. Part of the on-server protocol:
// every process writing one schema must agree on it.
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

uint32_t lock_stripe(const void* key, size_t len) {
  return static_cast<uint32_t>(fnv1a(key, len) % kLockStripes);
}

// "SELECT pg_advisory_xact_lock_shared(<space>, 3), pg_advisory_xact_lock(
// <space>, 7), ...": the stripes' locks in ascending stripe order (the
// target list is evaluated left to right, so every writer takes its locks
// in one order and two writers never wait on each other in a cycle).
// `modes[s]`: 0 none, 1 shared, 2 exclusive. Empty when no stripe is set.
std::string lock_sql(int32_t space, const std::vector<uint8_t>& modes) {
  std::string sql;
  for (uint32_t s = 0; s < modes.size(); ++s) {
    if (modes[s] == 0) continue;
    sql += sql.empty() ? "SELECT " : ", ";
    sql += modes[s] == 2 ? "pg_advisory_xact_lock("
                         : "pg_advisory_xact_lock_shared(";
    sql += std::to_string(space) + ", " + std::to_string(s) + ")";
  }
  return sql;
}

Family* to_family(kalam_cf* handle) {
  return reinterpret_cast<Family*>(handle);
}
kalam_cf* to_cf_handle(Family* family) {
  return reinterpret_cast<kalam_cf*>(family);
}
Snapshot* to_snapshot(const kalam_snapshot* snapshot) {
  return reinterpret_cast<Snapshot*>(const_cast<kalam_snapshot*>(snapshot));
}

// A new schema name for a database created without the schema option.
std::string generate_schema_name() {
  std::random_device device;
  std::mt19937_64 rng((static_cast<uint64_t>(device()) << 32) ^ device());
  static const char* kHex = "0123456789abcdef";
  std::string name = "kalam_";
  uint64_t bits = rng();
  for (int i = 0; i < 16; ++i) {
    name += kHex[bits & 15];
    bits >>= 4;
  }
  return name;
}

// Reads the schema recorded in `dir` ("" when there is no file).
int read_schema_file(const std::filesystem::path& dir, std::string* out,
                     Error& err) {
  const std::filesystem::path file = dir / kSchemaFileName;
  std::ifstream in(file);
  if (!in) {
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) {
      out->clear();
      return KALAM_OK;
    }
    return fail(
        err, KALAM_IO_ERROR,
        kPrefix + "cannot read " + file.string() + ": " + std::strerror(errno));
  }
  std::string name;
  std::getline(in, name);
  if (!valid_schema_name(name)) {
    return fail(err, KALAM_CORRUPTION,
                kPrefix + file.string() +
                    " does not hold a schema name (got '" + name.substr(0, 80) +
                    "'); restore it, or remove it and open with the schema "
                    "option");
  }
  *out = name;
  return KALAM_OK;
}

// Writes the schema name into `dir` durably (temporary file, fsync,
// rename, fsync of the directory).
int write_schema_file(const std::filesystem::path& dir, const std::string& name,
                      Error& err) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return fail(
        err, KALAM_IO_ERROR,
        kPrefix + "cannot create " + dir.string() + ": " + ec.message());
  }
  const std::string file = (dir / kSchemaFileName).string();
  const std::string tmp = file + ".tmp";
  const std::string text = name + "\n";
  const int fd =
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  bool ok = fd >= 0 &&
            ::write(fd, text.data(), text.size()) ==
                static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  const int saved = errno;
  if (fd >= 0) ::close(fd);
  if (ok) ok = ::rename(tmp.c_str(), file.c_str()) == 0;
  if (!ok) {
    return fail(err, saved == ENOSPC ? KALAM_NO_SPACE : KALAM_IO_ERROR,
                kPrefix + "cannot write " + file + ": " + std::strerror(saved),
                saved);
  }
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    (void)::fsync(dir_fd);
    ::close(dir_fd);
  }
  return KALAM_OK;
}

// Big-endian 32- and 64-bit integers of the binary wire format.
void put_be32(std::string& out, uint32_t v) {
  const char bytes[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                         static_cast<char>(v >> 8), static_cast<char>(v)};
  out.append(bytes, 4);
}
int64_t read_be64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return static_cast<int64_t>(v);
}

Param param(const void* data, size_t len) {
  return Param{static_cast<const char*>(data), static_cast<int>(len)};
}
Param param(const std::string& s) {
  return Param{s.data(), static_cast<int>(s.size())};
}

const char* const kStatementPrefix[kStatementKinds] = {
    "get",  "put", "del",  "delr", "mget", "fge",
    "fgeb", "fgt", "fgtb", "rle",  "rlt",  "rall"};

std::string statement_sql(StatementKind kind, const std::string& t) {
  switch (kind) {
    case kGet:
      return "SELECT value FROM " + t + " WHERE key = $1::bytea";
    case kPut:
      return "INSERT INTO " + t +
             " (key, value) VALUES ($1::bytea, $2::bytea) ON CONFLICT (key) DO "
             "UPDATE SET value = EXCLUDED.value";
    case kDelete:
      return "DELETE FROM " + t + " WHERE key = $1::bytea";
    case kDeleteRange:
      return "DELETE FROM " + t + " WHERE key >= $1::bytea AND key < $2::bytea";
    case kMultiGet:
      return "SELECT k.ord, t.value FROM unnest($1::bytea[]) WITH ORDINALITY "
             "AS k(key, ord) JOIN " +
             t + " t ON t.key = k.key";
    case kForwardGe:
      return "SELECT key, value FROM " + t +
             " WHERE key >= $1::bytea ORDER BY key LIMIT $2::int8";
    case kForwardGeBelow:
      return "SELECT key, value FROM " + t +
             " WHERE key >= $1::bytea AND key < $2::bytea ORDER BY key LIMIT "
             "$3::int8";
    case kForwardGt:
      return "SELECT key, value FROM " + t +
             " WHERE key > $1::bytea ORDER BY key LIMIT $2::int8";
    case kForwardGtBelow:
      return "SELECT key, value FROM " + t +
             " WHERE key > $1::bytea AND key < $2::bytea ORDER BY key LIMIT "
             "$3::int8";
    case kReverseLe:
      return "SELECT key, value FROM " + t +
             " WHERE key <= $1::bytea AND key >= $2::bytea ORDER BY key DESC "
             "LIMIT $3::int8";
    case kReverseLt:
      return "SELECT key, value FROM " + t +
             " WHERE key < $1::bytea AND key >= $2::bytea ORDER BY key DESC "
             "LIMIT $3::int8";
    case kReverseAll:
      return "SELECT key, value FROM " + t +
             " WHERE key >= $1::bytea ORDER BY key DESC LIMIT $2::int8";
    case kStatementKinds:
      break;
  }
  return "";
}

int fail_dropped(const Family& family, Error& err) {
  return fail(err, KALAM_DROPPED,
              kPrefix + "column family '" + family.name + "' was dropped");
}

}  // namespace

std::string quote_identifier(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

ReadView::~ReadView() {
  if (conn_) {
    Error ignored;
    if (conn_->exec("ROLLBACK", "end a snapshot", ignored) == KALAM_OK) {
      db_->pool().give(std::move(conn_));
    }
  }
}

// ---- Open and close -------------------------------------------------------

int Database::open(const kalam_open_params& params,
                   std::unique_ptr<Database>* out, Error& err) {
  if (params.path == nullptr || params.path[0] == '\0') {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + "open: path is NULL or empty");
  }
  if ((params.flags & ~(KALAM_OPEN_CREATE_IF_MISSING | KALAM_OPEN_READ_ONLY)) !=
      0) {
    return fail(
        err, KALAM_INVALID_ARGUMENT,
        kPrefix + "open: unknown flag bits " + std::to_string(params.flags));
  }
  std::unique_ptr<Database> db(new Database());
  int rc = parse_options(params, &db->options_, err);
  if (rc != KALAM_OK) return rc;
  db->read_only_ = (params.flags & KALAM_OPEN_READ_ONLY) != 0;
  const bool create =
      (params.flags & KALAM_OPEN_CREATE_IF_MISSING) != 0 && !db->read_only_;
  rc = db->open_schema(params, create, err);
  if (rc != KALAM_OK) return rc;
  *out = std::move(db);
  return KALAM_OK;
}

int Database::open_schema(const kalam_open_params& params, bool create,
                          Error& err) {
  const std::filesystem::path dir(params.path);
  std::string recorded;
  int rc = read_schema_file(dir, &recorded, err);
  if (rc != KALAM_OK) return rc;
  if (!options_.schema.empty() && !recorded.empty() &&
      options_.schema != recorded) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + "option 'schema' is '" + options_.schema + "' but " +
                    (dir / kSchemaFileName).string() + " records schema '" +
                    recorded + "'; give the recorded one or none");
  }
  schema_ = !options_.schema.empty() ? options_.schema : recorded;
  if (schema_.empty()) {
    if (!create) {
      return fail(err, KALAM_NOT_FOUND,
                  kPrefix + "no database at " + dir.string() + " (no " +
                      kSchemaFileName + " and no schema option)");
    }
    schema_ = generate_schema_name();
  }
  quoted_schema_ = quote_identifier(schema_);

  ConnectSpec spec;
  spec.conninfo = options_.conninfo;
  spec.statement_timeout_ms = options_.statement_timeout_ms;
  spec.synchronous_commit = options_.synchronous_commit;
  spec.read_only = read_only_;
  pool_ = std::make_unique<Pool>(std::move(spec), options_.pool_size);
  std::unique_ptr<Connection> conn;
  rc = pool_->take(&conn, err);
  if (rc != KALAM_OK) return rc;

  Result exists;
  rc = conn->exec_params(
      "SELECT to_regclass($1) IS NOT NULL",
      std::vector<std::string>{quoted_schema_ + ".kalam_meta"},
      "look for the schema", err, &exists);
  if (rc != KALAM_OK) return rc;
  const bool found = PQgetvalue(exists.get(), 0, 0)[0] == 't';
  if (!found) {
    if (!create) {
      return fail(err, KALAM_NOT_FOUND,
                  kPrefix + "no Kalam database in schema " + schema_ +
                      " on the server at " + conn->server());
    }
    const std::string s = quoted_schema_;
    rc = conn->exec(
        "BEGIN; SELECT pg_advisory_xact_lock(hashtext('kalam.schema." +
            schema_ + "')); CREATE SCHEMA IF NOT EXISTS " + s +
            "; CREATE TABLE IF NOT EXISTS " + s +
            ".kalam_meta (key text PRIMARY KEY, value text NOT NULL); "
            "CREATE TABLE IF NOT EXISTS " +
            s +
            ".kalam_families (id bigint PRIMARY KEY, name text NOT NULL "
            "UNIQUE); CREATE SEQUENCE IF NOT EXISTS " +
            s + ".kalam_family_ids START 1; CREATE TABLE IF NOT EXISTS " + s +
            ".kalam_garbage (table_name text PRIMARY KEY); CREATE TABLE IF "
            "NOT EXISTS " +
            s +
            ".cf_0 (key bytea PRIMARY KEY, value bytea NOT NULL); INSERT "
            "INTO " +
            s +
            ".kalam_families VALUES (0, 'default') ON CONFLICT DO NOTHING; "
            "INSERT INTO " +
            s + ".kalam_meta VALUES ('format_version', '" +
            std::to_string(kFormatVersion) +
            "') ON CONFLICT DO NOTHING; COMMIT",
        "create schema", err);
    if (rc != KALAM_OK) {
      Error ignored;
      (void)conn->exec("ROLLBACK", "rollback", ignored);
      return rc;
    }
  }
  Result format;
  rc = conn->exec("SELECT value FROM " + quoted_schema_ +
                      ".kalam_meta WHERE key = 'format_version'",
                  "read the format version", err, &format);
  if (rc != KALAM_OK) return rc;
  if (PQntuples(format.get()) != 1) {
    return fail(err, KALAM_CORRUPTION,
                kPrefix + "schema " + schema_ + " on the server at " +
                    conn->server() +
                    " has no format_version in kalam_meta; it is not a Kalam "
                    "database or it was damaged");
  }
  const long version = std::strtol(PQgetvalue(format.get(), 0, 0), nullptr, 10);
  if (version < 1 || version > static_cast<long>(kFormatVersion)) {
    return fail(err, KALAM_NOT_SUPPORTED,
                kPrefix + "schema " + schema_ + " has format version " +
                    PQgetvalue(format.get(), 0, 0) +
                    "; this plugin reads version " +
                    std::to_string(kFormatVersion) + "; upgrade the plugin");
  }
  rc = load_families(*conn, err);
  if (rc != KALAM_OK) return rc;
  if (recorded.empty() && create) {
    rc = write_schema_file(dir, schema_, err);
    if (rc != KALAM_OK) return rc;
  }
  pool_->give(std::move(conn));
  if (!read_only_) sweep_garbage();
  return KALAM_OK;
}

int Database::load_families(Connection& conn, Error& err) {
  Result rows;
  const int rc = conn.exec(
      "SELECT id, name FROM " + quoted_schema_ + ".kalam_families ORDER BY id",
      "read the column family catalog", err, &rows);
  if (rc != KALAM_OK) return rc;
  std::lock_guard lock(families_mutex_);
  for (int i = 0; i < PQntuples(rows.get()); ++i) {
    const int64_t id = std::strtoll(PQgetvalue(rows.get(), i, 0), nullptr, 10);
    Family* family = add_family(id, PQgetvalue(rows.get(), i, 1));
    if (id == 0) default_family_ = family;
  }
  if (default_family_ == nullptr) {
    return fail(err, KALAM_CORRUPTION,
                kPrefix + "schema " + schema_ +
                    " has no default column family in kalam_families");
  }
  return KALAM_OK;
}

// REQUIRES: families_mutex_ held.
Family* Database::add_family(int64_t id, const std::string& name) {
  auto family = std::make_unique<Family>();
  family->db = this;
  family->id = id;
  family->name = name;
  family->table = quoted_schema_ + ".cf_" + std::to_string(id);
  for (unsigned k = 0; k < kStatementKinds; ++k) {
    family->statements[k] =
        std::string(kStatementPrefix[k]) + "_" + std::to_string(id);
  }
  Family* raw = family.get();
  families_.push_back(std::move(family));
  families_by_name_[name] = raw;
  return raw;
}

Database::~Database() = default;

int Database::close(Error& err) {
  if (live_iterators_.load() > 0 || live_snapshots_.load() > 0) {
    return fail(err, KALAM_BUSY,
                kPrefix + "close: " + std::to_string(live_iterators_.load()) +
                    " iterator(s) and " +
                    std::to_string(live_snapshots_.load()) +
                    " snapshot(s) are still alive; destroy them first");
  }
  if (!read_only_) sweep_garbage();
  pool_->clear();
  return KALAM_OK;
}

int Database::admin(const std::string& sql, const char* what, Error& err,
                    Result* out) {
  std::unique_ptr<Connection> conn;
  int rc = pool_->take(&conn, err);
  if (rc != KALAM_OK) return rc;
  rc = conn->exec(sql, what, err, out);
  pool_->give(std::move(conn));
  return rc;
}

int Database::flush(uint32_t flags, Error& err) {
  if (flags != 0) {
    return fail(
        err, KALAM_INVALID_ARGUMENT,
        kPrefix + "flush: flags must be 0, got " + std::to_string(flags));
  }
  // Every commit acknowledged with synchronous_commit other than off had its
  // WAL flushed before the acknowledgement. With off, a transaction that
  // writes and commits with synchronous_commit = on flushes the WAL up to
  // its own commit record, which covers every earlier commit.
  if (options_.synchronous_commit != "off" || read_only_) return KALAM_OK;
  return admin("BEGIN; SET LOCAL synchronous_commit = on; UPDATE " +
                   quoted_schema_ +
                   ".kalam_meta SET value = value WHERE key = "
                   "'format_version'; COMMIT",
               "flush", err);
}

void Database::sweep_garbage() noexcept {
  try {
    Error err;
    std::unique_ptr<Connection> conn;
    if (pool_->take(&conn, err) != KALAM_OK) return;
    Result rows;
    if (conn->exec(
            "SELECT table_name FROM " + quoted_schema_ + ".kalam_garbage",
            "list dropped tables", err, &rows) != KALAM_OK) {
      return;
    }
    for (int i = 0; i < PQntuples(rows.get()); ++i) {
      const std::string table = PQgetvalue(rows.get(), i, 0);
      if (table.rfind("cf_", 0) != 0 ||
          table.find_first_not_of("0123456789", 3) != std::string::npos) {
        continue;  // not a name this plugin wrote
      }
      // A snapshot or iterator still reading the table holds a lock on it:
      // give up at once and leave the table for a later sweep.
      Error drop_err;
      if (conn->exec("BEGIN; SET LOCAL lock_timeout = '50ms'; DROP TABLE IF "
                     "EXISTS " +
                         quoted_schema_ + "." + table + "; DELETE FROM " +
                         quoted_schema_ +
                         ".kalam_garbage WHERE table_name = '" + table +
                         "'; COMMIT",
                     "drop a dropped family's table", drop_err) != KALAM_OK) {
        Error ignored;
        (void)conn->exec("ROLLBACK", "rollback", ignored);
        log(KALAM_LOG_DEBUG,
            "left table " + table + " for a later sweep: " + drop_err.message);
      }
    }
    pool_->give(std::move(conn));
  } catch (...) {
    // Best effort: the tables stay listed in kalam_garbage.
  }
}

// ---- Column families ------------------------------------------------------

int Database::resolve(kalam_cf* handle, Family** out, Error& err) {
  Family* family = handle == nullptr ? default_family_ : to_family(handle);
  if (family->db != this) [[unlikely]] {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix +
                    "the column family handle belongs to another "
                    "database than schema " +
                    schema_);
  }
  if (family->dropped.load(std::memory_order_acquire)) [[unlikely]] {
    return fail_dropped(*family, err);
  }
  *out = family;
  return KALAM_OK;
}

int Database::cf_open(const char* name, uint32_t flags, kalam_cf** out,
                      Error& err) {
  if (name == nullptr || name[0] == '\0' || out == nullptr) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + "cf_open: name is NULL or empty, or out_cf is NULL");
  }
  if ((flags & ~KALAM_CF_CREATE_IF_MISSING) != 0) {
    return fail(
        err, KALAM_INVALID_ARGUMENT,
        kPrefix + "cf_open: unknown flag bits " + std::to_string(flags));
  }
  const std::string wanted(name);
  if (wanted == "default") {
    *out = nullptr;
    return KALAM_OK;
  }
  {
    std::lock_guard lock(families_mutex_);
    auto it = families_by_name_.find(wanted);
    if (it != families_by_name_.end() && !it->second->dropped.load()) {
      *out = to_cf_handle(it->second);
      return KALAM_OK;
    }
  }
  // Another process may have created it since open().
  Result rows;
  std::unique_ptr<Connection> conn;
  int rc = pool_->take(&conn, err);
  if (rc != KALAM_OK) return rc;
  rc = conn->exec_params(
      "SELECT id FROM " + quoted_schema_ + ".kalam_families WHERE name = $1",
      std::vector<std::string>{wanted}, "look up a column family", err, &rows);
  pool_->give(std::move(conn));
  if (rc != KALAM_OK) return rc;
  if (PQntuples(rows.get()) == 1) {
    const int64_t id = std::strtoll(PQgetvalue(rows.get(), 0, 0), nullptr, 10);
    std::lock_guard lock(families_mutex_);
    auto it = families_by_name_.find(wanted);
    if (it != families_by_name_.end() && it->second->id == id &&
        !it->second->dropped.load()) {
      *out = to_cf_handle(it->second);
    } else {
      *out = to_cf_handle(add_family(id, wanted));
    }
    return KALAM_OK;
  }
  if ((flags & KALAM_CF_CREATE_IF_MISSING) == 0) {
    return fail(err, KALAM_NOT_FOUND,
                kPrefix + "column family '" + wanted + "' does not exist");
  }
  if (read_only_) {
    return fail(err, KALAM_NOT_SUPPORTED,
                kPrefix + "cf_open: schema " + schema_ +
                    " is open read-only; cannot create column family '" +
                    wanted + "'");
  }
  Family* family = nullptr;
  rc = create_family(wanted, &family, err);
  if (rc != KALAM_OK) return rc;
  *out = to_cf_handle(family);
  return KALAM_OK;
}

int Database::create_family(const std::string& name, Family** out, Error& err) {
  std::unique_ptr<Connection> conn;
  int rc = pool_->take(&conn, err);
  if (rc != KALAM_OK) return rc;
  const std::string s = quoted_schema_;
  auto run = [&]() -> int {
    Result r;
    int code = conn->exec(
        "BEGIN; SELECT pg_advisory_xact_lock(hashtext("
        "'kalam.schema." +
            schema_ + "'))",
        "create a column family", err);
    if (code != KALAM_OK) return code;
    code = conn->exec_params(
        "SELECT id FROM " + s + ".kalam_families WHERE name = $1",
        std::vector<std::string>{name}, "create a column family", err, &r);
    if (code != KALAM_OK) return code;
    int64_t id = 0;
    if (PQntuples(r.get()) == 1) {
      id = std::strtoll(PQgetvalue(r.get(), 0, 0), nullptr, 10);
    } else {
      code = conn->exec("SELECT nextval('" + s + ".kalam_family_ids')",
                        "create a column family", err, &r);
      if (code != KALAM_OK) return code;
      id = std::strtoll(PQgetvalue(r.get(), 0, 0), nullptr, 10);
      code = conn->exec("CREATE TABLE " + s + ".cf_" + std::to_string(id) +
                            " (key bytea PRIMARY KEY, value bytea NOT NULL)",
                        "create a column family", err);
      if (code != KALAM_OK) return code;
      code = conn->exec_params(
          "INSERT INTO " + s + ".kalam_families (id, name) VALUES ($1, $2)",
          std::vector<std::string>{std::to_string(id), name},
          "create a column family", err);
      if (code != KALAM_OK) return code;
    }
    code = conn->exec("COMMIT", "create a column family", err);
    if (code != KALAM_OK) return code;
    std::lock_guard lock(families_mutex_);
    *out = add_family(id, name);
    return KALAM_OK;
  };
  rc = run();
  if (rc != KALAM_OK) {
    Error ignored;
    (void)conn->exec("ROLLBACK", "rollback", ignored);
  }
  pool_->give(std::move(conn));
  return rc;
}

int Database::cf_drop(kalam_cf* cf, Error& err) {
  if (cf == nullptr) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix +
                    "cf_drop: the default column family cannot be "
                    "dropped");
  }
  Family* family = nullptr;
  int rc = resolve(cf, &family, err);
  if (rc != KALAM_OK) return rc;
  if (read_only_) {
    return fail(err, KALAM_NOT_SUPPORTED,
                kPrefix + "cf_drop: schema " + schema_ + " is open read-only");
  }
  // The drop is the catalog row's removal, durable at COMMIT. The table
  // itself goes to kalam_garbage and is dropped when no snapshot or
  // iterator reads it any more (sweep_garbage()).
  const std::string s = quoted_schema_;
  const std::string table = "cf_" + std::to_string(family->id);
  Result deleted;
  rc =
      admin("BEGIN; SELECT pg_advisory_xact_lock(hashtext('kalam.schema." +
                schema_ + "')); INSERT INTO " + s + ".kalam_garbage VALUES ('" +
                table + "') ON CONFLICT DO NOTHING; DELETE FROM " + s +
                ".kalam_families WHERE id = " + std::to_string(family->id) +
                "; COMMIT",
            "drop a column family", err, &deleted);
  if (rc != KALAM_OK) return rc;
  {
    std::lock_guard lock(families_mutex_);
    family->dropped.store(true, std::memory_order_release);
    auto it = families_by_name_.find(family->name);
    if (it != families_by_name_.end() && it->second == family) {
      families_by_name_.erase(it);
    }
  }
  // A snapshot of this process that has not read the table yet holds no
  // lock on it, and would fail (ending its transaction) if it read the
  // family after the table went: leave the table while views are alive.
  if (live_snapshots_.load() == 0 && live_iterators_.load() == 0) {
    sweep_garbage();
  }
  return KALAM_OK;
}

int Database::cf_list(kalam_name_visitor visit, void* ctx, Error& err) {
  if (visit == nullptr) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + "cf_list: visit is NULL");
  }
  Result rows;
  const int rc = admin("SELECT name FROM " + quoted_schema_ + ".kalam_families",
                       "list column families", err, &rows);
  if (rc != KALAM_OK) return rc;
  for (int i = 0; i < PQntuples(rows.get()); ++i) {
    visit(ctx, PQgetvalue(rows.get(), i, 0));
  }
  return KALAM_OK;
}

// ---- Reads ----------------------------------------------------------------

int Database::prepare(Connection& conn, const Family& family,
                      StatementKind kind, Error& err) {
  // The usual case, without building the SQL text.
  if (conn.has_prepared(family.statements[kind])) return KALAM_OK;
  return conn.prepare(family.statements[kind],
                      statement_sql(kind, family.table), err);
}

int Database::snapshot_of(const kalam_read_options* options, Snapshot** out,
                          Error& err) {
  *out = nullptr;
  if (options == nullptr || !KALAM_PLUGIN_COVERS(options, snapshot) ||
      options->snapshot == nullptr) {
    return KALAM_OK;
  }
  Snapshot* snapshot = to_snapshot(options->snapshot);
  if (snapshot->db != this) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix +
                    "the snapshot belongs to another database than "
                    "schema " +
                    schema_);
  }
  *out = snapshot;
  return KALAM_OK;
}

int Database::check_key(const void* key, size_t len, const char* what,
                        Error& err) const {
  if (kalam_plugin::null_with_length(key, len)) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + what + " is NULL with length " + std::to_string(len));
  }
  if (len > kMaxKeySize) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + what + " has " + std::to_string(len) +
                    " bytes, over max_key_size (" +
                    std::to_string(kMaxKeySize) + ")");
  }
  return KALAM_OK;
}

template <class OnValue>
int Database::lookup(Connection& conn, const Family& family, const void* key,
                     size_t key_len, OnValue&& on_value, Error& err) {
  if (key_len == 0) return KALAM_NOT_FOUND;
  int rc = prepare(conn, family, kGet, err);
  if (rc != KALAM_OK) return rc;
  Result result;
  const Param p[1] = {param(key, key_len)};
  rc = conn.run(family.statements[kGet], p, "get", err, &result);
  if (rc == KALAM_DROPPED) return fail_dropped(family, err);
  if (rc != KALAM_OK) return rc;
  if (PQntuples(result.get()) == 0) return KALAM_NOT_FOUND;
  on_value(PQgetvalue(result.get(), 0, 0),
           static_cast<size_t>(PQgetlength(result.get(), 0, 0)));
  return KALAM_OK;
}

template <class Read>
int Database::with_reader(Snapshot* snapshot, Read&& read, Error& err) {
  if (snapshot != nullptr) {
    std::lock_guard lock(snapshot->view->mutex());
    return read(snapshot->view->conn());
  }
  std::unique_ptr<Connection> conn;
  int rc = pool_->take(&conn, err);
  if (rc != KALAM_OK) return rc;
  rc = read(*conn);
  pool_->give(std::move(conn));
  return rc;
}

int Database::get(const kalam_read_options* options, kalam_cf* cf,
                  const void* key, size_t key_len, kalam_value_visitor visit,
                  void* ctx, Error& err) {
  if (visit == nullptr) {
    return fail(err, KALAM_INVALID_ARGUMENT, kPrefix + "get: visit is NULL");
  }
  Family* family = nullptr;
  Snapshot* snapshot = nullptr;
  int rc = resolve(cf, &family, err);
  if (rc == KALAM_OK) rc = check_key(key, key_len, "get: key", err);
  if (rc == KALAM_OK) rc = snapshot_of(options, &snapshot, err);
  if (rc != KALAM_OK) return rc;
  return with_reader(
      snapshot,
      [&](Connection& conn) {
        return lookup(
            conn, *family, key, key_len,
            [&](const void* data, size_t len) { visit(ctx, data, len); }, err);
      },
      err);
}

int Database::get_into(const kalam_read_options* options, kalam_cf* cf,
                       const void* key, size_t key_len, void* buf,
                       size_t buf_size, size_t* value_len, Error& err) {
  if (value_len == nullptr || (buf == nullptr && buf_size > 0)) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix +
                    "get_into: value_len is NULL, or buf is NULL with "
                    "a size");
  }
  Family* family = nullptr;
  Snapshot* snapshot = nullptr;
  int rc = resolve(cf, &family, err);
  if (rc == KALAM_OK) rc = check_key(key, key_len, "get_into: key", err);
  if (rc == KALAM_OK) rc = snapshot_of(options, &snapshot, err);
  if (rc != KALAM_OK) return rc;
  return with_reader(
      snapshot,
      [&](Connection& conn) {
        bool too_small = false;
        const int code = lookup(
            conn, *family, key, key_len,
            [&](const void* data, size_t len) {
              if (len > buf_size) {
                too_small = true;
              } else if (len > 0) {
                std::memcpy(buf, data, len);
              }
              *value_len = len;
            },
            err);
        if (code == KALAM_OK && too_small) {
          return fail(err, KALAM_BUFFER_TOO_SMALL,
                      kPrefix + "get_into: the value has " +
                          std::to_string(*value_len) + " bytes, the buffer " +
                          std::to_string(buf_size));
        }
        return code;
      },
      err);
}

int Database::multi_get(const kalam_read_options* options, size_t count,
                        kalam_cf* const* cfs, const void* const* keys,
                        const size_t* key_lens, kalam_multi_get_visitor visit,
                        void* ctx, Error& err) {
  if (count == 0) return KALAM_OK;
  if (keys == nullptr || key_lens == nullptr || visit == nullptr) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + "multi_get: keys, key_lens or visit is NULL");
  }
  Snapshot* snapshot = nullptr;
  int rc = snapshot_of(options, &snapshot, err);
  if (rc != KALAM_OK) return rc;

  // Per key: its code, and for a found key the row of its group's result.
  std::vector<int> codes(count, KALAM_NOT_FOUND);
  std::vector<std::pair<int, int>> where(count, {-1, -1});  // group, row
  // The keys grouped by family, in first-seen order; one statement each.
  std::vector<Family*> group_family;
  std::vector<std::vector<size_t>> group_keys;
  for (size_t i = 0; i < count; ++i) {
    Family* family = nullptr;
    Error key_err;
    int code = resolve(cfs != nullptr ? cfs[i] : nullptr, &family, key_err);
    if (code == KALAM_OK) {
      code = check_key(keys[i], key_lens[i], "multi_get: key", key_err);
    }
    if (code != KALAM_OK) {
      codes[i] = code;
      continue;
    }
    if (key_lens[i] == 0) continue;  // never stored
    size_t g = 0;
    while (g < group_family.size() && group_family[g] != family) ++g;
    if (g == group_family.size()) {
      group_family.push_back(family);
      group_keys.emplace_back();
    }
    group_keys[g].push_back(i);
  }
  std::vector<Result> results(group_family.size());
  auto read_groups = [&](Connection& conn) -> int {
    for (size_t g = 0; g < group_family.size(); ++g) {
      const Family& family = *group_family[g];
      int code = prepare(conn, family, kMultiGet, err);
      if (code != KALAM_OK) return code;
      // A one-dimensional bytea[] in the binary array format.
      std::string array;
      put_be32(array, 1);   // dimensions
      put_be32(array, 0);   // no NULLs
      put_be32(array, 17);  // element type: bytea
      put_be32(array, static_cast<uint32_t>(group_keys[g].size()));
      put_be32(array, 1);  // lower bound
      for (size_t i : group_keys[g]) {
        put_be32(array, static_cast<uint32_t>(key_lens[i]));
        array.append(static_cast<const char*>(keys[i]), key_lens[i]);
      }
      const Param p[1] = {param(array)};
      code = conn.run(family.statements[kMultiGet], p, "multi_get", err,
                      &results[g]);
      if (code == KALAM_DROPPED) code = fail_dropped(family, err);
      if (code != KALAM_OK) return code;
      PGresult* r = results[g].get();
      for (int row = 0; row < PQntuples(r); ++row) {
        const int64_t ord = read_be64(PQgetvalue(r, row, 0));
        if (ord < 1 || static_cast<size_t>(ord) > group_keys[g].size()) {
          return fail(err, KALAM_INTERNAL,
                      kPrefix + "multi_get: the server returned ordinal " +
                          std::to_string(ord));
        }
        const size_t i = group_keys[g][static_cast<size_t>(ord - 1)];
        codes[i] = KALAM_OK;
        where[i] = {static_cast<int>(g), row};
      }
    }
    return KALAM_OK;
  };
  if (group_family.size() <= 1 || snapshot != nullptr) {
    // One statement reads from one consistent view by itself.
    rc = with_reader(snapshot, read_groups, err);
  } else {
    std::shared_ptr<ReadView> view;
    rc = begin_view(&view, err);
    if (rc != KALAM_OK) return rc;
    std::lock_guard lock(view->mutex());
    rc = read_groups(view->conn());
  }
  if (rc != KALAM_OK) return rc;
  for (size_t i = 0; i < count; ++i) {
    if (codes[i] == KALAM_OK) {
      PGresult* r = results[static_cast<size_t>(where[i].first)].get();
      visit(ctx, i, KALAM_OK, PQgetvalue(r, where[i].second, 1),
            static_cast<size_t>(PQgetlength(r, where[i].second, 1)));
    } else {
      visit(ctx, i, codes[i], nullptr, 0);
    }
  }
  return KALAM_OK;
}

// ---- Writes ---------------------------------------------------------------

int Database::write(const kalam_write_options* options,
                    const kalam_write_op* ops, size_t op_count, Error& err) {
  return write_conditional(options, nullptr, 0, ops, op_count, err);
}

int Database::write_conditional(const kalam_write_options* options,
                                const kalam_expectation* expects,
                                size_t expect_count, const kalam_write_op* ops,
                                size_t op_count, Error& err) {
  if (options == nullptr) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + "write: options is NULL");
  }
  if (!KALAM_PLUGIN_COVERS(options, op_stride)) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + "write: options->struct_size (" +
                    std::to_string(options->struct_size) +
                    ") does not cover op_stride");
  }
  if ((options->flags & ~KALAM_WRITE_SYNC) != 0) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + "write: unknown flag bits " +
                    std::to_string(options->flags & ~KALAM_WRITE_SYNC));
  }
  if (op_count > 0 && ops == nullptr) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + "write: ops is NULL with op_count " +
                    std::to_string(op_count));
  }
  if (op_count > 0 && options->op_stride < sizeof(kalam_write_op)) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + "write: op_stride " +
                    std::to_string(options->op_stride) +
                    " is smaller than kalam_write_op (" +
                    std::to_string(sizeof(kalam_write_op)) + " bytes)");
  }
  if (expect_count > 0 && expects == nullptr) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix +
                    "write_conditional: expects is NULL with "
                    "expect_count " +
                    std::to_string(expect_count));
  }
  if (read_only_) {
    return fail(err, KALAM_NOT_SUPPORTED,
                kPrefix + "write: schema " + schema_ + " is open read-only");
  }
  if (op_count == 0 && expect_count == 0) return KALAM_OK;

  // The expectations, validated, grouped by family (one multi-get
  // statement each, in first-seen order).
  std::vector<Family*> expect_family(expect_count, nullptr);
  std::vector<Family*> group_family;
  std::vector<std::vector<size_t>> group_expects;
  for (size_t i = 0; i < expect_count; ++i) {
    const kalam_expectation& e = expects[i];
    auto where = [i] {
      return "write_conditional: expectation " + std::to_string(i);
    };
    if (e.type != KALAM_EXPECT_VALUE && e.type != KALAM_EXPECT_ABSENT &&
        e.type != KALAM_EXPECT_PRESENT) {
      return fail(err, KALAM_INVALID_ARGUMENT,
                  kPrefix + where() + " has unknown type " +
                      std::to_string(e.type) + "; nothing was applied");
    }
    if (e.reserved0 != 0) {
      return fail(
          err, KALAM_INVALID_ARGUMENT,
          kPrefix + where() + ": reserved0 must be 0; nothing was applied");
    }
    if (e.key_len == 0 || e.key == nullptr) {
      return fail(err, KALAM_INVALID_ARGUMENT,
                  kPrefix + where() +
                      ": the key is empty; a stored key has 1 to "
                      "max_key_size bytes; nothing was applied");
    }
    int rc = check_key(e.key, e.key_len, (where() + ": key").c_str(), err);
    if (rc != KALAM_OK) {
      err.message += "; nothing was applied";
      return rc;
    }
    if (e.type == KALAM_EXPECT_VALUE &&
        kalam_plugin::null_with_length(e.value, e.value_len)) {
      return fail(err, KALAM_INVALID_ARGUMENT,
                  kPrefix + where() + ": value is NULL with length " +
                      std::to_string(e.value_len) + "; nothing was applied");
    }
    Family* family = nullptr;
    rc = resolve(e.cf, &family, err);
    if (rc != KALAM_OK) {
      err.message = kPrefix + where() + ": " +
                    err.message.substr(kPrefix.size()) +
                    "; nothing was applied";
      return rc;
    }
    expect_family[i] = family;
    size_t g = 0;
    while (g < group_family.size() && group_family[g] != family) ++g;
    if (g == group_family.size()) {
      group_family.push_back(family);
      group_expects.emplace_back();
    }
    group_expects[g].push_back(i);
  }

  // The stripes this write locks (see kLockStripes): exclusive for the
  // expected keys, shared for the written ones.
  std::vector<uint8_t> lock_modes(kLockStripes, 0);
  for (size_t i = 0; i < expect_count; ++i) {
    lock_modes[lock_stripe(expects[i].key, expects[i].key_len)] = 2;
  }
  auto lock_shared = [&lock_modes](uint32_t stripe) {
    if (lock_modes[stripe] == 0) lock_modes[stripe] = 1;
  };

  // Validate everything before anything is sent.
  std::vector<Connection::Step> steps;
  std::vector<Family*> step_family;
  steps.reserve(op_count);
  step_family.reserve(op_count);
  for (size_t i = 0; i < op_count; ++i) {
    const kalam_write_op& op = *kalam_write_op_at(ops, options->op_stride, i);
    auto where = [i] { return "write: op " + std::to_string(i); };
    if (op.type != KALAM_OP_PUT && op.type != KALAM_OP_DELETE &&
        op.type != KALAM_OP_DELETE_RANGE) {
      return fail(err, KALAM_INVALID_ARGUMENT,
                  kPrefix + where() + " has unknown type " +
                      std::to_string(op.type) + "; nothing was applied");
    }
    if (op.reserved0 != 0) {
      return fail(
          err, KALAM_INVALID_ARGUMENT,
          kPrefix + where() + ": reserved0 must be 0; nothing was applied");
    }
    Family* family = nullptr;
    int rc = resolve(op.cf, &family, err);
    if (rc != KALAM_OK) {
      err.message = kPrefix + where() + ": " +
                    err.message.substr(kPrefix.size()) +
                    "; nothing was applied";
      return rc;
    }
    Connection::Step step;
    if (op.type == KALAM_OP_DELETE_RANGE) {
      if (kalam_plugin::null_with_length(op.key, op.key_len) ||
          kalam_plugin::null_with_length(op.value, op.value_len) ||
          op.key_len > kMaxValueSize || op.value_len > kMaxValueSize) {
        return fail(err, KALAM_INVALID_ARGUMENT,
                    kPrefix + where() +
                        ": a range end is NULL with a length, or too long; "
                        "nothing was applied");
      }
      // An empty or reversed range removes nothing.
      if (compare_bytes(op.key, op.key_len, op.value, op.value_len) >= 0) {
        continue;
      }
      // Any key may lie in the range.
      for (uint32_t stripe = 0; stripe < kLockStripes; ++stripe) {
        lock_shared(stripe);
      }
      step.statement = &family->statements[kDeleteRange];
      step.param_count = 2;
      step.params[0] = param(op.key, op.key_len);
      step.params[1] = param(op.value, op.value_len);
    } else {
      if (op.key_len == 0) {
        return fail(err, KALAM_INVALID_ARGUMENT,
                    kPrefix + where() +
                        ": the key is empty; a stored key has 1 to "
                        "max_key_size bytes; nothing was applied");
      }
      rc = check_key(op.key, op.key_len, (where() + ": key").c_str(), err);
      if (rc != KALAM_OK) {
        err.message += "; nothing was applied";
        return rc;
      }
      lock_shared(lock_stripe(op.key, op.key_len));
      if (op.type == KALAM_OP_PUT) {
        if (kalam_plugin::null_with_length(op.value, op.value_len)) {
          return fail(err, KALAM_INVALID_ARGUMENT,
                      kPrefix + where() + ": value is NULL with length " +
                          std::to_string(op.value_len) +
                          "; nothing was applied");
        }
        if (op.value_len > kMaxValueSize) {
          return fail(err, KALAM_INVALID_ARGUMENT,
                      kPrefix + where() + ": value has " +
                          std::to_string(op.value_len) +
                          " bytes, over max_value_size (" +
                          std::to_string(kMaxValueSize) +
                          "); nothing was applied");
        }
        step.statement = &family->statements[kPut];
        step.param_count = 2;
        step.params[0] = param(op.key, op.key_len);
        step.params[1] = param(op.value, op.value_len);
      } else {
        step.statement = &family->statements[kDelete];
        step.param_count = 1;
        step.params[0] = param(op.key, op.key_len);
      }
    }
    steps.push_back(step);
    step_family.push_back(family);
  }
  if (steps.empty() && expect_count == 0) return KALAM_OK;
  const bool sync = (options->flags & KALAM_WRITE_SYNC) != 0 &&
                    options_.synchronous_commit == "off";
  // The advisory locks go first in the transaction: a plain write sends
  // them as its first pipelined statement (no extra round trip).
  const std::string locks = lock_sql(
      static_cast<int32_t>(fnv1a(schema_.data(), schema_.size()) & 0x7fffffff),
      lock_modes);
  if (expect_count == 0 && !locks.empty()) {
    Connection::Step lock_step;
    lock_step.sql = locks.c_str();
    steps.insert(steps.begin(), lock_step);
    step_family.insert(step_family.begin(), nullptr);
  }

  // The key arrays of the expectation groups (binary bytea[]).
  std::vector<std::string> group_arrays(group_family.size());
  for (size_t g = 0; g < group_family.size(); ++g) {
    std::string& array = group_arrays[g];
    put_be32(array, 1);   // dimensions
    put_be32(array, 0);   // no NULLs
    put_be32(array, 17);  // element type: bytea
    put_be32(array, static_cast<uint32_t>(group_expects[g].size()));
    put_be32(array, 1);  // lower bound
    for (size_t i : group_expects[g]) {
      put_be32(array, static_cast<uint32_t>(expects[i].key_len));
      array.append(static_cast<const char*>(expects[i].key),
                   expects[i].key_len);
    }
  }

  int rc = KALAM_OK;
  for (int attempt = 0; attempt <= kConflictRetries; ++attempt) {
    std::unique_ptr<Connection> conn;
    rc = pool_->take(&conn, err);
    if (rc != KALAM_OK) return rc;
    for (size_t i = 0; i < steps.size() && rc == KALAM_OK; ++i) {
      if (step_family[i] == nullptr) continue;  // the lock statement
      const Family& family = *step_family[i];
      const unsigned kind =
          static_cast<unsigned>(steps[i].statement - &family.statements[0]);
      rc = prepare(*conn, family, static_cast<StatementKind>(kind), err);
    }
    for (size_t g = 0; g < group_family.size() && rc == KALAM_OK; ++g) {
      rc = prepare(*conn, *group_family[g], kMultiGet, err);
    }
    Failure failure = Failure::kInternal;
    bool begun = false;
    if (rc == KALAM_OK && expect_count > 0) {
      // The write's transaction takes the expected keys' stripe locks
      // exclusively (and the written keys' shared) before it reads the
      // expected keys: every other write to those keys, from any process,
      // holds the same stripe's lock (shared) until it commits, so it has
      // either committed before the read (READ COMMITTED: the read sees
      // it) or waits until this transaction ends. No write falls between
      // the check and the apply. See README.md, "Conditional writes".
      begun = true;
      // BEGIN and the locks in one round trip (one simple query).
      rc = conn->exec(locks.empty() ? std::string("BEGIN") : "BEGIN; " + locks,
                      "write_conditional: begin and lock the keys' stripes",
                      err);
      int64_t failed = -1;
      for (size_t g = 0; g < group_family.size() && rc == KALAM_OK; ++g) {
        Result result;
        const Param p[1] = {param(group_arrays[g])};
        rc = conn->run(group_family[g]->statements[kMultiGet], p,
                       "write_conditional: read the expected keys", err,
                       &result, &failure);
        if (rc == KALAM_DROPPED) rc = fail_dropped(*group_family[g], err);
        if (rc != KALAM_OK) break;
        // Each expected key's value, or none.
        const std::vector<size_t>& members = group_expects[g];
        std::vector<int> row_of(members.size(), -1);
        PGresult* r = result.get();
        for (int row = 0; row < PQntuples(r); ++row) {
          const int64_t ord = read_be64(PQgetvalue(r, row, 0));
          if (ord < 1 || static_cast<size_t>(ord) > members.size()) {
            rc = fail(err, KALAM_INTERNAL,
                      kPrefix +
                          "write_conditional: the server returned "
                          "ordinal " +
                          std::to_string(ord));
            break;
          }
          row_of[static_cast<size_t>(ord - 1)] = row;
        }
        for (size_t m = 0; m < members.size() && rc == KALAM_OK; ++m) {
          const kalam_expectation& e = expects[members[m]];
          const int row = row_of[m];
          bool holds = false;
          switch (e.type) {
            case KALAM_EXPECT_ABSENT:
              holds = row < 0;
              break;
            case KALAM_EXPECT_PRESENT:
              holds = row >= 0;
              break;
            default:
              holds =
                  row >= 0 &&
                  static_cast<size_t>(PQgetlength(r, row, 1)) == e.value_len &&
                  (e.value_len == 0 || std::memcmp(PQgetvalue(r, row, 1),
                                                   e.value, e.value_len) == 0);
          }
          if (!holds &&
              (failed < 0 || static_cast<int64_t>(members[m]) < failed)) {
            failed = static_cast<int64_t>(members[m]);
          }
        }
      }
      if (rc == KALAM_OK && failed >= 0) {
        Error ignored;
        (void)conn->exec("ROLLBACK", "write_conditional: rollback", ignored);
        pool_->give(std::move(conn));
        static const char* const kNames[] = {"", "holds the expected value",
                                             "is absent", "is present"};
        const kalam_expectation& e = expects[failed];
        return fail(err, KALAM_CONFLICT,
                    kPrefix + "write_conditional: expectation " +
                        std::to_string(failed) + " (key of " +
                        std::to_string(e.key_len) + " bytes in family '" +
                        expect_family[static_cast<size_t>(failed)]->name +
                        "' " + kNames[e.type] +
                        ") does not hold; nothing was applied",
                    failed);
      }
      if (rc != KALAM_OK && conn->in_transaction()) {
        Error ignored;
        (void)conn->exec("ROLLBACK", "write_conditional: rollback", ignored);
      }
    }
    if (rc == KALAM_OK) {
      if (steps.empty()) {
        // A pure check: the expectations held; end the transaction.
        rc = conn->exec("COMMIT", "write_conditional: commit", err);
      } else {
        rc = conn->transaction(steps, sync, &failure, err, begun);
      }
    }
    pool_->give(std::move(conn));
    if (rc == KALAM_OK) return KALAM_OK;
    if (rc == KALAM_DROPPED) {
      // A table went away under us (dropped by another process).
      return fail(err, KALAM_DROPPED,
                  err.message +
                      "; a column family of this write was dropped; "
                      "nothing was applied");
    }
    if (failure != Failure::kConflict) return rc;
  }
  return rc;
}

// ---- Snapshots ------------------------------------------------------------

int Database::begin_view(std::shared_ptr<ReadView>* out, Error& err) {
  std::unique_ptr<Connection> conn;
  int rc = pool_->take(&conn, err);
  if (rc != KALAM_OK) return rc;
  // The snapshot is taken by the first statement after BEGIN, so both go in
  // one round trip.
  rc = conn->exec(
      "START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY; SELECT 1",
      "start a snapshot", err);
  if (rc != KALAM_OK) return rc;
  *out = std::make_shared<ReadView>(this, std::move(conn));
  return KALAM_OK;
}

int Database::snapshot_create(kalam_snapshot** out, Error& err) {
  if (out == nullptr) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + "snapshot_create: out_snapshot is NULL");
  }
  std::shared_ptr<ReadView> view;
  const int rc = begin_view(&view, err);
  if (rc != KALAM_OK) return rc;
  auto snapshot = std::make_unique<Snapshot>();
  snapshot->db = this;
  snapshot->view = std::move(view);
  live_snapshots_.fetch_add(1);
  *out = reinterpret_cast<kalam_snapshot*>(snapshot.release());
  return KALAM_OK;
}

void Database::snapshot_release(kalam_snapshot* snapshot) noexcept {
  if (snapshot == nullptr) return;
  delete to_snapshot(snapshot);
  live_snapshots_.fetch_sub(1);
}

// ---- Iterators ------------------------------------------------------------

int Database::iter_create(const kalam_iter_options* options, kalam_cf* cf,
                          kalam_iter** out, Error& err) {
  if (out == nullptr) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + "iter_create: out_iter is NULL");
  }
  Family* family = nullptr;
  int rc = resolve(cf, &family, err);
  if (rc != KALAM_OK) return rc;
  IterBounds bounds;
  const kalam_snapshot* at = nullptr;
  if (options != nullptr) {
    const uint32_t known = KALAM_ITER_LOWER_BOUND | KALAM_ITER_UPPER_BOUND |
                           KALAM_ITER_PREFIX | KALAM_ITER_REVERSE;
    if ((options->flags & ~known) != 0) {
      return fail(err, KALAM_INVALID_ARGUMENT,
                  kPrefix + "iter_create: unknown flag bits " +
                      std::to_string(options->flags & ~known));
    }
    if (KALAM_PLUGIN_COVERS(options, snapshot)) at = options->snapshot;
    if ((options->flags & KALAM_ITER_LOWER_BOUND) != 0) {
      if (kalam_plugin::null_with_length(options->lower, options->lower_len)) {
        return fail(err, KALAM_INVALID_ARGUMENT,
                    kPrefix + "iter_create: lower is NULL with a length");
      }
      bounds.has_lower = true;
      bounds.lower.assign(static_cast<const char*>(options->lower),
                          options->lower_len);
    }
    if ((options->flags & KALAM_ITER_UPPER_BOUND) != 0) {
      if (kalam_plugin::null_with_length(options->upper, options->upper_len)) {
        return fail(err, KALAM_INVALID_ARGUMENT,
                    kPrefix + "iter_create: upper is NULL with a length");
      }
      bounds.has_upper = true;
      bounds.upper.assign(static_cast<const char*>(options->upper),
                          options->upper_len);
    }
  }
  std::shared_ptr<ReadView> view;
  if (at != nullptr) {
    Snapshot* snapshot = to_snapshot(at);
    if (snapshot->db != this) {
      return fail(err, KALAM_INVALID_ARGUMENT,
                  kPrefix +
                      "iter_create: the snapshot belongs to another "
                      "database");
    }
    view = snapshot->view;
  } else {
    rc = begin_view(&view, err);
    if (rc != KALAM_OK) return rc;
  }
  auto iter = std::make_unique<Iterator>(this, family, std::move(view),
                                         std::move(bounds));
  live_iterators_.fetch_add(1);
  *out = reinterpret_cast<kalam_iter*>(iter.release());
  return KALAM_OK;
}

// ---- Properties -----------------------------------------------------------

int Database::get_property(kalam_cf* cf, const char* name,
                           kalam_value_visitor visit, void* ctx, Error& err) {
  if (name == nullptr || visit == nullptr) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + "get_property: name or visit is NULL");
  }
  Family* family = nullptr;
  int rc = resolve(cf, &family, err);
  if (rc != KALAM_OK) return rc;
  const std::string property(name);
  std::string value;
  if (property == KALAM_PROPERTY_ESTIMATE_NUM_KEYS ||
      property == KALAM_PROPERTY_APPROXIMATE_BYTES) {
    Result r;
    rc = admin(property == KALAM_PROPERTY_ESTIMATE_NUM_KEYS
                   ? "SELECT count(*) FROM " + family->table
                   : "SELECT pg_total_relation_size('" + family->table + "')",
               "get_property", err, &r);
    if (rc == KALAM_DROPPED) return fail_dropped(*family, err);
    if (rc != KALAM_OK) return rc;
    value = PQgetvalue(r.get(), 0, 0);
  } else if (property == KALAM_PROPERTY_STATS) {
    std::ostringstream text;
    text << "schema " << schema_ << ", column family '" << family->name
         << "' in table " << family->table << "; connections opened "
         << pool_->opened() << ", idle " << pool_->idle() << "; live snapshots "
         << live_snapshots_.load() << ", live iterators "
         << live_iterators_.load();
    value = text.str();
  } else if (property == "postgres.schema") {
    value = schema_;
  } else {
    return KALAM_NOT_FOUND;
  }
  visit(ctx, value.data(), value.size());
  return KALAM_OK;
}

}  // namespace kalam::postgres_plugin
