#include "sqlite_db.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <string_view>
#include <system_error>
#include <utility>

#include "sqlite_iter.h"

namespace kalam::sqlite_plugin {
namespace fs = std::filesystem;
namespace {

const std::string kPrefix = "sqlite plugin: ";

Family* to_family(kalam_cf* cf) { return reinterpret_cast<Family*>(cf); }
kalam_cf* to_cf_handle(Family* family) {
  return reinterpret_cast<kalam_cf*>(family);
}
Snapshot* to_snapshot(const kalam_snapshot* snapshot) {
  return reinterpret_cast<Snapshot*>(const_cast<kalam_snapshot*>(snapshot));
}

// KALAM_DROPPED for `family`.
int fail_dropped(const Family& family, Error& err) {
  return fail(err, KALAM_DROPPED,
              kPrefix + "column family '" + family.name +
                  "' was dropped; open it with KALAM_CF_CREATE_IF_MISSING "
                  "to get a new, empty one");
}

// `name` as an SQL identifier: in double quotes, inner quotes doubled.
std::string quote_identifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string errno_text(int error) {
  return std::string(std::strerror(error)) + " (errno " +
         std::to_string(error) + ")";
}

// fsync() of a file or a directory, so that what was written into it (for a
// directory: its entries) survives power loss.
int sync_path(const std::string& path, const std::string& what, Error& err) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    return fail(err, KALAM_IO_ERROR,
                kPrefix + what + ": cannot open " + path +
                    " to sync it: " + errno_text(error),
                error);
  }
  int rc = 0;
  do {
    rc = ::fsync(fd);
  } while (rc != 0 && errno == EINTR);
  const int error = errno;
  ::close(fd);
  if (rc != 0) {
    return fail(
        err, KALAM_IO_ERROR,
        kPrefix + what + ": fsync of " + path + " failed: " + errno_text(error),
        error);
  }
  return KALAM_OK;
}

// Steps the cached, parameterless statement `sql` of kind `kind` on `conn`
// once and expects `expect` (SQLITE_DONE or SQLITE_ROW).
// The error context "<what>[ on <file>]" is built only on failure, so a
// successful call allocates nothing.
int step_cached(Connection& conn, unsigned kind, const char* sql, int expect,
                std::string_view what, std::string_view file, Error& err) {
  Statement stmt;
  int rc = conn.lease(
      statement_key(kNoFamily, kind), [sql] { return std::string(sql); },
      &stmt);
  if (rc == SQLITE_OK) rc = stmt.step();
  if (rc != expect) {
    std::string context = kPrefix;
    context += what;
    if (!file.empty()) {
      context += " on ";
      context += file;
    }
    return fail_sqlite(err, conn.handle(), rc, context);
  }
  return KALAM_OK;
}

// Runs a one-row query and reads its first column as an integer.
int query_int(Connection& conn, const std::string& sql, int64_t* out,
              const std::string& what, Error& err) {
  Statement stmt;
  int rc = conn.prepare_once(sql, &stmt);
  if (rc == SQLITE_OK) rc = stmt.step();
  if (rc != SQLITE_ROW) {
    return fail_sqlite(err, conn.handle(), rc,
                       kPrefix + what + " (" + sql + ")");
  }
  *out = stmt.column_int64(0);
  return KALAM_OK;
}

// Runs a one-row query and reads its first column as text.
int query_text(Connection& conn, const std::string& sql, std::string* out,
               const std::string& what, Error& err) {
  Statement stmt;
  int rc = conn.prepare_once(sql, &stmt);
  if (rc == SQLITE_OK) rc = stmt.step();
  if (rc != SQLITE_ROW) {
    return fail_sqlite(err, conn.handle(), rc,
                       kPrefix + what + " (" + sql + ")");
  }
  const unsigned char* text = sqlite3_column_text(stmt.get(), 0);
  out->assign(text != nullptr ? reinterpret_cast<const char*>(text) : "");
  return KALAM_OK;
}

}  // namespace

std::string family_table_sql(uint32_t format, const std::string& sql_name) {
  if (format == 1) {
    return "CREATE TABLE " + sql_name +
           "(key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID";
  }
  // A rowid table keeps each row's value in the table's B-tree (a row
  // spills only past about a page) and the key, with the rowid, in the
  // index's; NOT NULL because a rowid table's PRIMARY KEY would admit NULL.
  return "CREATE TABLE " + sql_name +
         "(key BLOB NOT NULL PRIMARY KEY, value BLOB NOT NULL)";
}

std::string put_sql(uint32_t format, const std::string& sql_name) {
  if (format == 1) {
    return "INSERT OR REPLACE INTO " + sql_name +
           "(key, value) VALUES (?1, ?2)";
  }
  return "INSERT INTO " + sql_name +
         "(key, value) VALUES (?1, ?2) "
         "ON CONFLICT(key) DO UPDATE SET value = excluded.value";
}

// ---------------------------------------------------------------------------
// Read views and the pool of read connections

ReadView::~ReadView() {
  pin_.release();  // ends the read transaction
  db_->return_reader(std::move(conn_));
}

int Database::take_reader(std::unique_ptr<Connection>* out, Error& err) {
  if (Connection* hot =
          hot_reader_.exchange(nullptr, std::memory_order_acq_rel);
      hot != nullptr) {
    out->reset(hot);
    return KALAM_OK;
  }
  {
    std::lock_guard<std::mutex> lock(pool_mutex_);
    if (!idle_readers_.empty()) {
      *out = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return KALAM_OK;
    }
  }
  return Connection::open(file_, reader_flags_, options_, out, err);
}

void Database::return_reader(std::unique_ptr<Connection> conn) noexcept {
  if (conn == nullptr) return;
  if (conn->in_transaction()) conn->exec("ROLLBACK");
  if (conn->in_transaction()) {
    log(KALAM_LOG_WARN, "a read connection to " + file_ +
                            " could not end its transaction; "
                            "closing it");
    return;  // `conn` closes here
  }
  if (options_.read_pool_size == 0) return;  // `conn` closes here
  Connection* empty = nullptr;
  if (hot_reader_.compare_exchange_strong(empty, conn.get(),
                                          std::memory_order_acq_rel)) {
    conn.release();  // owned by hot_reader_ now
    return;
  }
  std::lock_guard<std::mutex> lock(pool_mutex_);
  // hot_reader_ holds one of the read_pool_size idle connections.
  if (idle_readers_.size() + 1 < options_.read_pool_size) {
    try {
      idle_readers_.push_back(std::move(conn));
    } catch (...) {
      // Out of memory: `conn` closes instead.
    }
  }
}

std::vector<std::unique_ptr<Connection>> Database::take_idle_readers() {
  std::vector<std::unique_ptr<Connection>> readers;
  std::unique_ptr<Connection> hot(
      hot_reader_.exchange(nullptr, std::memory_order_acq_rel));
  {
    std::lock_guard<std::mutex> lock(pool_mutex_);
    readers.swap(idle_readers_);
  }
  if (hot != nullptr) readers.push_back(std::move(hot));
  return readers;
}

int Database::begin_view(std::shared_ptr<ReadView>* out, Error& err) {
  std::unique_ptr<Connection> conn;
  int rc = take_reader(&conn, err);
  if (rc != KALAM_OK) return rc;
  // The first read starts the read transaction and fixes what the view
  // sees; the query stays on its row to hold the transaction (ReadView).
  Statement pin;
  rc = conn->lease(
      statement_key(kNoFamily, kPinRead),
      [] { return std::string("SELECT count(*) FROM kalam_meta"); }, &pin);
  if (rc == SQLITE_OK) rc = pin.step();
  if (rc != SQLITE_ROW) {
    rc = fail_sqlite(err, conn->handle(), rc,
                     kPrefix + "starting a read transaction on " + file_);
    pin.release();
    return_reader(std::move(conn));
    return rc;
  }
  pin.keep_bindings();  // it has none
  *out = std::make_shared<ReadView>(this, std::move(conn), std::move(pin));
  return KALAM_OK;
}

bool Database::table_in_view(Connection& conn, const std::string& table) {
  Statement stmt;
  int rc = conn.lease(
      statement_key(kNoFamily, kTableExists),
      [] {
        return std::string(
            "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1");
      },
      &stmt);
  if (rc == SQLITE_OK) rc = stmt.bind_text(1, table);
  if (rc == SQLITE_OK) rc = stmt.step();
  return rc != SQLITE_DONE;
}

