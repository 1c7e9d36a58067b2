#include "pg_status.h"

#include <atomic>
#include <cstring>
#include <utility>

namespace kalam::postgres_plugin {
namespace {

std::atomic<kalam_log_fn> g_log{nullptr};
std::atomic<void*> g_log_ctx{nullptr};

bool starts_with(const char* sqlstate, const char* prefix) {
  return std::strncmp(sqlstate, prefix, std::strlen(prefix)) == 0;
}

}  // namespace

int code_for(Failure failure) {
  // A host that speaks ABI 1.2 gets the remote-store codes; an older one
  // the ABI's documented fallback, KALAM_IO_ERROR (backend_api.h, "New
  // codes and old hosts"); the message always says which it was and
  // whether anything may have been applied.
#if KALAM_ABI_VERSION_MINOR >= 2
  const bool v12 = kalam_plugin::host_minor() >= 2;
#else
  const bool v12 = false;
#endif
  switch (failure) {
    case Failure::kUnavailable:
#if KALAM_ABI_VERSION_MINOR >= 2
      if (v12) return KALAM_UNAVAILABLE;
#endif
      return KALAM_IO_ERROR;
    case Failure::kOutcomeUnknown:
#if KALAM_ABI_VERSION_MINOR >= 2
      if (v12) return KALAM_OUTCOME_UNKNOWN;
#endif
      return KALAM_IO_ERROR;
    case Failure::kTimedOut:
#if KALAM_ABI_VERSION_MINOR >= 2
      if (v12) return KALAM_TIMED_OUT;
#endif
      return KALAM_IO_ERROR;
    case Failure::kTooLarge:
#if KALAM_ABI_VERSION_MINOR >= 2
      if (v12) return KALAM_TOO_LARGE;
#endif
      return KALAM_IO_ERROR;
    case Failure::kConflict:
      // A deadlock or serialization failure that outlived the retries: a
      // resource held elsewhere (KALAM_CONFLICT is only for expectations).
      return KALAM_BUSY;
    case Failure::kNoSpace:
      return KALAM_NO_SPACE;
    case Failure::kNoMemory:
      return KALAM_NO_MEMORY;
    case Failure::kBadConfig:
      return KALAM_IO_ERROR;
    case Failure::kReadOnly:
      return KALAM_NOT_SUPPORTED;
    case Failure::kDropped:
      return KALAM_DROPPED;
    case Failure::kInternal:
      return KALAM_INTERNAL;
  }
  (void)v12;
  return KALAM_INTERNAL;
}

Failure classify_sqlstate(const char* sqlstate, bool connection_ok) {
  if (sqlstate == nullptr || sqlstate[0] == '\0') {
    return connection_ok ? Failure::kInternal : Failure::kUnavailable;
  }
  if (starts_with(sqlstate, "08")) return Failure::kUnavailable;
  // admin_shutdown, crash_shutdown, cannot_connect_now, database_dropped,
  // idle_session_timeout.
  if (starts_with(sqlstate, "57P")) return Failure::kUnavailable;
  if (std::strcmp(sqlstate, "57014") == 0) return Failure::kTimedOut;
  if (std::strcmp(sqlstate, "55P03") == 0) return Failure::kTimedOut;
  if (std::strcmp(sqlstate, "40001") == 0) return Failure::kConflict;
  if (std::strcmp(sqlstate, "40P01") == 0) return Failure::kConflict;
  if (std::strcmp(sqlstate, "53100") == 0) return Failure::kNoSpace;
  if (std::strcmp(sqlstate, "53200") == 0) return Failure::kNoMemory;
  // too_many_connections, configuration_limit_exceeded: retry later.
  if (starts_with(sqlstate, "53")) return Failure::kUnavailable;
  if (starts_with(sqlstate, "54")) return Failure::kTooLarge;
  if (std::strcmp(sqlstate, "42P01") == 0) return Failure::kDropped;
  if (starts_with(sqlstate, "28")) return Failure::kBadConfig;
  if (std::strcmp(sqlstate, "42501") == 0) return Failure::kBadConfig;
  if (std::strcmp(sqlstate, "3D000") == 0) return Failure::kBadConfig;
  if (std::strcmp(sqlstate, "25006") == 0) return Failure::kReadOnly;
  if (starts_with(sqlstate, "58")) return Failure::kUnavailable;
  return Failure::kInternal;
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
         ("postgres plugin: " + message).c_str());
  } catch (...) {
    // Out of memory while logging: drop the line.
  }
}

}  // namespace kalam::postgres_plugin
