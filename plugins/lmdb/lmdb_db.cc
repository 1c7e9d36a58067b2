// Database-level entry points: open, close, flush, column families,
// properties and checkpoint; plus the helpers the other files share.
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <set>

#include "lmdb_plugin.h"
#include "lmdb_status.h"

namespace kalam_lmdb {
namespace {

namespace fs = std::filesystem;

// The file in the data directory that other processes are kept out with.
constexpr const char* kLockFileName = "kalam_lmdb.lock";

std::atomic<uint64_t> g_next_db_id{1};

// Canonical paths of the databases open in this process (LMDB must not have
// the same environment open twice in one process).
std::mutex& open_paths_mutex() {
  static std::mutex m;
  return m;
}
std::set<std::string>& open_paths() {
  static std::set<std::string> paths;
  return paths;
}

// Claims a canonical path in the process-wide registry; gives it back on
// destruction unless kept.
class PathClaim {
 public:
  bool claim(const std::string& path) {
    std::lock_guard<std::mutex> lock(open_paths_mutex());
    if (!open_paths().insert(path).second) return false;
    path_ = path;
    return true;
  }
  void keep() { path_.clear(); }
  ~PathClaim() {
    if (!path_.empty()) release(path_);
  }
  static void release(const std::string& path) noexcept {
    try {
      std::lock_guard<std::mutex> lock(open_paths_mutex());
      open_paths().erase(path);
    } catch (...) {
    }
  }

 private:
  std::string path_;
};

// Owns an environment until handed to the kalam_db.
class EnvGuard {
 public:
  ~EnvGuard() {
    if (env_ != nullptr) mdb_env_close(env_);
  }
  MDB_env** out() { return &env_; }
  MDB_env* get() const { return env_; }
  MDB_env* release() {
    MDB_env* e = env_;
    env_ = nullptr;
    return e;
  }

 private:
  MDB_env* env_ = nullptr;
};

// Owns a file descriptor.
class FdGuard {
 public:
  ~FdGuard() {
    if (fd_ >= 0) ::close(fd_);
  }
  int& fd() { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }

