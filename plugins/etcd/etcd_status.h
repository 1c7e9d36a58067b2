// Error detail inside the etcd plugin, the copy into the caller's
// kalam_status, and logging to the host. (The codes of ABI 1.2 become the
// nearest ABI 1.1 code for an older host in one place shared by the plugins:
// kalam_plugin::code_for_host(), plugins/common/plugin_support.h.)
#pragma once

#include <kalam/backend_api.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "plugin_error.h"
#include "plugin_support.h"

namespace kalam::etcd_plugin {

// Detail of a failed call, and `return fail(err, KALAM_..., "...")`
// (plugins/common/plugin_error.h).
using Error = kalam_plugin::Error;
using kalam_plugin::fail;

// Writes code, native code and message into `status` (may be NULL). The
// entry points pass the code through kalam_plugin::code_for_host() first.
void publish(kalam_status* status, int code, int64_t native_code,
             std::string_view message) noexcept;

// Remembers the host's log sink (kalam_plugin_entry()). Thread-safe.
void set_log_sink(kalam_log_fn log, void* log_ctx) noexcept;

// Sends one line to the host's log sink, if there is one. Never throws.
void log(int32_t level, const std::string& message) noexcept;

}  // namespace kalam::etcd_plugin
