#include "sqlite_status.h"

#include <atomic>
#include <cstddef>
#include <utility>

namespace kalam::sqlite_plugin {
namespace {

// The host's log sink. Both are replaced together by every
// kalam_plugin_entry() call; a reader may briefly see a mix of two hosts'
// values only if two hosts load the plugin concurrently, which is harmless
// because a sink stays valid for the life of the library.
std::atomic<kalam_log_fn> g_log{nullptr};
std::atomic<void*> g_log_ctx{nullptr};

const char* hint_for(int code) {
  switch (code) {
    case KALAM_NO_SPACE:
      // Not "nothing was applied": a call that knows it says so itself.
      return "; the disk is full: free disk space and retry";
    case KALAM_BUSY:
      return "; another connection holds the database lock: retry later or "
             "raise busy_timeout_ms";
    case KALAM_CORRUPTION:
      return "; the database file is damaged: restore it from a checkpoint";
    case KALAM_IO_ERROR:
      return "; check the disk, the file permissions and the kernel log";
    default:
      return "";
  }
}

}  // namespace

int map_sqlite_code(int sqlite_rc) {
  if (sqlite_rc == SQLITE_IOERR_NOMEM) return KALAM_NO_MEMORY;
  switch (sqlite_rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
      return KALAM_OK;
    case SQLITE_FULL:
      return KALAM_NO_SPACE;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_PROTOCOL:
      return KALAM_BUSY;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_FORMAT:
      return KALAM_CORRUPTION;
    case SQLITE_NOMEM:
      return KALAM_NO_MEMORY;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
    case SQLITE_NOLFS:
      return KALAM_IO_ERROR;
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
      return KALAM_INVALID_ARGUMENT;
    default:
      // SQLITE_ERROR, SQLITE_MISUSE, SQLITE_INTERNAL, SQLITE_CONSTRAINT,
      // SQLITE_SCHEMA, ...: a bug or an unexpected state in the plugin.
      return KALAM_INTERNAL;
  }
}

int fail_sqlite(Error& err, sqlite3* db, int sqlite_rc,
                std::string_view context) {
  const int code = map_sqlite_code(sqlite_rc);
  std::string message(context);
  message += ": ";
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(sqlite_rc);
  message += " (";
  message += sqlite3_errstr(sqlite_rc);
  message += ", SQLite code ";
  message += std::to_string(sqlite_rc);
  message += ")";
  message += hint_for(code);
  return fail(err, code == KALAM_OK ? KALAM_INTERNAL : code, std::move(message),
              sqlite_rc);
}

void publish(kalam_status* status, int code, int64_t native_code,
             std::string_view message) noexcept {
  kalam_plugin::set_status(status, code, native_code, message);
}

void set_log_sink(kalam_log_fn log, void* log_ctx) noexcept {
  g_log_ctx.store(log_ctx, std::memory_order_relaxed);
  g_log.store(log, std::memory_order_release);
}

void log(int32_t level, const std::string& message) noexcept {
  kalam_log_fn sink = g_log.load(std::memory_order_acquire);
  if (sink == nullptr) return;
  try {
    sink(g_log_ctx.load(std::memory_order_relaxed), level,
         ("sqlite plugin: " + message).c_str());
  } catch (...) {
    // Out of memory while logging: drop the line.
  }
}

}  // namespace kalam::sqlite_plugin