 private:
  int fd_ = -1;
};

// Takes the inter-process lock: exclusive for a writer, shared for a
// read-only open (several read-only processes may share a path).
int take_process_lock(const std::string& dir, bool read_only, int* out_fd,
                      kalam_status* status) {
  const std::string file = dir + "/" + kLockFileName;
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 && read_only) fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (read_only && (err == EROFS || err == EACCES || err == ENOENT)) {
      // A read-only directory: nobody can write there, nothing to exclude.
      *out_fd = -1;
      return KALAM_OK;
    }
    return fail(status, code_of(err), err, "lmdb open: cannot open '%s': %s",
                file.c_str(), std::strerror(err));
  }
  if (::flock(fd, (read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return fail(status, KALAM_BUSY, err,
                  "lmdb open: '%s' is open in another process%s; close it "
                  "there first (this plugin does not declare "
                  "KALAM_CAP_MULTI_PROCESS)",
                  dir.c_str(), read_only ? " for writing" : "");
    }
    return fail(status, KALAM_IO_ERROR, err, "lmdb open: cannot lock '%s': %s",
                file.c_str(), std::strerror(err));
  }
  *out_fd = fd;
  return KALAM_OK;
}

// Adds a live family handle. REQUIRES: cf_mu exclusive (or open()).
kalam_cf* add_family(kalam_db* db, const std::string& name, MDB_dbi dbi) {
  auto cf = std::make_unique<kalam_cf>();
  cf->owner = db;
  cf->name = name;
  cf->dbi = dbi;
  db->families.reserve(db->families.size() + 1);
  kalam_cf* raw = cf.get();
  db->live_cfs[name] = raw;
  cf->seq = ++db->last_cf_seq;
  db->families.push_back(std::move(cf));
  return raw;
}

// Syncs after a commit that must be durable whatever the sync mode
// (KALAM_WRITE_SYNC writes, family creation and drop).
int sync_if_deferred(kalam_db* db) {
  if (db->options.sync_mode == SyncMode::kFull) return MDB_SUCCESS;
  return sync_env(db->env, 1);
}

// Opens a handle for every named database (= column family) in the
// environment, creating "default" in a new one. Every family is opened here
// so that snapshots and iterators, whose transactions only know the dbis
// open when they began, see every family that existed then.
int load_families(kalam_db* db, kalam_status* status) {
  std::vector<std::string> names;
  {
    TxnGuard txn;
    int rc = mdb_txn_begin(db->env, nullptr, MDB_RDONLY, txn.out());
    if (rc != 0) {
      return fail_mdb(status, rc,
                      "lmdb open '%s': cannot begin a read "
                      "transaction",
                      db->path.c_str());
    }
    MDB_dbi main_dbi;
    rc = mdb_dbi_open(txn.get(), nullptr, 0, &main_dbi);
    if (rc != 0) {
      return fail_mdb(status, rc,
                      "lmdb open '%s': cannot open the main "
                      "database",
                      db->path.c_str());
    }
    {
      CursorGuard cursor;
      rc = mdb_cursor_open(txn.get(), main_dbi, cursor.out());
      MDB_val key, value;
      if (rc == 0) rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_FIRST);
      while (rc == 0) {
        names.emplace_back(static_cast<const char*>(key.mv_data), key.mv_size);
        rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_NEXT);
      }
      if (rc != MDB_NOTFOUND) {
        return fail_mdb(status, rc,
                        "lmdb open '%s': cannot list the named "
                        "databases",
                        db->path.c_str());
      }
    }
    for (const std::string& name : names) {
      if (name.find('\0') != std::string::npos) {
        log(KALAM_LOG_WARN,
            "lmdb open '%s': ignoring a main-database key "
            "with a NUL byte (not a column family)",
            db->path.c_str());
        continue;
      }
      MDB_dbi dbi;
      rc = mdb_dbi_open(txn.get(), name.c_str(), 0, &dbi);
      if (rc == MDB_INCOMPATIBLE) {
        log(KALAM_LOG_WARN,
            "lmdb open '%s': ignoring main-database key '%s' "
            "(not a named database)",
            db->path.c_str(), name.c_str());
        continue;
      }
      if (rc != 0) {
        return fail_mdb(status, rc,
                        "lmdb open '%s': cannot open column "
                        "family '%s' (the database has %zu; max_dbs is %u)",
                        db->path.c_str(), name.c_str(), names.size(),
                        db->options.max_dbs);
      }
      add_family(db, name, dbi);
    }
    // Committing a read transaction publishes its dbis to the environment.
    rc = txn.commit();
    if (rc != 0) {
      return fail_mdb(status, rc,
                      "lmdb open '%s': cannot commit the "
                      "transaction that opened the column families",
                      db->path.c_str());
    }
  }
  auto it = db->live_cfs.find(kDefaultCfName);
  if (it == db->live_cfs.end()) {
    if (db->read_only) {
      return fail(status, KALAM_NOT_FOUND, 0,
                  "lmdb open '%s': the environment has no \"default\" "
                  "database (not a Kalam database, or never opened for "
                  "writing)",
                  db->path.c_str());
    }
    TxnGuard txn;
    int rc = mdb_txn_begin(db->env, nullptr, 0, txn.out());
    MDB_dbi dbi = 0;
    if (rc == 0) rc = mdb_dbi_open(txn.get(), kDefaultCfName, MDB_CREATE, &dbi);
    if (rc == 0) rc = txn.commit();
    if (rc == 0) rc = sync_if_deferred(db);
    if (rc != 0) {
      return fail_mdb(status, rc,
                      "lmdb open '%s': cannot create the "
                      "\"default\" column family",
                      db->path.c_str());
    }
    add_family(db, kDefaultCfName, dbi);
    it = db->live_cfs.find(kDefaultCfName);
  }
  db->default_cf = it->second;
  db->published_cf_seq.store(db->last_cf_seq, std::memory_order_release);
  return KALAM_OK;
}

// LMDB maps the file and trusts it: a data file shorter than the pages its
// meta page says are in use makes the first read past the end die with
// SIGBUS. Checked once at open (one stat), so a truncated file is
// KALAM_CORRUPTION instead.
int check_file_covers_pages(MDB_env* env, const std::string& data_file,
                            kalam_status* status) {
  MDB_envinfo info{};
  MDB_stat stat{};
  int rc = mdb_env_info(env, &info);
  if (rc == 0) rc = mdb_env_stat(env, &stat);
  if (rc != 0) {
    return fail_mdb(status, rc,
                    "lmdb open: cannot read the environment of '%s'",
                    data_file.c_str());
  }
  struct stat sb {};
  if (::stat(data_file.c_str(), &sb) != 0) {
    const int err = errno;
    return fail(status, code_of(err), err, "lmdb open: cannot stat '%s': %s",
                data_file.c_str(), std::strerror(err));
  }
  const uint64_t needed =
      (static_cast<uint64_t>(info.me_last_pgno) + 1) * stat.ms_psize;
  if (static_cast<uint64_t>(sb.st_size) < needed) {
    return fail(status, KALAM_CORRUPTION, 0,
                "lmdb open: '%s' is %llu bytes, but its meta page says %llu "
                "pages of %u bytes are in use (%llu bytes): the file was "
                "truncated; restore the database from a checkpoint or backup",
                data_file.c_str(), static_cast<unsigned long long>(sb.st_size),
                static_cast<unsigned long long>(info.me_last_pgno) + 1,
                stat.ms_psize, static_cast<unsigned long long>(needed));
  }
  return KALAM_OK;
}