template <class OnValue>
int Database::lookup(Connection& conn, const Family& family, const void* key,
                     size_t key_len, OnValue&& on_value, Error& err) {
  if (key_len == 0) return KALAM_NOT_FOUND;  // no stored key is empty
  Statement stmt;
  int rc = conn.lease(
      statement_key(family.id, kGet),
      [&] {
        return "SELECT value FROM " + family.sql_name + " WHERE key = ?1";
      },
      &stmt);
  if (rc != SQLITE_OK) {
    // A cf_drop() racing this read removed the table: that is DROPPED.
    if (family.gone()) {
      return fail_dropped(family, err);
    }
    // A family created after the view started is empty in that view.
    if ((rc & 0xff) == SQLITE_ERROR && !table_in_view(conn, family.table)) {
      return KALAM_NOT_FOUND;
    }
    return fail_sqlite(err, conn.handle(), rc,
                       kPrefix + "preparing a lookup in column family '" +
                           family.name + "' of " + file_);
  }
  stmt.keep_bindings();  // ?1, its one parameter, is bound on every use
  rc = stmt.bind_blob(1, key, key_len);
  if (rc == SQLITE_OK) rc = stmt.step();
  if (rc == SQLITE_ROW) {
    size_t len = 0;
    const void* data = stmt.column_blob(0, &len);
    on_value(data, len);
    return KALAM_OK;
  }
  if (rc == SQLITE_DONE) return KALAM_NOT_FOUND;
  if (family.gone()) {
    return fail_dropped(family, err);
  }
  return fail_sqlite(
      err, conn.handle(), rc,
      kPrefix + "reading column family '" + family.name + "' of " + file_);
}

template <class Read>
int Database::with_reader(Snapshot* snapshot, Read&& read, Error& err) {
  if (snapshot != nullptr) {
    std::lock_guard<std::recursive_mutex> lock(snapshot->view->mutex());
    return read(snapshot->view->conn());
  }
  std::unique_ptr<Connection> conn;
  int rc = take_reader(&conn, err);
  if (rc != KALAM_OK) return rc;
  rc = read(*conn);
  return_reader(std::move(conn));
  return rc;
}

// ---------------------------------------------------------------------------
// Open and close

Database::~Database() {
  // Readers first: the last connection to close checkpoints the WAL.
  delete hot_reader_.exchange(nullptr);
  idle_readers_.clear();
  main_.reset();
  unlock_path();
}

namespace {
std::mutex& open_paths_mutex() {
  static std::mutex mutex;
  return mutex;
}
std::set<std::string>& open_paths() {
  static std::set<std::string> paths;
  return paths;
}
}  // namespace

int Database::lock_path(Error& err) {
  std::error_code ec;
  const fs::path canonical = fs::canonical(fs::path(dir_), ec);
  if (ec) {
    return fail(err, KALAM_IO_ERROR,
                kPrefix + "open: cannot resolve " + dir_ + ": " + ec.message(),
                ec.value());
  }
  {
    std::lock_guard<std::mutex> lock(open_paths_mutex());
    if (!open_paths().insert(canonical.string()).second) {
      return fail(err, KALAM_BUSY,
                  kPrefix + "open: " + dir_ +
                      " is already open in this process; use the open "
                      "handle, or close it first");
    }
  }
  claimed_path_ = canonical.string();
  const std::string file = claimed_path_ + "/" + kLockFileName;
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 && read_only_) fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    // A read-only directory: nobody can write there, nothing to exclude.
    if (read_only_ && (e == EROFS || e == EACCES || e == ENOENT)) {
      return KALAM_OK;
    }
    return fail(err, KALAM_IO_ERROR,
                kPrefix + "open: cannot open the lock file " + file + ": " +
                    std::strerror(e),
                e);
  }
  if (::flock(fd, (read_only_ ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
    const int e = errno;
    ::close(fd);
    if (e == EWOULDBLOCK) {
      return fail(err, KALAM_BUSY,
                  kPrefix + "open: " + dir_ + " is open in another process" +
                      (read_only_ ? " for writing" : "") +
                      "; close it there first (this plugin does not declare "
                      "KALAM_CAP_MULTI_PROCESS)",
                  e);
    }
    return fail(err, KALAM_IO_ERROR,
                kPrefix + "open: cannot lock " + file + ": " + std::strerror(e),
                e);
  }
  lock_fd_ = fd;
  return KALAM_OK;
}

void Database::unlock_path() noexcept {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
  lock_fd_ = -1;
  if (claimed_path_.empty()) return;
  std::lock_guard<std::mutex> lock(open_paths_mutex());
  open_paths().erase(claimed_path_);
  claimed_path_.clear();
}

int Database::open(const kalam_open_params& params,
                   std::unique_ptr<Database>* out, Error& err) {
  std::unique_ptr<Database> db(new Database());
  const int rc = db->open_files(params, err);
  if (rc != KALAM_OK) return rc;
  *out = std::move(db);
  return KALAM_OK;
}

int Database::open_files(const kalam_open_params& params, Error& err) {
  if (params.path == nullptr || params.path[0] == '\0') {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + "open: params->path is NULL or empty");
  }
  const uint32_t known = KALAM_OPEN_CREATE_IF_MISSING | KALAM_OPEN_READ_ONLY;
  if ((params.flags & ~known) != 0) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + "open: unknown flag bits " +
                    std::to_string(params.flags & ~known) +
                    " in params->flags");
  }
  int rc = parse_options(params, &options_, err);
  if (rc != KALAM_OK) return rc;
  if (sqlite3_threadsafe() == 0) {
    return fail(err, KALAM_INTERNAL,
                kPrefix + "libsqlite3 " + sqlite3_libversion() +
                    " was built with SQLITE_THREADSAFE=0; the plugin needs a "
                    "thread-safe build");
  }
  read_only_ = (params.flags & KALAM_OPEN_READ_ONLY) != 0;
  const bool create =
      (params.flags & KALAM_OPEN_CREATE_IF_MISSING) != 0 && !read_only_;

  // Absolute, so that SQLite never reads the name as a "file:" URI.
  std::error_code ec;
  fs::path dir = fs::absolute(fs::path(params.path), ec).lexically_normal();
  if (!dir.has_filename() && dir.has_parent_path()) dir = dir.parent_path();
  if (ec) {
    return fail(err, KALAM_IO_ERROR,
                kPrefix + "open: cannot make " + params.path +
                    " absolute: " + ec.message(),
                ec.value());
  }
  dir_ = dir.string();
  file_ = (dir / kDatabaseFileName).string();

  bool created_dir = false;
  const fs::file_status dir_status = fs::status(dir, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return fail(err, KALAM_IO_ERROR,
                kPrefix + "open: cannot access " + dir_ + ": " + ec.message(),
                ec.value());
  }
  if (!fs::exists(dir_status)) {
    if (!create) {
      return fail(err, KALAM_NOT_FOUND,
                  kPrefix + "no database at " + dir_ +
                      " (no such directory); open with "
                      "KALAM_OPEN_CREATE_IF_MISSING to create one");
    }
    fs::create_directories(dir, ec);
    if (ec) {
      return fail(err, KALAM_IO_ERROR,
                  kPrefix + "open: cannot create directory " + dir_ + ": " +
                      ec.message(),
                  ec.value());
    }
    created_dir = true;
  } else if (!fs::is_directory(dir_status)) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + "open: " + dir_ +
                    " is not a directory; the path must name the data "
                    "directory");
  }
  const bool file_exists = fs::exists(fs::path(file_), ec);
  if (ec) {
    return fail(err, KALAM_IO_ERROR,
                kPrefix + "open: cannot access " + file_ + ": " + ec.message(),
                ec.value());
  }
  if (!file_exists && !create) {
    return fail(err, KALAM_NOT_FOUND,
                kPrefix + "no database in " + dir_ + " (no " +
                    kDatabaseFileName +
                    "); open with KALAM_OPEN_CREATE_IF_MISSING to create one");
  }

  rc = lock_path(err);
  if (rc != KALAM_OK) return rc;

  const int main_flags =
      read_only_ ? SQLITE_OPEN_READONLY
                 : SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
  rc = Connection::open(file_, main_flags, options_, &main_, err);
  if (rc != KALAM_OK) return rc;
  if (!read_only_ && sqlite3_db_readonly(main_->handle(), "main") == 1) {
    return fail(err, KALAM_IO_ERROR,
                kPrefix + file_ +
                    " is write-protected; fix its permissions or open with "
                    "KALAM_OPEN_READ_ONLY");
  }
  length_limit_ = static_cast<uint64_t>(
      sqlite3_limit(main_->handle(), SQLITE_LIMIT_LENGTH, -1));
  if (length_limit_ < kMaxKeySize + kMaxValueSize + 64) {
    return fail(err, KALAM_INTERNAL,
                kPrefix + "libsqlite3 " + sqlite3_libversion() +
                    " limits a row to " + std::to_string(length_limit_) +
                    " bytes (SQLITE_MAX_LENGTH), below the key and value "
                    "sizes this plugin accepts; use a build with the default "
                    "limit (1000000000)");
  }

  bool empty = false;
  rc = check_schema(&empty, err);
  if (rc != KALAM_OK) return rc;
  if (empty && !create) {
    return fail(err, KALAM_NOT_FOUND,
                kPrefix + "the database file " + file_ +
                    " is empty; open with KALAM_OPEN_CREATE_IF_MISSING to "
                    "initialise it");
  }
  if (!read_only_) {
    if (empty) {
      // Takes effect when the first transaction creates the file's pages.
      rc = main_->exec("PRAGMA page_size = " +
                       std::to_string(options_.page_size));
      if (rc != SQLITE_OK) {
        return fail_sqlite(err, main_->handle(), rc,
                           kPrefix + "setting page_size on " + file_);
      }
    }
    std::string mode;
    rc = query_text(*main_, "PRAGMA journal_mode = WAL", &mode,
                    "switching " + file_ + " to WAL mode", err);
    if (rc != KALAM_OK) return rc;
    if (mode != "wal") {
      return fail(err, KALAM_IO_ERROR,
                  kPrefix + "cannot switch " + file_ +
                      " to WAL mode (journal_mode stays '" + mode +
                      "'); the file system must support shared memory "
                      "(mmap) and file locks");
    }
    // The baseline; write() switches to FULL for KALAM_WRITE_SYNC.
    rc = main_->exec("PRAGMA synchronous = NORMAL");
    if (rc != SQLITE_OK) {
      return fail_sqlite(err, main_->handle(), rc,
                         kPrefix + "setting synchronous on " + file_);
    }
    synchronous_full_ = false;
  }
  if (empty) {
    rc = initialize_schema(err);
    if (rc == KALAM_OK) rc = sync_path(dir_, "open", err);
    if (rc == KALAM_OK && created_dir) {
      rc = sync_path(dir.parent_path().string(), "open", err);
    }
    if (rc != KALAM_OK) return rc;
  } else if (options_.page_size_given) {
    int64_t page_size = 0;
    rc = query_int(*main_, "PRAGMA page_size", &page_size,
                   "reading the page size of " + file_, err);
    if (rc != KALAM_OK) return rc;
    if (page_size != options_.page_size) {
      log(KALAM_LOG_INFO,
          "option page_size=" + std::to_string(options_.page_size) +
              " ignored: " + file_ + " exists with pages of " +
              std::to_string(page_size) + " bytes");
    }
  }
  reader_flags_ = SQLITE_OPEN_READONLY;

  auto family = std::make_unique<Family>();
  family->db = this;
  family->id = 0;
  family->name = "default";
  family->table = "cf_0";
  family->sql_name = quote_identifier(family->table);
  default_family_ = family.get();
  families_.push_back(std::move(family));
  log(KALAM_LOG_INFO, std::string("opened ") + file_ +
                          (read_only_ ? " read-only" : "") + " with SQLite " +
                          sqlite3_libversion());
  return KALAM_OK;
}

