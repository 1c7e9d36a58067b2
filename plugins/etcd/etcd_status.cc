#include "etcd_status.h"

#include <atomic>
#include <utility>

namespace kalam::etcd_plugin {
namespace {

std::atomic<kalam_log_fn> g_log{nullptr};
std::atomic<void*> g_log_ctx{nullptr};

}  // namespace

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
         ("etcd plugin: " + message).c_str());
  } catch (...) {
    // Out of memory while logging: drop the line.
  }
}

}  // namespace kalam::etcd_plugin