// LMDB keeps two meta pages and opens the one with the higher transaction
// id, without checksums. A meta page with transaction id 0 is one that no
// commit has written yet (mdb_env_init_meta: both trees empty, last page 1);
// one that names a tree root or later pages had its transaction id damaged,
// and LMDB would silently open the other meta page, one commit back. The
// layout (lmdb's mdb.c, data version 1, 64-bit): a 16-byte page header,
// then MDB_meta: magic (u32), version (u32), address, map size, two MDB_db
// of 48 bytes (the free tree, whose first u32 is the page size, and the
// main tree; md_root at +40), last page, transaction id.
constexpr uint32_t kMdbMagic = 0xBEEFC0DE;
constexpr size_t kMetaAt = 16;
constexpr size_t kDbsAt = 24, kDbSize = 48, kRootAt = 40;
constexpr size_t kLastPageAt = kDbsAt + 2 * kDbSize, kTxnidAt = kLastPageAt + 8;
constexpr uint64_t kNoPage = ~uint64_t{0};

// KALAM_CORRUPTION when a meta page of `data_file` has transaction id 0 but
// names a tree (its id was zeroed); KALAM_OK otherwise, including when the
// file is too short or not LMDB's: mdb_env_open() reports those.
int check_meta_pages(const std::string& data_file, kalam_status* status) {
  if (sizeof(void*) != 8) return KALAM_OK;  // the offsets above are 64-bit
  FdGuard fd;
  fd.fd() = ::open(data_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd.fd() < 0) return KALAM_OK;
  auto read_u64 = [&](uint64_t at, uint64_t* out) {
    return ::pread(fd.fd(), out, sizeof *out, static_cast<off_t>(at)) ==
           static_cast<ssize_t>(sizeof *out);
  };
  uint32_t head[2] = {0, 0};  // magic, version
  uint32_t page_size = 0;
  if (::pread(fd.fd(), head, sizeof head, kMetaAt) != sizeof head ||
      head[0] != kMdbMagic || head[1] != 1 ||
      ::pread(fd.fd(), &page_size, sizeof page_size, kMetaAt + kDbsAt) !=
          sizeof page_size ||
      page_size < 512 || page_size > (1u << 20)) {
    return KALAM_OK;
  }
  for (uint64_t page = 0; page < 2; ++page) {
    const uint64_t meta = page * page_size + kMetaAt;
    uint64_t magic_version = 0, free_root = 0, main_root = 0, last = 0,
             txnid = 0;
    if (!read_u64(meta, &magic_version) ||
        !read_u64(meta + kDbsAt + kRootAt, &free_root) ||
        !read_u64(meta + kDbsAt + kDbSize + kRootAt, &main_root) ||
        !read_u64(meta + kLastPageAt, &last) ||
        !read_u64(meta + kTxnidAt, &txnid)) {
      return KALAM_OK;
    }
    if (static_cast<uint32_t>(magic_version) != kMdbMagic) continue;
    if (txnid == 0 &&
        (free_root != kNoPage || main_root != kNoPage || last != 1)) {
      return fail(
          status, KALAM_CORRUPTION, 0,
          "lmdb open: meta page %llu of '%s' has transaction id 0 "
          "but names tree pages (main root %lld, last page %llu): "
          "its transaction id is damaged, and LMDB would silently "
          "open the other meta page, one commit back; restore the "
          "database from a checkpoint",
          static_cast<unsigned long long>(page), data_file.c_str(),
          main_root == kNoPage ? -1LL : static_cast<long long>(main_root),
          static_cast<unsigned long long>(last));
    }
  }
  return KALAM_OK;
}