int Database::check_schema(bool* empty, Error& err) {
  int64_t application_id = 0;
  int64_t user_version = 0;
  int64_t objects = 0;
  const std::string what = "reading the header of " + file_;
  int rc =
      query_int(*main_, "PRAGMA application_id", &application_id, what, err);
  if (rc == KALAM_OK) {
    rc = query_int(*main_, "PRAGMA user_version", &user_version, what, err);
  }
  if (rc == KALAM_OK) {
    rc = query_int(*main_, "SELECT count(*) FROM sqlite_schema", &objects, what,
                   err);
  }
  if (rc != KALAM_OK) return rc;
  *empty = application_id == 0 && user_version == 0 && objects == 0;
  if (*empty) return KALAM_OK;
  if (application_id != kApplicationId) {
    return fail(err, KALAM_CORRUPTION,
                kPrefix + file_ +
                    " is an SQLite database but not a Kalam one "
                    "(application_id " +
                    std::to_string(application_id) + ", expected " +
                    std::to_string(kApplicationId) +
                    "); point the path at a Kalam data directory");
  }
  if (user_version < kOldestFormatVersion || user_version > kFormatVersion) {
    return fail(err, KALAM_CORRUPTION,
                kPrefix + file_ + " has format version " +
                    std::to_string(user_version) +
                    "; this plugin reads formats " +
                    std::to_string(kOldestFormatVersion) + " to " +
                    std::to_string(kFormatVersion) +
                    (user_version > kFormatVersion
                         ? ": use the newer plugin that wrote it"
                         : ": the file is damaged"));
  }
  format_ = static_cast<uint32_t>(user_version);
  return KALAM_OK;
}

int Database::initialize_schema(Error& err) {
  int rc = set_synchronous(true, err);  // creation is durable
  if (rc != KALAM_OK) return rc;
  const std::string sql =
      "BEGIN IMMEDIATE;"
      "CREATE TABLE kalam_meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL)"
      " WITHOUT ROWID;"
      "INSERT INTO kalam_meta(key, value) VALUES ('next_family_id', 1),"
      " ('flush_count', 0);"
      "CREATE TABLE kalam_families(name TEXT PRIMARY KEY,"
      " id INTEGER NOT NULL UNIQUE, table_name TEXT NOT NULL UNIQUE)"
      " WITHOUT ROWID;"
      "INSERT INTO kalam_families(name, id, table_name)"
      " VALUES ('default', 0, 'cf_0');" +
      family_table_sql(kFormatVersion, "cf_0") +
      ";"
      "PRAGMA application_id = " +
      std::to_string(kApplicationId) +
      ";"
      "PRAGMA user_version = " +
      std::to_string(kFormatVersion) +
      ";"
      "COMMIT;";
  rc = main_->exec(sql);
  if (rc != SQLITE_OK) {
    fail_sqlite(err, main_->handle(), rc,
                kPrefix + "creating the database in " + file_);
    rollback();
    return err.code;
  }
  format_ = kFormatVersion;
  return KALAM_OK;
}

int Database::close(Error& err) {
  const int64_t iterators = live_iterators_.load();
  const int64_t snapshots = live_snapshots_.load();
  if (iterators > 0 || snapshots > 0) {
    return fail(err, KALAM_BUSY,
                kPrefix + "close: " + std::to_string(iterators) +
                    " iterator(s) and " + std::to_string(snapshots) +
                    " snapshot(s) of " + file_ +
                    " are still alive; destroy and release them first");
  }
  int result = flush(0, err);
  std::vector<std::unique_ptr<Connection>> readers = take_idle_readers();
  for (auto& reader : readers) {
    Error close_err;
    if (reader->close(close_err) != KALAM_OK && result == KALAM_OK) {
      result = close_err.code;
      err = std::move(close_err);
    }
  }
  readers.clear();
  if (main_ != nullptr) {
    Error close_err;
    if (main_->close(close_err) != KALAM_OK && result == KALAM_OK) {
      result = close_err.code;
      err = std::move(close_err);
    }
  }
  return result;
}

int Database::flush(uint32_t flags, Error& err) {
  if (flags != 0) {
    return fail(
        err, KALAM_INVALID_ARGUMENT,
        kPrefix + "flush: flags must be 0, got " + std::to_string(flags));
  }
  if (read_only_) return KALAM_OK;  // nothing was written
  std::lock_guard<std::mutex> lock(write_mutex_);
  if (unsynced_writes_) {
    // A commit with synchronous=FULL fsyncs the WAL, and with it every
    // commit appended before it. It has to write something to commit.
    int rc = set_synchronous(true, err);
    if (rc == KALAM_OK) {
      rc = run_cached(kBeginImmediate, "BEGIN IMMEDIATE", "flush", err);
    }
    if (rc == KALAM_OK) {
      Statement stmt;
      int src = main_->prepare_once(
          "UPDATE kalam_meta SET value = value + 1 WHERE key = 'flush_count'",
          &stmt);
      if (src == SQLITE_OK) src = stmt.step();
      if (src != SQLITE_DONE) {
        rc =
            fail_sqlite(err, main_->handle(), src,
                        kPrefix + "flush: writing the sync marker to " + file_);
      }
    }
    if (rc == KALAM_OK) rc = run_cached(kCommit, "COMMIT", "flush", err);
    if (rc != KALAM_OK) {
      rollback();
      return rc;
    }
    unsynced_writes_ = false;
  }
  // Move what the WAL holds into the database file where no reader needs it
  // (PASSIVE: never waits for readers).
  Statement stmt;
  int src = main_->prepare_once("PRAGMA wal_checkpoint(PASSIVE)", &stmt);
  if (src == SQLITE_OK) src = stmt.step();
  if (src != SQLITE_ROW && src != SQLITE_DONE &&
      map_sqlite_code(src) != KALAM_BUSY) {
    return fail_sqlite(err, main_->handle(), src,
                       kPrefix + "flush: checkpointing the WAL of " + file_ +
                           " (every write acknowledged before is committed "
                           "in the WAL and stays readable; only copying it "
                           "into the database file failed)");
  }
  return KALAM_OK;
}

