#include "rocksdb_logger.h"

#include <cstdio>
#include <mutex>
#include <string>

namespace kalam_rocksdb {
namespace {

// Constant-initialised: no work in static initialisers.
std::mutex g_log_mutex;
kalam_log_fn g_log = nullptr;
void* g_log_ctx = nullptr;

int32_t kalam_level(rocksdb::InfoLogLevel level) {
  switch (level) {
    case rocksdb::InfoLogLevel::DEBUG_LEVEL:
      return KALAM_LOG_DEBUG;
    case rocksdb::InfoLogLevel::INFO_LEVEL:
    case rocksdb::InfoLogLevel::HEADER_LEVEL:
      return KALAM_LOG_INFO;
    case rocksdb::InfoLogLevel::WARN_LEVEL:
      return KALAM_LOG_WARN;
    default:
      return KALAM_LOG_ERROR;
  }
}

// Formats "rocksdb: <record>" without a trailing newline and sends it.
void emit(kalam_log_fn log, void* ctx, int32_t level, const char* format,
          va_list ap) noexcept {
  if (log == nullptr || format == nullptr) return;
  try {
    static constexpr char kPrefix[] = "rocksdb: ";
    constexpr size_t kPrefixLen = sizeof kPrefix - 1;
    char small[1024];
    std::string large;
    char* text = small;
    std::snprintf(small, sizeof small, "%s", kPrefix);
    va_list copy;
    va_copy(copy, ap);
    int n = std::vsnprintf(small + kPrefixLen, sizeof small - kPrefixLen,
                           format, copy);
    va_end(copy);
    if (n < 0) return;
    size_t len = kPrefixLen + static_cast<size_t>(n);
    if (len >= sizeof small) {
      large.assign(len + 1, '\0');
      large.replace(0, kPrefixLen, kPrefix);
      va_copy(copy, ap);
      std::vsnprintf(large.data() + kPrefixLen, len + 1 - kPrefixLen, format,
                     copy);
      va_end(copy);
      text = large.data();
    }
    while (len > kPrefixLen && (text[len - 1] == '\n' || text[len - 1] == '\r'))
      text[--len] = '\0';
    log(ctx, level, text);
  } catch (...) {
    // A log record is not worth an exception inside RocksDB: drop it.
  }
}

}  // namespace

void set_host_log(kalam_log_fn log, void* log_ctx) noexcept {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  g_log = log;
  g_log_ctx = log_ctx;
}

void get_host_log(kalam_log_fn* log, void** log_ctx) noexcept {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  *log = g_log;
  *log_ctx = g_log_ctx;
}

void host_log(int32_t level, const char* fmt, ...) noexcept {
  kalam_log_fn log;
  void* ctx;
  get_host_log(&log, &ctx);
  va_list ap;
  va_start(ap, fmt);
  emit(log, ctx, level, fmt, ap);
  va_end(ap);
}

void HostLogger::Logv(const char* format, va_list ap) {
  // The level-less form is RocksDB's legacy INFO path.
  Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
}

void HostLogger::Logv(const rocksdb::InfoLogLevel level, const char* format,
                      va_list ap) {
  // Header records (the options dump at open) count as INFO, so the default
  // WARN threshold keeps them out of the host log.
  rocksdb::InfoLogLevel effective = level == rocksdb::InfoLogLevel::HEADER_LEVEL
                                        ? rocksdb::InfoLogLevel::INFO_LEVEL
                                        : level;
  if (effective < GetInfoLogLevel()) return;
  emit(log_, log_ctx_, kalam_level(level), format, ap);
}

}  // namespace kalam_rocksdb