int open_impl(const kalam_open_params* params, kalam_db** out_db,
              kalam_status* status) {
  if (params == nullptr || out_db == nullptr) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "lmdb open: params and out_db must not be NULL");
  }
  if (!KALAM_PLUGIN_COVERS(params, path) || params->path == nullptr ||
      params->path[0] == '\0') {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "lmdb open: params->path must be a non-empty directory path");
  }
  const uint32_t flags = params->flags;
  const uint32_t known = KALAM_OPEN_CREATE_IF_MISSING | KALAM_OPEN_READ_ONLY;
  if ((flags & ~known) != 0) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "lmdb open '%s': unknown open flags 0x%x", params->path,
                flags & ~known);
  }
  auto db = std::make_unique<kalam_db>();
  if (KALAM_PLUGIN_COVERS(params, option_count)) {
    const int rc = parse_options(params->option_keys, params->option_values,
                                 params->option_count, &db->options, status);
    if (rc != KALAM_OK) return rc;
  }
  db->read_only = (flags & KALAM_OPEN_READ_ONLY) != 0;
  const bool create =
      !db->read_only && (flags & KALAM_OPEN_CREATE_IF_MISSING) != 0;
  const char* path = params->path;

  struct stat sb;
  if (::stat(path, &sb) != 0) {
    const int err = errno;
    if (err != ENOENT) {
      return fail(status, code_of(err), err, "lmdb open: cannot stat '%s': %s",
                  path, std::strerror(err));
    }
    if (!create) {
      return fail(status, KALAM_NOT_FOUND, 0,
                  "lmdb open: no database at '%s' (the directory does not "
                  "exist)",
                  path);
    }
    std::error_code ec;
    fs::create_directories(path, ec);
    if (ec) {
      return fail(status, code_of(ec.value()), ec.value(),
                  "lmdb open: cannot create directory '%s': %s", path,
                  ec.message().c_str());
    }
  } else if (!S_ISDIR(sb.st_mode)) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "lmdb open: '%s' is not a directory (the plugin keeps its "
                "files in the directory params->path)",
                path);
  }
  {
    char* real = ::realpath(path, nullptr);
    if (real == nullptr) {
      const int err = errno;
      return fail(status, code_of(err), err,
                  "lmdb open: cannot resolve '%s': %s", path,
                  std::strerror(err));
    }
    db->path = real;
    ::free(real);
  }
  const std::string data_file = db->path + "/data.mdb";
  if (::stat(data_file.c_str(), &sb) != 0) {
    const int err = errno;
    if (err != ENOENT) {
      return fail(status, code_of(err), err, "lmdb open: cannot stat '%s': %s",
                  data_file.c_str(), std::strerror(err));
    }
    if (!create) {
      return fail(
          status, KALAM_NOT_FOUND, 0,
          "lmdb open: no database in '%s' (no data.mdb)%s", db->path.c_str(),
          db->read_only ? "; a read-only open does not create one" : "");
    }
  } else if (sb.st_size == 0 && !create) {
    // LMDB would take an empty file for a new environment and initialise it.
    return fail(status, KALAM_NOT_FOUND, 0,
                "lmdb open: no database in '%s' (data.mdb is empty)",
                db->path.c_str());
  } else if (sb.st_size > 0) {
    const int damaged = check_meta_pages(data_file, status);
    if (damaged != KALAM_OK) return damaged;
  }

  PathClaim claim;
  if (!claim.claim(db->path)) {
    return fail(status, KALAM_BUSY, 0,
                "lmdb open: '%s' is already open in this process; LMDB "
                "allows one environment per path per process: use the open "
                "handle, or close it first",
                db->path.c_str());
  }
  FdGuard lock;
  int rc = take_process_lock(db->path, db->read_only, &lock.fd(), status);
  if (rc != KALAM_OK) return rc;

  EnvGuard env;
  rc = mdb_env_create(env.out());
  if (rc == 0) rc = mdb_env_set_mapsize(env.get(), db->options.map_size);
  if (rc == 0) rc = mdb_env_set_maxdbs(env.get(), db->options.max_dbs);
  if (rc == 0) rc = mdb_env_set_maxreaders(env.get(), db->options.max_readers);
  if (rc != 0) {
    return fail_mdb(status, rc,
                    "lmdb open '%s': cannot set up the "
                    "environment",
                    db->path.c_str());
  }
  unsigned env_flags = MDB_NOTLS;
  if (db->read_only) env_flags |= MDB_RDONLY;
  if (db->options.sync_mode == SyncMode::kNoMetaSync) {
    env_flags |= MDB_NOMETASYNC;
  }
  if (db->options.sync_mode == SyncMode::kNoSync) env_flags |= MDB_NOSYNC;
  if (db->options.write_map && !db->read_only) env_flags |= MDB_WRITEMAP;
  if (db->options.no_readahead) env_flags |= MDB_NORDAHEAD;
  rc = mdb_env_open(env.get(), db->path.c_str(), env_flags, 0644);
  if (rc != 0) {
    return fail_mdb(status, rc,
                    "lmdb open: cannot open the LMDB environment "
                    "in '%s' (map_size %s)",
                    db->path.c_str(),
                    format_size(db->options.map_size).c_str());
  }
  rc = check_file_covers_pages(env.get(), data_file, status);
  if (rc != KALAM_OK) return rc;
  const int max_key = mdb_env_get_maxkeysize(env.get());
  if (max_key < static_cast<int>(kMaxKeySize)) {
    return fail(status, KALAM_NOT_SUPPORTED, 0,
                "lmdb open: this liblmdb accepts keys of at most %d bytes; "
                "the plugin declares %zu: rebuild liblmdb with the default "
                "MDB_MAXKEYSIZE",
                max_key, kMaxKeySize);
  }
  db->env = env.get();
  rc = load_families(db.get(), status);
  if (rc != KALAM_OK) {
    db->env = nullptr;
    return rc;
  }
  db->id = g_next_db_id.fetch_add(1);
  db->env = env.release();
  db->lock_fd = lock.release();
  claim.keep();
  log(KALAM_LOG_INFO,
      "lmdb: opened '%s' (%s, map_size %s, sync_mode %s, %zu "
      "column families)",
      db->path.c_str(), db->read_only ? "read-only" : "read-write",
      format_size(db->options.map_size).c_str(),
      sync_mode_name(db->options.sync_mode), db->live_cfs.size());
  *out_db = db.release();
  return KALAM_OK;
}