// ---------------------------------------------------------------------------
// Writes (the write connection; REQUIRES write_mutex_)

// Ends the error of a write that failed with `rc` and returns the code the
// host gets. Before the commit (an op inside BEGIN ... COMMIT) the rollback
// undoes everything: "nothing was applied", code unchanged. A commit that
// failed on the disk (a failed WAL write, fsync or padding write) may have
// left a whole commit frame in the WAL: this connection does not see it,
// but SQLite's recovery finds it when the WAL is next opened without a
// checkpoint in between (a crash, or a close whose checkpoint failed on the
// same full disk), so the outcome is not known: KALAM_OUTCOME_UNKNOWN for a
// host of ABI 1.2 or later, the disk's code (NO_SPACE, IO_ERROR) for an
// older one, and a message that says so either way. Refusals that precede
// any write (busy, out of memory) applied nothing either way.
int Database::finish_failed_write(int rc, bool committing, Error& err) {
  const bool disk_failed =
      rc == KALAM_IO_ERROR || rc == KALAM_NO_SPACE || rc == KALAM_CORRUPTION;
  if (committing && disk_failed) {
    err.message +=
        "; the write may or may not have been applied (SQLite failed while "
        "committing it): read the keys back before retrying";
    err.code = kalam_plugin::outcome_unknown_or(rc);
    return err.code;
  }
  err.message += "; nothing was applied";
  return rc;
}

int Database::set_synchronous(bool full, Error& err) {
  if (synchronous_full_ == full) return KALAM_OK;
  const int rc = full ? run_cached(kSyncFull, "PRAGMA synchronous = FULL",
                                   "setting synchronous=FULL", err)
                      : run_cached(kSyncNormal, "PRAGMA synchronous = NORMAL",
                                   "setting synchronous=NORMAL", err);
  if (rc == KALAM_OK) synchronous_full_ = full;
  return rc;
}

int Database::run_cached(unsigned kind, const char* sql, const char* what,
                         Error& err) {
  return step_cached(*main_, kind, sql, SQLITE_DONE, what, file_, err);
}

void Database::rollback() noexcept {
  if (!main_->in_transaction()) return;
  try {
    Error err;
    run_cached(kRollback, "ROLLBACK", "rollback", err);
  } catch (...) {
  }
  if (main_->in_transaction()) {
    log(KALAM_LOG_ERROR, "could not roll back a failed transaction on " +
                             file_ + "; later writes may fail");
  }
}

int Database::resolve(kalam_cf* handle, Family** out, Error& err) {
  Family* family = handle == nullptr ? default_family_ : to_family(handle);
  if (family->db != this || family->dropped.load(std::memory_order_acquire))
      [[unlikely]] {
    return refuse_family(*family, err);
  }
  *out = family;
  return KALAM_OK;
}

int Database::refuse_family(const Family& family, Error& err) const {
  if (family.db != this) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix +
                    "the column family handle belongs to another "
                    "database than " +
                    file_);
  }
  return fail_dropped(family, err);
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
    return fail(
        err, KALAM_INVALID_ARGUMENT,
        kPrefix + "the snapshot belongs to another database than " + file_);
  }
  *out = snapshot;
  return KALAM_OK;
}

int Database::check_key(const void* key, size_t len, const char* what,
                        Error& err) const {
  if (kalam_plugin::null_with_length(key, len) || len > kMaxKeySize)
      [[unlikely]] {
    return refuse_key(key, len, what, err);
  }
  return KALAM_OK;
}

int Database::refuse_key(const void* key, size_t len, const char* what,
                         Error& err) const {
  if (kalam_plugin::null_with_length(key, len)) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + what + " is NULL with length " + std::to_string(len));
  }
  return fail(err, KALAM_INVALID_ARGUMENT,
              kPrefix + what + " has " + std::to_string(len) +
                  " bytes, over max_key_size (" + std::to_string(kMaxKeySize) +
                  ")");
}

int Database::write(const kalam_write_options* options,
                    const kalam_write_op* ops, size_t op_count, Error& err) {
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
  if (read_only_) {
    return fail(err, KALAM_NOT_SUPPORTED,
                kPrefix + "write: " + file_ + " is open read-only");
  }
  if (op_count == 0) return KALAM_OK;
  const bool sync = (options->flags & KALAM_WRITE_SYNC) != 0;

  int rc = check_ops(options->op_stride, ops, op_count, err);
  if (rc != KALAM_OK) return rc;

  std::lock_guard<std::mutex> lock(write_mutex_);
  rc = check_ops_not_dropped(options->op_stride, ops, op_count, err);
  if (rc != KALAM_OK) return rc;

  // One transaction: all or nothing. Every op is one statement, and SQLite
  // runs a statement outside BEGIN in a transaction of its own, rolled back
  // whole if it fails: a single op needs no BEGIN ... COMMIT around it.
  rc = set_synchronous(sync, err);
  if (rc != KALAM_OK) return rc;
  const bool one_statement = op_count == 1;
  if (!one_statement) {
    rc = run_cached(kBeginImmediate, "BEGIN IMMEDIATE", "write: begin", err);
  }
  for (size_t i = 0; i < op_count && rc == KALAM_OK; ++i) {
    rc = apply(*kalam_write_op_at(ops, options->op_stride, i), i, err);
  }
  // The single statement commits itself: its failure may be a failed commit.
  bool committing = one_statement;
  if (rc == KALAM_OK && !one_statement) {
    committing = true;
    rc = run_cached(kCommit, "COMMIT", "write: commit", err);
  }
  if (rc != KALAM_OK) {
    rollback();
    return finish_failed_write(rc, committing, err);
  }
  if (!sync) unsynced_writes_ = true;
  return KALAM_OK;
}

int Database::check_ops(uint32_t stride, const kalam_write_op* ops,
                        size_t op_count, Error& err) {
  // Validate everything before anything is applied, and before taking the
  // write mutex. Messages are built only on failure: a successful write
  // allocates no error-context strings.
  for (size_t i = 0; i < op_count; ++i) {
    const kalam_write_op& op = *kalam_write_op_at(ops, stride, i);
    auto where = [i] { return "write: op " + std::to_string(i); };
    if (op.type != KALAM_OP_PUT && op.type != KALAM_OP_DELETE &&
        op.type != KALAM_OP_DELETE_RANGE) {
      return fail(err, KALAM_INVALID_ARGUMENT,
                  kPrefix + where() + " has unknown type " +
                      std::to_string(op.type) + "; nothing was applied");
    }
    if (op.reserved0 != 0) {
      return fail(err, KALAM_INVALID_ARGUMENT,
                  kPrefix + where() +
                      ": reserved0 must be 0; nothing was "
                      "applied");
    }
    Family* family = nullptr;
    int rc = resolve(op.cf, &family, err);
    if (rc != KALAM_OK) {
      err.message = kPrefix + where() + ": " +
                    err.message.substr(kPrefix.size()) +
                    "; nothing was applied";
      return rc;
    }
    if (op.type == KALAM_OP_DELETE_RANGE) {
      // Range ends are bounds, not stored keys: any length SQLite can bind.
      if (kalam_plugin::null_with_length(op.key, op.key_len) ||
          kalam_plugin::null_with_length(op.value, op.value_len) ||
          op.key_len > length_limit_ || op.value_len > length_limit_) {
        return fail(err, KALAM_INVALID_ARGUMENT,
                    kPrefix + where() +
                        ": a range end is NULL with a length, or longer "
                        "than " +
                        std::to_string(length_limit_) +
                        " bytes; nothing was applied");
      }
      continue;
    }
    if (op.key_len == 0) {
      return fail(err, KALAM_INVALID_ARGUMENT,
                  kPrefix + where() +
                      ": the key is empty; a stored key has 1 to "
                      "max_key_size bytes; nothing was applied");
    }
    if (kalam_plugin::null_with_length(op.key, op.key_len) ||
        op.key_len > kMaxKeySize) {
      rc = check_key(op.key, op.key_len, (where() + ": key").c_str(), err);
      err.message += "; nothing was applied";
      return rc;
    }
    if (op.type == KALAM_OP_PUT) {
      if (kalam_plugin::null_with_length(op.value, op.value_len)) {
        return fail(err, KALAM_INVALID_ARGUMENT,
                    kPrefix + where() + ": value is NULL with length " +
                        std::to_string(op.value_len) + "; nothing was applied");
      }
      if (op.value_len > kMaxValueSize) {
        return fail(
            err, KALAM_INVALID_ARGUMENT,
            kPrefix + where() + ": value has " + std::to_string(op.value_len) +
                " bytes, over max_value_size (" +
                std::to_string(kMaxValueSize) + "); nothing was applied");
      }
    }
  }

  return KALAM_OK;
}

