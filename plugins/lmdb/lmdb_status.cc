#include "lmdb_status.h"

#include <errno.h>
#include <lmdb.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace kalam_lmdb {
namespace {

const char* hint_of(int rc) noexcept {
  switch (rc) {
    case MDB_MAP_FULL:
      return "; the LMDB map is full and nothing was applied: raise the "
             "`map_size` option (e.g. map_size: 4GiB) and reopen, or delete "
             "data";
    case MDB_TXN_FULL:
      return "; the write touched too many pages for one LMDB transaction and "
             "nothing was applied: split it into smaller batches";
    case MDB_DBS_FULL:
      return "; every named-database slot is taken: raise the `max_dbs` "
             "option and reopen";
    case MDB_READERS_FULL:
      return "; every reader slot is taken (threads that read, live "
             "iterators and snapshots each hold one): raise the "
             "`max_readers` option and reopen, or release iterators and "
             "snapshots";
    case MDB_PANIC:
      return "; the environment had a fatal error: close and reopen the "
             "database";
    case MDB_MAP_RESIZED:
      return "; another process grew the map: close and reopen the database";
    case ENOSPC:
    case EDQUOT:
      // Not "nothing was applied": a call that knows it says so itself.
      return "; the disk is full: free space";
    default:
      return "";
  }
}

std::atomic<kalam_log_fn> g_log_fn{nullptr};
std::atomic<void*> g_log_ctx{nullptr};

}  // namespace

int code_of(int rc) noexcept {
  switch (rc) {
    case MDB_SUCCESS:
      return KALAM_OK;
    case MDB_NOTFOUND:
      return KALAM_NOT_FOUND;
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
    case MDB_DBS_FULL:
    case ENOSPC:
    case EDQUOT:
      return KALAM_NO_SPACE;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
      return KALAM_CORRUPTION;
    case MDB_READERS_FULL:
    case EBUSY:
    case EAGAIN:
      return KALAM_BUSY;
    case ENOMEM:
      return KALAM_NO_MEMORY;
    case MDB_BAD_VALSIZE:
      return KALAM_INVALID_ARGUMENT;
    case EINVAL:
    case MDB_BAD_DBI:
    case MDB_BAD_TXN:
      // LMDB refused how the plugin called it: a plugin bug.
      return KALAM_INTERNAL;
    default:
      return KALAM_IO_ERROR;
  }
}

int fail_mdb(kalam_status* status, int rc, const char* fmt, ...) noexcept {
  const int code = code_of(rc);
  if (status == nullptr || code == KALAM_OK || code == KALAM_NOT_FOUND) {
    return code;
  }
  char what[KALAM_STATUS_MESSAGE_SIZE];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(what, sizeof what, fmt, args);
  va_end(args);
  const char* text = mdb_strerror(rc);
  char buf[KALAM_STATUS_MESSAGE_SIZE];
  // Truncation is fine: set_status() keeps what fits.
  const int n =
      std::snprintf(buf, sizeof buf, "%s: %s (%d)%s", what,
                    text != nullptr ? text : "unknown error", rc, hint_of(rc));
  if (n < 0) std::snprintf(buf, sizeof buf, "%s", what);
  kalam_plugin::set_status(status, code, rc, buf);
  return code;
}

int write_errno(MDB_env* env, int rc) noexcept {
  if (rc != EIO || env == nullptr) return rc;
  const char* path = nullptr;
  if (mdb_env_get_path(env, &path) != 0 || path == nullptr) return rc;
  struct statvfs fs {};
  if (::statvfs(path, &fs) != 0) return rc;
  // Root may use the reserved blocks too.
  const unsigned long long blocks = ::geteuid() == 0 ? fs.f_bfree : fs.f_bavail;
  const unsigned long long free_bytes = blocks * fs.f_frsize;
  return free_bytes < (1ull << 20) ? ENOSPC : rc;
}

int sync_env(MDB_env* env, int force) noexcept {
  return write_errno(env, mdb_env_sync(env, force));
}

bool env_panicked(MDB_env* env) noexcept {
  MDB_txn* probe = nullptr;
  const int rc = mdb_txn_begin(env, nullptr, MDB_RDONLY, &probe);
  if (rc == 0) mdb_txn_abort(probe);
  return rc == MDB_PANIC;
}

void set_log_sink(kalam_log_fn fn, void* ctx) noexcept {
  g_log_ctx.store(ctx, std::memory_order_relaxed);
  g_log_fn.store(fn, std::memory_order_release);
}

void log(int32_t level, const char* fmt, ...) noexcept {
  kalam_log_fn fn = g_log_fn.load(std::memory_order_acquire);
  if (fn == nullptr) return;
  char buf[1024];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, args);
  va_end(args);
  fn(g_log_ctx.load(std::memory_order_relaxed), level, buf);
}

}  // namespace kalam_lmdb