// The properties get_property() answers (others: KALAM_NOT_FOUND).
bool known_property(std::string_view name) {
  return name == KALAM_PROPERTY_ESTIMATE_NUM_KEYS ||
         name == KALAM_PROPERTY_APPROXIMATE_BYTES ||
         name == KALAM_PROPERTY_STATS || name == "lmdb.map-size" ||
         name == "lmdb.map-used";
}

}  // namespace

// ---- Shared helpers ----

SnapState::~SnapState() {
  if (txn != nullptr) mdb_txn_abort(txn);
}

int resolve_cf(kalam_db* db, kalam_cf* cf, kalam_cf** out, const char* what,
               kalam_status* status) noexcept {
  if (cf == nullptr) {
    *out = db->default_cf;
    return KALAM_OK;
  }
  if (cf->owner != db) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "lmdb %s: the column family handle belongs to another "
                "database",
                what);
  }
  *out = cf;
  return KALAM_OK;
}

int check_key(const void* key, size_t key_len, const char* what,
              kalam_status* status) noexcept {
  if (!bytes_ok(key, key_len)) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "lmdb %s: key is NULL with length %zu", what, key_len);
  }
  if (key_len == 0) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "lmdb %s: empty key; LMDB cannot store zero-length keys (keys "
                "are 1 to %zu bytes with this backend)",
                what, kMaxKeySize);
  }
  if (key_len > kMaxKeySize) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "lmdb %s: key of %zu bytes is over LMDB's maximum of %zu "
                "bytes (max_key_size)",
                what, key_len, kMaxKeySize);
  }
  return KALAM_OK;
}

int check_read_key(const void* key, size_t key_len, const char* what,
                   kalam_status* status) noexcept {
  if (key_len == 0) return KALAM_NOT_FOUND;
  return check_key(key, key_len, what, status);
}

int fail_dropped(kalam_status* status, const kalam_cf* cf,
                 const char* what) noexcept {
  return fail(status, KALAM_DROPPED, 0,
              "lmdb %s: column family '%s' was dropped", what,
              cf->name.c_str());
}

int wait_while_dropping(kalam_db* db, kalam_cf* cf) {
  std::unique_lock<std::mutex> lock(db->drop_mu);
  db->drop_cv.wait(lock, [cf] {
    return cf->state.load(std::memory_order_acquire) != kDropping;
  });
  return cf->state.load(std::memory_order_acquire);
}

int cursor_seek_ge(MDB_cursor* cursor, const void* target, size_t target_len,
                   MDB_val* key, MDB_val* value) noexcept {
  if (target_len == 0) return mdb_cursor_get(cursor, key, value, MDB_FIRST);
  if (target_len <= kMaxKeySize) {
    *key = to_val(target, target_len);
    return mdb_cursor_get(cursor, key, value, MDB_SET_RANGE);
  }
  // No stored key is longer than kMaxKeySize, so with p = the target's first
  // kMaxKeySize bytes: key >= target <=> key > p.
  *key = to_val(target, kMaxKeySize);
  int rc = mdb_cursor_get(cursor, key, value, MDB_SET_RANGE);
  if (rc == 0 && compare_val(*key, target, kMaxKeySize) == 0) {
    rc = mdb_cursor_get(cursor, key, value, MDB_NEXT);
  }
  return rc;
}

// ---- Entry points ----

int open(const kalam_open_params* params, kalam_db** out_db,
         kalam_status* status) noexcept {
  return guarded(status, "open",
                 [&] { return open_impl(params, out_db, status); });
}