int Database::check_ops_not_dropped(uint32_t stride, const kalam_write_op* ops,
                                    size_t op_count, Error& err) {
  // A family may have been dropped (under write_mutex_) since validation.
  for (size_t i = 0; i < op_count; ++i) {
    const kalam_write_op& op = *kalam_write_op_at(ops, stride, i);
    if (op.cf != nullptr &&
        to_family(op.cf)->dropped.load(std::memory_order_acquire)) {
      Family* family = nullptr;
      const int rc = resolve(op.cf, &family, err);
      err.message = kPrefix + "write: op " + std::to_string(i) + ": " +
                    err.message.substr(kPrefix.size()) +
                    "; nothing was applied";
      return rc;
    }
  }

  return KALAM_OK;
}

int Database::check_write_call(const kalam_write_options* options,
                               const char* call, Error& err) {
  if (options == nullptr || !KALAM_PLUGIN_COVERS(options, op_stride)) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + call +
                    ": options is NULL or its struct_size does not cover "
                    "op_stride");
  }
  if ((options->flags & ~KALAM_WRITE_SYNC) != 0) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + call + ": unknown flag bits " +
                    std::to_string(options->flags & ~KALAM_WRITE_SYNC));
  }
  if (options->op_stride < sizeof(kalam_write_op)) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + call + ": op_stride " +
                    std::to_string(options->op_stride) +
                    " is smaller than kalam_write_op (" +
                    std::to_string(sizeof(kalam_write_op)) + " bytes)");
  }
  if (read_only_) {
    return fail(err, KALAM_NOT_SUPPORTED,
                kPrefix + call + ": " + file_ + " is open read-only");
  }
  return KALAM_OK;
}

// ABI 1.2: expectations are read inside the BEGIN IMMEDIATE transaction that
// applies the ops. BEGIN IMMEDIATE takes the database file's RESERVED lock,
// so no writer of this or any other process falls in between.
int Database::write_conditional(const kalam_write_options* options,
                                const kalam_expectation* expects,
                                size_t expect_count, const kalam_write_op* ops,
                                size_t op_count, Error& err) {
  int rc = check_write_call(options, "write_conditional", err);
  if (rc != KALAM_OK) return rc;
  {
    kalam_status detail{};
    detail.struct_size = sizeof detail;
    rc = kalam_plugin::check_expectations("sqlite", expects, expect_count,
                                          &detail);
    if (rc != KALAM_OK) return fail(err, rc, detail.message);
  }
  if (op_count > 0 && ops == nullptr) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + "write_conditional: ops is NULL with op_count " +
                    std::to_string(op_count));
  }
  std::vector<Family*> families(expect_count);
  for (size_t i = 0; i < expect_count; ++i) {
    rc = resolve(expects[i].cf, &families[i], err);
    if (rc != KALAM_OK) return rc;
    rc = check_key(expects[i].key, expects[i].key_len,
                   "write_conditional: expectation key", err);
    if (rc != KALAM_OK) return rc;
  }
  rc = check_ops(options->op_stride, ops, op_count, err);
  if (rc != KALAM_OK) return rc;

  std::lock_guard<std::mutex> lock(write_mutex_);
  for (size_t i = 0; i < expect_count; ++i) {
    rc = resolve(expects[i].cf, &families[i], err);
    if (rc != KALAM_OK) return rc;
  }
  rc = check_ops_not_dropped(options->op_stride, ops, op_count, err);
  if (rc != KALAM_OK) return rc;
  const bool sync = (options->flags & KALAM_WRITE_SYNC) != 0;
  rc = set_synchronous(sync, err);
  if (rc != KALAM_OK) return rc;
  rc = run_cached(kBeginImmediate, "BEGIN IMMEDIATE",
                  "write_conditional: begin", err);
  for (size_t i = 0; i < expect_count && rc == KALAM_OK; ++i) {
    const kalam_expectation& e = expects[i];
    bool holds = false;
    const int found = lookup(
        *main_, *families[i], e.key, e.key_len,
        [&](const void* value, size_t len) {
          holds = kalam_plugin::expectation_holds(e, true, value, len);
        },
        err);
    if (found == KALAM_NOT_FOUND) {
      holds = kalam_plugin::expectation_holds(e, false, nullptr, 0);
    } else if (found != KALAM_OK) {
      rc = found;
      break;
    }
    if (!holds) {
      rollback();
      kalam_status detail{};
      detail.struct_size = sizeof detail;
      kalam_plugin::conflict(&detail, "sqlite: write_conditional", i, e);
      return fail(err, KALAM_CONFLICT, detail.message, static_cast<int64_t>(i));
    }
  }
  for (size_t i = 0; i < op_count && rc == KALAM_OK; ++i) {
    rc = apply(*kalam_write_op_at(ops, options->op_stride, i), i, err);
  }
  bool committing = false;
  if (rc == KALAM_OK) {
    committing = true;
    rc = run_cached(kCommit, "COMMIT", "write_conditional: commit", err);
  }
  if (rc != KALAM_OK) {
    rollback();
    return finish_failed_write(rc, committing, err);
  }
  if (!sync && op_count > 0) unsynced_writes_ = true;
  return KALAM_OK;
}

// ABI 1.2: one BEGIN IMMEDIATE transaction reads the keys, runs the host's
// visitor (views into SQLite's row buffers, copied here because the next
// lookup reuses them) and applies what it returns.
int Database::read_modify_write(const kalam_write_options* options,
                                size_t count, kalam_cf* const* cfs,
                                const void* const* keys, const size_t* key_lens,
                                kalam_rmw_visitor visit, void* ctx,
                                Error& err) {
  int rc = check_write_call(options, "read_modify_write", err);
  if (rc != KALAM_OK) return rc;
  if (visit == nullptr ||
      (count > 0 && (keys == nullptr || key_lens == nullptr))) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix +
                    "read_modify_write: visit (and keys, key_lens when "
                    "count > 0) must not be NULL");
  }
  std::vector<Family*> families(count);
  for (size_t i = 0; i < count; ++i) {
    if (key_lens[i] == 0) {
      return fail(err, KALAM_INVALID_ARGUMENT,
                  kPrefix + "read_modify_write: key " + std::to_string(i) +
                      " is empty");
    }
    rc = check_key(keys[i], key_lens[i], "read_modify_write: key", err);
    if (rc != KALAM_OK) return rc;
  }
  std::lock_guard<std::mutex> lock(write_mutex_);
  for (size_t i = 0; i < count; ++i) {
    rc = resolve(cfs != nullptr ? cfs[i] : nullptr, &families[i], err);
    if (rc != KALAM_OK) return rc;
  }
  const bool sync = (options->flags & KALAM_WRITE_SYNC) != 0;
  rc = set_synchronous(sync, err);
  if (rc != KALAM_OK) return rc;
  rc = run_cached(kBeginImmediate, "BEGIN IMMEDIATE",
                  "read_modify_write: begin", err);
  if (rc != KALAM_OK) return rc;
  std::vector<std::string> values(count);
  std::vector<kalam_rmw_value> current(count);
  for (size_t i = 0; i < count; ++i) {
    const int found = lookup(
        *main_, *families[i], keys[i], key_lens[i],
        [&](const void* value, size_t len) {
          values[i].assign(static_cast<const char*>(value), len);
        },
        err);
    if (found != KALAM_OK && found != KALAM_NOT_FOUND) {
      rollback();
      return found;
    }
    current[i].code = found;
  }
  for (size_t i = 0; i < count; ++i) {
    if (current[i].code == KALAM_OK) {
      current[i].value = values[i].data();
      current[i].value_len = values[i].size();
    }
  }
  const kalam_write_op* ops = nullptr;
  size_t op_count = 0;
  if (visit(ctx, count, current.data(), &ops, &op_count) != 0 ||
      op_count == 0) {
    rollback();  // Cancelled, or nothing to write.
    return KALAM_OK;
  }
  rc = ops == nullptr ? fail(err, KALAM_INVALID_ARGUMENT,
                             kPrefix +
                                 "read_modify_write: the visitor "
                                 "returned ops with a NULL array")
                      : check_ops(options->op_stride, ops, op_count, err);
  if (rc == KALAM_OK) {
    rc = check_ops_not_dropped(options->op_stride, ops, op_count, err);
  }
  for (size_t i = 0; i < op_count && rc == KALAM_OK; ++i) {
    rc = apply(*kalam_write_op_at(ops, options->op_stride, i), i, err);
  }
  bool committing = false;
  if (rc == KALAM_OK) {
    committing = true;
    rc = run_cached(kCommit, "COMMIT", "read_modify_write: commit", err);
  }
  if (rc != KALAM_OK) {
    rollback();
    return finish_failed_write(rc, committing, err);
  }
  if (!sync) unsynced_writes_ = true;
  return KALAM_OK;
}

