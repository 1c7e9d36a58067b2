// Error detail inside the etcd plugin, the one place where the codes of ABI
// 1.2 become the nearest ABI 1.1 code for an older host, the copy into the
// caller's kalam_status, and logging to the host.
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

// `code` as the host may see it: the ABI 1.2 codes (13 to 18) for a host
// that speaks 1.2, else KALAM_IO_ERROR (backend_api.h, "New codes and old
// hosts"). The messages always say whether anything may have been applied.
int host_code(int code) noexcept;

// The ABI minor negotiated with the host (kalam_plugin_entry()).
void set_host_minor(uint32_t minor) noexcept;

// Writes code (through host_code()), native code and message into `status`
// (may be NULL).
void publish(kalam_status* status, int code, int64_t native_code,
             std::string_view message) noexcept;

// Remembers the host's log sink (kalam_plugin_entry()). Thread-safe.
void set_log_sink(kalam_log_fn log, void* log_ctx) noexcept;

// Sends one line to the host's log sink, if there is one. Never throws.
void log(int32_t level, const std::string& message) noexcept;

}  // namespace kalam::etcd_plugin