int close(kalam_db* db, kalam_status* status) noexcept {
  return guarded(status, "close", [&]() -> int {
    if (db == nullptr) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "lmdb close: db must not be NULL");
    }
    const int64_t iterators = db->live_iterators.load();
    size_t snapshots = 0;
    {
      std::lock_guard<std::mutex> lock(db->registry_mu);
      snapshots = db->snapshots.size();
    }
    if (iterators > 0 || snapshots > 0) {
      return fail(status, KALAM_BUSY, 0,
                  "lmdb close '%s': %lld iterator(s) and %zu snapshot(s) are "
                  "still alive; destroy and release them first (the "
                  "database stays open)",
                  db->path.c_str(), static_cast<long long>(iterators),
                  snapshots);
    }
    int result = KALAM_OK;
    if (!db->read_only) {
      const int rc = sync_env(db->env, 1);
      if (rc != 0) {
        result = fail_mdb(status, rc,
                          "lmdb close '%s': the final sync "
                          "failed; the last writes may not be durable (the "
                          "database was closed anyway)",
                          db->path.c_str());
      }
    }
    kill_reader_slots(db);
    mdb_env_close(db->env);
    db->env = nullptr;
    if (db->lock_fd >= 0) ::close(db->lock_fd);
    PathClaim::release(db->path);
    log(KALAM_LOG_INFO, "lmdb: closed '%s'", db->path.c_str());
    delete db;
    return result;
  });
}

int flush(kalam_db* db, uint32_t flags, kalam_status* status) noexcept {
  return guarded(status, "flush", [&]() -> int {
    if (db == nullptr) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "lmdb flush: db must not be NULL");
    }
    if (flags != 0) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "lmdb flush: flags must be 0 (got 0x%x)", flags);
    }
    if (db->read_only) return KALAM_OK;
    const int rc = sync_env(db->env, 1);
    if (rc != 0) {
      return fail_mdb(status, rc, "lmdb flush '%s': mdb_env_sync failed",
                      db->path.c_str());
    }
    return KALAM_OK;
  });
}

int cf_open(kalam_db* db, const char* name, uint32_t flags, kalam_cf** out_cf,
            kalam_status* status) noexcept {
  return guarded(status, "cf_open", [&]() -> int {
    if (db == nullptr || name == nullptr || out_cf == nullptr) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "lmdb cf_open: db, name and out_cf must not be NULL");
    }
    if ((flags & ~KALAM_CF_CREATE_IF_MISSING) != 0) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "lmdb cf_open: unknown flags 0x%x",
                  flags & ~KALAM_CF_CREATE_IF_MISSING);
    }
    const size_t len = std::strlen(name);
    if (len == 0 || len > kMaxKeySize) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "lmdb cf_open: a column family name is 1 to %zu bytes (got "
                  "%zu)",
                  kMaxKeySize, len);
    }
    if (std::strcmp(name, kDefaultCfName) == 0) {
      *out_cf = nullptr;
      return KALAM_OK;
    }
    {
      std::shared_lock<std::shared_mutex> lock(db->cf_mu);
      auto it = db->live_cfs.find(std::string_view(name, len));
      if (it != db->live_cfs.end()) {
        *out_cf = it->second;
        return KALAM_OK;
      }
    }
    if ((flags & KALAM_CF_CREATE_IF_MISSING) == 0) return KALAM_NOT_FOUND;
    if (db->read_only) {
      return fail(status, KALAM_NOT_SUPPORTED, 0,
                  "lmdb cf_open: cannot create column family '%s': the "
                  "database is open read-only",
                  name);
    }
    std::unique_lock<std::shared_mutex> lock(db->cf_mu);
    auto it = db->live_cfs.find(std::string_view(name, len));
    if (it != db->live_cfs.end()) {
      *out_cf = it->second;
      return KALAM_OK;
    }
    const std::string cf_name(name, len);
    db->families.reserve(db->families.size() + 1);
    kalam_cf* cf = nullptr;
    {
      std::lock_guard<std::mutex> write_lock(db->write_mu);
      TxnGuard txn;
      int rc = mdb_txn_begin(db->env, nullptr, 0, txn.out());
      MDB_dbi dbi = 0;
      if (rc == 0) rc = mdb_dbi_open(txn.get(), name, MDB_CREATE, &dbi);
      if (rc == 0) rc = txn.commit();
      if (rc != 0) {
        return fail_mdb(status, rc,
                        "lmdb cf_open: cannot create column "
                        "family '%s' (max_dbs is %u)",
                        name, db->options.max_dbs);
      }
      cf = add_family(db, cf_name, dbi);
    }
    db->published_cf_seq.store(cf->seq, std::memory_order_release);
    invalidate_read_txns(db);
    const int rc = sync_if_deferred(db);
    if (rc != 0) {
      return fail_mdb(status, rc,
                      "lmdb cf_open: column family '%s' was "
                      "created but the sync failed",
                      name);
    }
    *out_cf = cf;
    return KALAM_OK;
  });
}