int Database::apply(const kalam_write_op& op, size_t index, Error& err) {
  Family* family = op.cf == nullptr ? default_family_ : to_family(op.cf);
  Statement stmt;
  int rc = SQLITE_OK;
  switch (op.type) {
    case KALAM_OP_PUT:
      rc = main_->lease(
          statement_key(family->id, kPut),
          [this, family] { return put_sql(format_, family->sql_name); }, &stmt);
      if (rc == SQLITE_OK) rc = stmt.bind_blob(1, op.key, op.key_len);
      if (rc == SQLITE_OK) rc = stmt.bind_blob(2, op.value, op.value_len);
      break;
    case KALAM_OP_DELETE:
      rc = main_->lease(
          statement_key(family->id, kDelete),
          [family] {
            return "DELETE FROM " + family->sql_name + " WHERE key = ?1";
          },
          &stmt);
      if (rc == SQLITE_OK) rc = stmt.bind_blob(1, op.key, op.key_len);
      break;
    default:  // KALAM_OP_DELETE_RANGE
      if (compare_bytes(op.key, op.key_len, op.value, op.value_len) >= 0) {
        return KALAM_OK;  // empty or reversed: removes nothing
      }
      rc = main_->lease(
          statement_key(family->id, kDeleteRange),
          [family] {
            return "DELETE FROM " + family->sql_name +
                   " WHERE key >= ?1 AND key < ?2";
          },
          &stmt);
      if (rc == SQLITE_OK) rc = stmt.bind_blob(1, op.key, op.key_len);
      if (rc == SQLITE_OK) rc = stmt.bind_blob(2, op.value, op.value_len);
      break;
  }
  // Every use binds all of the statement's parameters before it steps.
  stmt.keep_bindings();
  if (rc == SQLITE_OK) rc = stmt.step();
  if (rc != SQLITE_DONE) {
    static const char* const kNames[] = {"", "PUT", "DELETE", "DELETE_RANGE"};
    return fail_sqlite(err, main_->handle(), rc,
                       kPrefix + "write: op " + std::to_string(index) + " (" +
                           kNames[op.type] + " in column family '" +
                           family->name + "' of " + file_ + ")");
  }
  return KALAM_OK;
}

// ---------------------------------------------------------------------------
// Column families

int Database::cf_open(const char* name, uint32_t flags, kalam_cf** out,
                      Error& err) {
  if (out == nullptr || name == nullptr || name[0] == '\0') {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + "cf_open: name is NULL or empty, or out_cf is NULL");
  }
  if ((flags & ~KALAM_CF_CREATE_IF_MISSING) != 0) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + "cf_open: unknown flag bits " +
                    std::to_string(flags & ~KALAM_CF_CREATE_IF_MISSING));
  }
  const std::string family_name(name);
  if (family_name == "default") {
    *out = nullptr;
    return KALAM_OK;
  }
  std::lock_guard<std::mutex> lock(write_mutex_);
  auto it = families_by_name_.find(family_name);
  if (it != families_by_name_.end()) {
    *out = to_cf_handle(it->second);
    return KALAM_OK;
  }
  Family* family = nullptr;
  int rc = load_family(family_name, &family, err);
  if (rc == KALAM_NOT_FOUND) {
    if ((flags & KALAM_CF_CREATE_IF_MISSING) == 0) {
      return fail(
          err, KALAM_NOT_FOUND,
          kPrefix + "no column family '" + family_name + "' in " + file_);
    }
    if (read_only_) {
      return fail(err, KALAM_NOT_SUPPORTED,
                  kPrefix + "cf_open: cannot create column family '" +
                      family_name + "': " + file_ + " is open read-only");
    }
    rc = create_family(family_name, &family, err);
  }
  if (rc != KALAM_OK) return rc;
  *out = to_cf_handle(family);
  return KALAM_OK;
}

int Database::load_family(const std::string& name, Family** out, Error& err) {
  Statement stmt;
  int rc = main_->prepare_once(
      "SELECT id, table_name FROM kalam_families WHERE name = ?1", &stmt);
  if (rc == SQLITE_OK) rc = stmt.bind_text(1, name);
  if (rc == SQLITE_OK) rc = stmt.step();
  if (rc == SQLITE_DONE) return KALAM_NOT_FOUND;
  if (rc != SQLITE_ROW) {
    return fail_sqlite(err, main_->handle(), rc,
                       kPrefix + "cf_open: looking up column family '" + name +
                           "' in " + file_);
  }
  auto family = std::make_unique<Family>();
  family->db = this;
  family->id = static_cast<uint64_t>(stmt.column_int64(0));
  const unsigned char* table = sqlite3_column_text(stmt.get(), 1);
  family->name = name;
  family->table = table != nullptr ? reinterpret_cast<const char*>(table) : "";
  family->sql_name = quote_identifier(family->table);
  *out = family.get();
  families_.push_back(std::move(family));
  families_by_name_[name] = *out;
  return KALAM_OK;
}

int Database::create_family(const std::string& name, Family** out, Error& err) {
  int rc = set_synchronous(true, err);  // creation is durable
  if (rc == KALAM_OK) {
    rc = run_cached(kBeginImmediate, "BEGIN IMMEDIATE", "cf_open: begin", err);
  }
  const std::string what =
      "cf_open: creating column family '" + name + "' in " + file_;
  if (rc == KALAM_OK) {
    // Another handle on this file may have created it meanwhile: the write
    // lock is held now, so this answer stands.
    Statement stmt;
    int src = main_->prepare_once(
        "SELECT 1 FROM kalam_families WHERE name = ?1", &stmt);
    if (src == SQLITE_OK) src = stmt.bind_text(1, name);
    if (src == SQLITE_OK) src = stmt.step();
    if (src == SQLITE_ROW) {
      stmt.release();
      rollback();
      return load_family(name, out, err);
    }
    if (src != SQLITE_DONE) {
      rc = fail_sqlite(err, main_->handle(), src, kPrefix + what);
    }
  }
  int64_t id = 0;
  if (rc == KALAM_OK) {
    rc = query_int(*main_,
                   "SELECT value FROM kalam_meta WHERE key = 'next_family_id'",
                   &id, what, err);
  }
  const std::string table = "cf_" + std::to_string(id);
  auto run = [&](const std::string& sql, bool bind) {
    if (rc != KALAM_OK) return;
    Statement stmt;
    int src = main_->prepare_once(sql, &stmt);
    if (src == SQLITE_OK && bind) src = stmt.bind_text(1, name);
    if (src == SQLITE_OK && bind) src = stmt.bind_int64(2, id);
    if (src == SQLITE_OK && bind) src = stmt.bind_text(3, table);
    if (src == SQLITE_OK) src = stmt.step();
    if (src != SQLITE_DONE) {
      rc = fail_sqlite(err, main_->handle(), src, kPrefix + what);
    }
  };
  run("UPDATE kalam_meta SET value = value + 1 WHERE key = 'next_family_id'",
      false);
  run("INSERT INTO kalam_families(name, id, table_name) VALUES (?1, ?2, ?3)",
      true);
  // In the file's own format: a database keeps one layout throughout.
  run(family_table_sql(format_, quote_identifier(table)), false);
  if (rc == KALAM_OK)
    rc = run_cached(kCommit, "COMMIT", "cf_open: commit", err);
  if (rc != KALAM_OK) {
    rollback();
    return rc;
  }
  auto family = std::make_unique<Family>();
  family->db = this;
  family->id = static_cast<uint64_t>(id);
  family->name = name;
  family->table = table;
  family->sql_name = quote_identifier(table);
  *out = family.get();
  families_.push_back(std::move(family));
  families_by_name_[name] = *out;
  return KALAM_OK;
}

