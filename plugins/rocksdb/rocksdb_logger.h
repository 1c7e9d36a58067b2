// Forwards RocksDB's info log to the host's log callback.
#pragma once

#include <kalam/backend_api.h>
#include <rocksdb/env.h>

#include <cstdarg>

namespace kalam_rocksdb {

// The host's log sink, as the last kalam_plugin_entry() call gave it.
// Thread-safe.
void set_host_log(kalam_log_fn log, void* log_ctx) noexcept;
void get_host_log(kalam_log_fn* log, void** log_ctx) noexcept;

// Sends one message to the host log (if any), prefixed with "rocksdb: ".
void host_log(int32_t level, const char* fmt, ...) noexcept
    __attribute__((format(printf, 2, 3)));

// A rocksdb::Logger that formats each record with vsnprintf and hands it to
// the host log with the matching KALAM_LOG_* level. Records below the
// logger's InfoLogLevel are dropped before formatting. With no host log the
// records are discarded (RocksDB then writes no LOG file either).
class HostLogger final : public rocksdb::Logger {
 public:
  HostLogger(kalam_log_fn log, void* log_ctx, rocksdb::InfoLogLevel level)
      : rocksdb::Logger(level), log_(log), log_ctx_(log_ctx) {}

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override;
  void Logv(const rocksdb::InfoLogLevel level, const char* format,
            va_list ap) override;

 protected:
  rocksdb::Status CloseImpl() override { return rocksdb::Status::OK(); }

 private:
  kalam_log_fn log_;
  void* log_ctx_;
};

}  // namespace kalam_rocksdb