int cf_drop(kalam_db* db, kalam_cf* cf, kalam_status* status) noexcept {
  return guarded(status, "cf_drop", [&]() -> int {
    if (db == nullptr) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "lmdb cf_drop: db must not be NULL");
    }
    if (cf == nullptr) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "lmdb cf_drop: the default column family cannot be "
                  "dropped");
    }
    if (cf->owner != db) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "lmdb cf_drop: the column family handle belongs to "
                  "another database");
    }
    if (db->read_only) {
      return fail(status, KALAM_NOT_SUPPORTED, 0,
                  "lmdb cf_drop: cannot drop column family '%s': the "
                  "database is open read-only",
                  cf->name.c_str());
    }
    // cf_mu exclusive keeps out everything that reaches LMDB under cf_mu
    // shared (iterator and snapshot creation, properties, temporary read
    // transactions) and the other dbi opens and drops.
    std::unique_lock<std::shared_mutex> cf_lock(db->cf_mu);
    if (cf->state.load() == kDropped) {
      return fail_dropped(status, cf, "cf_drop");
    }
    auto set_state = [&](int state) {
      std::lock_guard<std::mutex> lock(db->drop_mu);
      cf->state.store(state, std::memory_order_release);
    };
    set_state(kDropping);
    // The drop barrier: wait for the point reads already inside an LMDB call
    // (they hold their slot's or snapshot's mutex); later ones see
    // kDropping and wait for the outcome.
    {
      std::lock_guard<std::mutex> registry(db->registry_mu);
      for (const auto& slot : db->slots) {
        std::lock_guard<std::mutex> barrier(slot->mu);
      }
      for (kalam_snapshot* snapshot : db->snapshots) {
        std::lock_guard<std::mutex> barrier(snapshot->state->mu);
      }
    }
    // Writers need no barrier: write_mu serialises this transaction and the
    // state change after it with theirs, and they check the state under it.
    std::unique_lock<std::mutex> write_lock(db->write_mu);
    TxnGuard txn;
    int rc = mdb_txn_begin(db->env, nullptr, 0, txn.out());
    if (rc == 0) rc = mdb_drop(txn.get(), cf->dbi, 1);
    if (rc == 0) rc = txn.commit();
    if (rc != 0) {
      // mdb_drop() closes the dbi even when the commit then fails; the data
      // is still there, so open the handle again (this returns the same
      // handle when it is still open).
      txn.abort();
      TxnGuard reopen;
      MDB_dbi dbi = 0;
      int rc2 = mdb_txn_begin(db->env, nullptr, MDB_RDONLY, reopen.out());
      if (rc2 == 0) rc2 = mdb_dbi_open(reopen.get(), cf->name.c_str(), 0, &dbi);
      if (rc2 == 0) rc2 = reopen.commit();
      if (rc2 == 0) {
        cf->dbi = dbi;
        set_state(kLive);
      } else {
        log(KALAM_LOG_ERROR,
            "lmdb cf_drop '%s': the drop of column family "
            "'%s' failed and its handle could not be reopened (%s); it "
            "reads as dropped until the database is reopened",
            db->path.c_str(), cf->name.c_str(), mdb_strerror(rc2));
        db->live_cfs.erase(cf->name);
        set_state(kDropped);
      }
      // The failed drop closed and reopened the dbi: read transactions
      // from before must renew to use it again.
      invalidate_read_txns(db);
      db->drop_cv.notify_all();
      return fail_mdb(status, rc,
                      "lmdb cf_drop: cannot drop column family "
                      "'%s'; nothing was dropped",
                      cf->name.c_str());
    }
    db->live_cfs.erase(cf->name);
    set_state(kDropped);
    write_lock.unlock();
    invalidate_read_txns(db);
    db->drop_cv.notify_all();
    rc = sync_if_deferred(db);
    if (rc != 0) {
      return fail_mdb(status, rc,
                      "lmdb cf_drop: column family '%s' was "
                      "dropped but the sync failed",
                      cf->name.c_str());
    }
    return KALAM_OK;
  });
}

int cf_list(kalam_db* db, kalam_name_visitor visit, void* ctx,
            kalam_status* status) noexcept {
  return guarded(status, "cf_list", [&]() -> int {
    if (db == nullptr || visit == nullptr) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "lmdb cf_list: db and visit must not be NULL");
    }
    // The live table mirrors the main database's keys: loaded from them at
    // open(), kept in step by cf_open() and cf_drop().
    std::vector<std::string> names;
    {
      std::shared_lock<std::shared_mutex> lock(db->cf_mu);
      names.reserve(db->live_cfs.size());
      for (const auto& entry : db->live_cfs) names.push_back(entry.first);
    }
    for (const std::string& name : names) visit(ctx, name.c_str());
    return KALAM_OK;
  });
}