int Database::cf_drop(kalam_cf* cf, Error& err) {
  if (cf == nullptr) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix +
                    "cf_drop: the default column family cannot be "
                    "dropped");
  }
  Family* family = to_family(cf);
  if (family->db != this) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix +
                    "cf_drop: the column family handle belongs to "
                    "another database than " +
                    file_);
  }
  std::lock_guard<std::mutex> lock(write_mutex_);
  if (family->dropped.load()) {
    return fail(err, KALAM_DROPPED,
                kPrefix + "cf_drop: column family '" + family->name +
                    "' was already dropped");
  }
  if (read_only_) {
    return fail(err, KALAM_NOT_SUPPORTED,
                kPrefix + "cf_drop: " + file_ + " is open read-only");
  }
  main_->forget_family(family->id);
  const std::string what =
      "cf_drop: dropping column family '" + family->name + "' of " + file_;
  int rc = set_synchronous(true, err);  // dropping is durable
  if (rc == KALAM_OK) {
    rc = run_cached(kBeginImmediate, "BEGIN IMMEDIATE", "cf_drop: begin", err);
  }
  auto run = [&](const std::string& sql) {
    if (rc != KALAM_OK) return;
    Statement stmt;
    int src = main_->prepare_once(sql, &stmt);
    if (src == SQLITE_OK) src = stmt.step();
    if (src != SQLITE_DONE) {
      rc = fail_sqlite(err, main_->handle(), src, kPrefix + what);
    }
  };
  family->dropping.store(true, std::memory_order_release);
  run("DELETE FROM kalam_families WHERE id = " + std::to_string(family->id));
  run("DROP TABLE " + family->sql_name);
  if (rc == KALAM_OK)
    rc = run_cached(kCommit, "COMMIT", "cf_drop: commit", err);
  if (rc != KALAM_OK) {
    rollback();
    family->dropping.store(false, std::memory_order_release);
    return rc;
  }
  family->dropped.store(true, std::memory_order_release);
  families_by_name_.erase(family->name);
  return KALAM_OK;
}

int Database::cf_list(kalam_name_visitor visit, void* ctx, Error& err) {
  if (visit == nullptr) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + "cf_list: visit is NULL");
  }
  return with_reader(
      nullptr,
      [&](Connection& conn) {
        Statement stmt;
        int rc = conn.prepare_once("SELECT name FROM kalam_families", &stmt);
        while (rc == SQLITE_OK || rc == SQLITE_ROW) {
          rc = stmt.step();
          if (rc == SQLITE_ROW) {
            visit(ctx, reinterpret_cast<const char*>(
                           sqlite3_column_text(stmt.get(), 0)));
          }
        }
        if (rc != SQLITE_DONE) {
          return fail_sqlite(err, conn.handle(), rc,
                             kPrefix + "cf_list: reading " + file_);
        }
        return KALAM_OK;
      },
      err);
}

// ---------------------------------------------------------------------------
// Point reads

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
  if (value_len == nullptr || kalam_plugin::null_with_length(buf, buf_size)) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix +
                    "get_into: value_len is NULL, or buf is NULL with "
                    "buf_size " +
                    std::to_string(buf_size));
  }
  Family* family = nullptr;
  Snapshot* snapshot = nullptr;
  int rc = resolve(cf, &family, err);
  if (rc == KALAM_OK) rc = check_key(key, key_len, "get_into: key", err);
  if (rc == KALAM_OK) rc = snapshot_of(options, &snapshot, err);
  if (rc != KALAM_OK) return rc;
  size_t length = 0;
  bool fits = true;
  rc = with_reader(
      snapshot,
      [&](Connection& conn) {
        return lookup(
            conn, *family, key, key_len,
            [&](const void* data, size_t len) {
              length = len;
              fits = len <= buf_size;
              if (fits && len > 0) std::memcpy(buf, data, len);
            },
            err);
      },
      err);
  if (rc != KALAM_OK) return rc;
  *value_len = length;
  if (!fits) {
    return fail(err, KALAM_BUFFER_TOO_SMALL,
                kPrefix + "get_into: the value has " + std::to_string(length) +
                    " bytes but the buffer holds " + std::to_string(buf_size) +
                    "; retry with a buffer of *value_len bytes");
  }
  return KALAM_OK;
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
  // One read transaction for every key: the snapshot's, or a fresh one.
  std::shared_ptr<ReadView> view;
  if (snapshot != nullptr) {
    view = snapshot->view;
  } else {
    rc = begin_view(&view, err);
    if (rc != KALAM_OK) return rc;
  }
  std::lock_guard<std::recursive_mutex> lock(view->mutex());
  for (size_t i = 0; i < count; ++i) {
    Family* family = nullptr;
    Error key_err;
    int code = resolve(cfs != nullptr ? cfs[i] : nullptr, &family, key_err);
    if (code == KALAM_OK) {
      code = check_key(keys[i], key_lens[i], "multi_get: key", key_err);
    }
    if (code != KALAM_OK) {
      visit(ctx, i, code, nullptr, 0);
      continue;
    }
    code = lookup(
        view->conn(), *family, keys[i], key_lens[i],
        [&](const void* data, size_t len) {
          visit(ctx, i, KALAM_OK, data, len);
        },
        err);
    if (code == KALAM_NOT_FOUND || code == KALAM_DROPPED) {
      // DROPPED: a cf_drop() raced this read; like a family dropped before.
      visit(ctx, i, code, nullptr, 0);
    } else if (code != KALAM_OK) {
      return code;  // a storage failure fails the whole call
    }
  }
  return KALAM_OK;
}

// ---------------------------------------------------------------------------
// Snapshots and iterators

int Database::snapshot_create(kalam_snapshot** out, Error& err) {
  if (out == nullptr) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + "snapshot_create: out_snapshot is NULL");
  }
  auto snapshot = std::make_unique<Snapshot>();
  snapshot->db = this;
  const int rc = begin_view(&snapshot->view, err);
  if (rc != KALAM_OK) return rc;
  live_snapshots_.fetch_add(1);
  *out = reinterpret_cast<kalam_snapshot*>(snapshot.release());
  return KALAM_OK;
}