int get_property(kalam_db* db, kalam_cf* cf, const char* name,
                 kalam_value_visitor visit, void* ctx,
                 kalam_status* status) noexcept {
  return guarded(status, "get_property", [&]() -> int {
    if (db == nullptr || name == nullptr || visit == nullptr) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "lmdb get_property: db, name and visit must not be NULL");
    }
    kalam_cf* family = nullptr;
    int rc = resolve_cf(db, cf, &family, "get_property", status);
    if (rc != KALAM_OK) return rc;
    const std::string_view prop = name;
    if (!known_property(prop)) return KALAM_NOT_FOUND;
    std::string text;
    {
      std::shared_lock<std::shared_mutex> lock(db->cf_mu);
      if (family->state.load() == kDropped) {
        return fail_dropped(status, family, "get_property");
      }
      TxnGuard txn;
      rc = mdb_txn_begin(db->env, nullptr, MDB_RDONLY, txn.out());
      MDB_stat st{};
      if (rc == 0) rc = mdb_stat(txn.get(), family->dbi, &st);
      MDB_envinfo info{};
      if (rc == 0) rc = mdb_env_info(db->env, &info);
      MDB_stat env_st{};
      if (rc == 0) rc = mdb_env_stat(db->env, &env_st);
      if (rc != 0) {
        return fail_mdb(status, rc,
                        "lmdb get_property '%s' of column "
                        "family '%s'",
                        name, family->name.c_str());
      }
      const uint64_t pages =
          st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
      const uint64_t used = (info.me_last_pgno + 1) * uint64_t{env_st.ms_psize};
      if (prop == KALAM_PROPERTY_ESTIMATE_NUM_KEYS) {
        text = std::to_string(st.ms_entries);
      } else if (prop == KALAM_PROPERTY_APPROXIMATE_BYTES) {
        text = std::to_string(pages * st.ms_psize);
      } else if (prop == "lmdb.map-size") {
        text = std::to_string(info.me_mapsize);
      } else if (prop == "lmdb.map-used") {
        text = std::to_string(used);
      } else {
        char buf[1024];
        std::snprintf(
            buf, sizeof buf,
            "%s\n"
            "path: %s (%s)\n"
            "column family '%s': %zu entries, depth %u, %zu branch + %zu "
            "leaf + %zu overflow pages of %u bytes\n"
            "map: %zu bytes (map_size), %llu bytes used, last txn id %zu\n"
            "readers: %u used of %u (max_readers)\n"
            "column families: %zu live of %u (max_dbs)\n"
            "sync_mode: %s, write_map: %s, no_readahead: %s\n",
            mdb_version(nullptr, nullptr, nullptr), db->path.c_str(),
            db->read_only ? "read-only" : "read-write", family->name.c_str(),
            st.ms_entries, st.ms_depth, st.ms_branch_pages, st.ms_leaf_pages,
            st.ms_overflow_pages, st.ms_psize, info.me_mapsize,
            static_cast<unsigned long long>(used), info.me_last_txnid,
            info.me_numreaders, info.me_maxreaders, db->live_cfs.size(),
            db->options.max_dbs, sync_mode_name(db->options.sync_mode),
            db->options.write_map ? "true" : "false",
            db->options.no_readahead ? "true" : "false");
        text = buf;
      }
    }
    visit(ctx, text.data(), text.size());
    return KALAM_OK;
  });
}

int checkpoint(kalam_db* db, const char* path, kalam_status* status) noexcept {
  return guarded(status, "checkpoint", [&]() -> int {
    if (db == nullptr || path == nullptr || path[0] == '\0') {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "lmdb checkpoint: db and a non-empty path are required");
    }
    struct stat sb;
    if (::stat(path, &sb) == 0) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "lmdb checkpoint: '%s' already exists; pass a path that "
                  "does not exist yet",
                  path);
    }
    if (errno != ENOENT) {
      const int err = errno;
      return fail(status, code_of(err), err,
                  "lmdb checkpoint: cannot stat '%s': %s", path,
                  std::strerror(err));
    }
    std::error_code ec;
    fs::create_directories(path, ec);
    if (ec) {
      return fail(status, code_of(ec.value()), ec.value(),
                  "lmdb checkpoint: cannot create directory '%s': %s", path,
                  ec.message().c_str());
    }
    // A compacting copy of one read transaction: consistent, and free pages
    // are left out. It fails on an environment with leaked pages, so fall
    // back to a plain copy then.
    int rc = mdb_env_copy2(db->env, path, MDB_CP_COMPACT);
    if (rc != 0 && rc != ENOSPC && rc != EDQUOT) {
      log(KALAM_LOG_WARN,
          "lmdb checkpoint '%s': compacting copy failed (%s); "
          "retrying with a plain copy",
          path, mdb_strerror(rc));
      fs::remove(fs::path(path) / "data.mdb", ec);
      rc = mdb_env_copy2(db->env, path, 0);
    }
    if (rc != 0) {
      fs::remove_all(path, ec);
      return fail_mdb(status, rc,
                      "lmdb checkpoint: cannot copy '%s' to "
                      "'%s' (nothing was left behind)",
                      db->path.c_str(), path);
    }
    return KALAM_OK;
  });
}

}  // namespace kalam_lmdb