void Database::snapshot_release(kalam_snapshot* handle) noexcept {
  if (handle == nullptr) return;
  delete to_snapshot(handle);  // the view ends with its last user
  live_snapshots_.fetch_sub(1);
}

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
  Snapshot* snapshot = nullptr;
  if (options != nullptr) {
    if (!KALAM_PLUGIN_COVERS(options, upper_len)) {
      return fail(err, KALAM_INVALID_ARGUMENT,
                  kPrefix + "iter_create: options->struct_size (" +
                      std::to_string(options->struct_size) +
                      ") is smaller than kalam_iter_options of ABI 1.0");
    }
    const uint32_t known = KALAM_ITER_LOWER_BOUND | KALAM_ITER_UPPER_BOUND |
                           KALAM_ITER_PREFIX | KALAM_ITER_REVERSE;
    if ((options->flags & ~known) != 0) {
      return fail(err, KALAM_INVALID_ARGUMENT,
                  kPrefix + "iter_create: unknown flag bits " +
                      std::to_string(options->flags & ~known));
    }
    if (options->snapshot != nullptr) {
      snapshot = to_snapshot(options->snapshot);
      if (snapshot->db != this) {
        return fail(err, KALAM_INVALID_ARGUMENT,
                    kPrefix +
                        "iter_create: the snapshot belongs to another "
                        "database than " +
                        file_);
      }
    }
    auto take = [&](const void* data, size_t len, const char* what,
                    std::string* into) {
      if (kalam_plugin::null_with_length(data, len) || len > length_limit_) {
        return fail(err, KALAM_INVALID_ARGUMENT,
                    kPrefix + "iter_create: " + what +
                        " is NULL with a length, or longer than " +
                        std::to_string(length_limit_) + " bytes");
      }
      into->assign(static_cast<const char*>(data), len);
      return KALAM_OK;
    };
    if ((options->flags & KALAM_ITER_LOWER_BOUND) != 0) {
      rc = take(options->lower, options->lower_len, "lower bound",
                &bounds.lower);
      if (rc != KALAM_OK) return rc;
      bounds.has_lower = true;
    }
    if ((options->flags & KALAM_ITER_UPPER_BOUND) != 0) {
      rc = take(options->upper, options->upper_len, "upper bound",
                &bounds.upper);
      if (rc != KALAM_OK) return rc;
      bounds.has_upper = true;
    }
    // The host narrows the bounds to the prefix already; doing it here too
    // keeps a direct ABI user correct.
    if ((options->flags & KALAM_ITER_PREFIX) != 0 &&
        KALAM_PLUGIN_COVERS(options, prefix_len)) {
      std::string prefix;
      rc = take(options->prefix, options->prefix_len, "prefix", &prefix);
      if (rc != KALAM_OK) return rc;
      if (!bounds.has_lower ||
          compare_bytes(bounds.lower.data(), bounds.lower.size(), prefix.data(),
                        prefix.size()) < 0) {
        bounds.lower = prefix;
        bounds.has_lower = true;
      }
      // The first key after every prefixed one, if there is one.
      if (auto end = kalam_plugin::prefix_successor(prefix)) {
        if (!bounds.has_upper ||
            compare_bytes(end->data(), end->size(), bounds.upper.data(),
                          bounds.upper.size()) < 0) {
          bounds.upper = std::move(*end);
          bounds.has_upper = true;
        }
      }
    }
  }
  std::shared_ptr<ReadView> view;
  if (snapshot != nullptr) {
    view = snapshot->view;
  } else {
    rc = begin_view(&view, err);  // the iterator's implicit snapshot
    if (rc != KALAM_OK) return rc;
  }
  auto iter = std::make_unique<Iterator>(this, family, std::move(view),
                                         std::move(bounds));
  live_iterators_.fetch_add(1);
  *out = reinterpret_cast<kalam_iter*>(iter.release());
  return KALAM_OK;
}

// ---------------------------------------------------------------------------
// Properties and checkpoints

int Database::get_property(kalam_cf* cf, const char* name,
                           kalam_value_visitor visit, void* ctx, Error& err) {
  if (name == nullptr || visit == nullptr) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + "get_property: name or visit is NULL");
  }
  Family* family = nullptr;
  int rc = resolve(cf, &family, err);
  if (rc != KALAM_OK) return rc;
  const std::string_view property(name);
  std::string text;
  if (property == KALAM_PROPERTY_ESTIMATE_NUM_KEYS) {
    rc = with_reader(
        nullptr,
        [&](Connection& conn) {
          int64_t count = 0;
          const int code =
              query_int(conn, "SELECT count(*) FROM " + family->sql_name,
                        &count, "get_property: counting keys", err);
          text = std::to_string(count);
          return code;
        },
        err);
  } else if (property == KALAM_PROPERTY_APPROXIMATE_BYTES) {
    rc = with_reader(
        nullptr,
        [&](Connection& conn) {
          // The family's own pages (its table's and, in format 2, its key
          // index's), where SQLite has the dbstat table.
          Statement stmt;
          int src = conn.prepare_once(
              "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE aggregate = 1"
              " AND name IN (SELECT name FROM sqlite_schema"
              " WHERE tbl_name = ?1)",
              &stmt);
          if (src == SQLITE_OK) src = stmt.bind_text(1, family->table);
          if (src == SQLITE_OK) src = stmt.step();
          if (src == SQLITE_ROW || src == SQLITE_DONE) {
            text = std::to_string(src == SQLITE_ROW ? stmt.column_int64(0) : 0);
            return KALAM_OK;
          }
          // Else the whole file.
          stmt.release();
          int64_t pages = 0;
          int64_t page_size = 0;
          int code = query_int(conn, "PRAGMA page_count", &pages,
                               "get_property: reading the size", err);
          if (code == KALAM_OK) {
            code = query_int(conn, "PRAGMA page_size", &page_size,
                             "get_property: reading the size", err);
          }
          text = std::to_string(pages * page_size);
          return code;
        },
        err);
  } else if (property == KALAM_PROPERTY_STATS) {
    rc = with_reader(
        nullptr,
        [&](Connection& conn) {
          int64_t page_size = 0, pages = 0, free_pages = 0, families = 0;
          const std::string what = "get_property: reading statistics";
          int code = query_int(conn, "PRAGMA page_size", &page_size, what, err);
          if (code == KALAM_OK) {
            code = query_int(conn, "PRAGMA page_count", &pages, what, err);
          }
          if (code == KALAM_OK) {
            code = query_int(conn, "PRAGMA freelist_count", &free_pages, what,
                             err);
          }
          if (code == KALAM_OK) {
            code = query_int(conn, "SELECT count(*) FROM kalam_families",
                             &families, what, err);
          }
          size_t idle = 0;
          {
            std::lock_guard<std::mutex> lock(pool_mutex_);
            idle = idle_readers_.size();
          }
          if (hot_reader_.load(std::memory_order_acquire) != nullptr) ++idle;
          text = "SQLite " + std::string(sqlite3_libversion()) + "\n" +
                 "file: " + file_ + (read_only_ ? " (read-only)" : "") + "\n" +
                 "column family: " + family->name + " (table " + family->table +
                 ")\n" + "column families: " + std::to_string(families) + "\n" +
                 "page size: " + std::to_string(page_size) + "\n" +
                 "pages: " + std::to_string(pages) + " (" +
                 std::to_string(free_pages) + " free)\n" +
                 "file bytes: " + std::to_string(pages * page_size) + "\n" +
                 "idle read connections: " + std::to_string(idle) + "\n" +
                 "live iterators: " + std::to_string(live_iterators_.load()) +
                 "\n" +
                 "live snapshots: " + std::to_string(live_snapshots_.load()) +
                 "\n";
          return code;
        },
        err);
  } else {
    return KALAM_NOT_FOUND;
  }
  if (rc != KALAM_OK) return rc;
  visit(ctx, text.data(), text.size());
  return KALAM_OK;
}

int Database::checkpoint(const char* path, Error& err) {
  if (path == nullptr || path[0] == '\0') {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + "checkpoint: path is NULL or empty");
  }
  std::error_code ec;
  fs::path dir = fs::absolute(fs::path(path), ec).lexically_normal();
  if (!dir.has_filename() && dir.has_parent_path()) dir = dir.parent_path();
  if (ec) {
    return fail(err, KALAM_IO_ERROR,
                kPrefix + "checkpoint: cannot make " + path +
                    " absolute: " + ec.message(),
                ec.value());
  }
  const std::string dir_name = dir.string();
  if (fs::exists(fs::symlink_status(dir, ec))) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + "checkpoint: " + dir_name +
                    " already exists; give a path that does not exist yet");
  }
  const fs::path parent = dir.parent_path();
  fs::create_directories(parent, ec);
  if (!ec && !fs::create_directory(dir, ec) && !ec) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + "checkpoint: " + dir_name +
                    " already exists; give a path that does not exist yet");
  }
  if (ec) {
    return fail(err, KALAM_IO_ERROR,
                kPrefix + "checkpoint: cannot create directory " + dir_name +
                    ": " + ec.message(),
                ec.value());
  }
  const std::string copy = (dir / kDatabaseFileName).string();
  // VACUUM INTO writes a consistent copy as of one read transaction, on a
  // read connection, so writers go on meanwhile. It does not fsync.
  int rc = with_reader(
      nullptr,
      [&](Connection& conn) {
        Statement stmt;
        int src = conn.prepare_once("VACUUM INTO ?1", &stmt);
        if (src == SQLITE_OK) src = stmt.bind_text(1, copy);
        if (src == SQLITE_OK) src = stmt.step();
        if (src != SQLITE_DONE) {
          return fail_sqlite(
              err, conn.handle(), src,
              kPrefix + "checkpoint: copying " + file_ + " into " + copy);
        }
        return KALAM_OK;
      },
      err);
  if (rc == KALAM_OK) rc = sync_path(copy, "checkpoint", err);
  if (rc == KALAM_OK) rc = sync_path(dir_name, "checkpoint", err);
  if (rc == KALAM_OK) rc = sync_path(parent.string(), "checkpoint", err);
  if (rc != KALAM_OK) {
    fs::remove_all(dir, ec);  // leave no half-made checkpoint behind
  }
  return rc;
}

}  // namespace kalam::sqlite_plugin
