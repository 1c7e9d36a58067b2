// Error detail inside the plugin, its mapping from SQLite result codes, the
// copy into the caller's kalam_status, and logging to the host.
#pragma once

#include <kalam/backend_api.h>
#include <sqlite3.h>

#include "plugin_error.h"
#include "plugin_support.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace kalam::sqlite_plugin {

// Detail of a failed call, and `return fail(err, KALAM_..., "...")`
// (plugins/common/plugin_error.h).
using Error = kalam_plugin::Error;
using kalam_plugin::fail;

// The KALAM_* code for an SQLite result code (primary or extended).
int map_sqlite_code(int sqlite_rc);

// Records a failure that SQLite reported with `sqlite_rc` on connection `db`
// (may be NULL) while doing `context`. The message is
// "<context>: <sqlite3_errmsg> (<sqlite3_errstr>)" plus what to do about it;
// native_code is the extended SQLite result code.
int fail_sqlite(Error& err, sqlite3* db, int sqlite_rc,
                std::string_view context);

// Writes code, native code and message into `status` (may be NULL), each only
// if status->struct_size covers it; the message is truncated to the space
// covered and always NUL-terminated.
void publish(kalam_status* status, int code, int64_t native_code,
             std::string_view message) noexcept;

// Remembers the host's log sink (kalam_plugin_entry()). Thread-safe.
void set_log_sink(kalam_log_fn log, void* log_ctx) noexcept;

// Sends one line to the host's log sink, if there is one. Never throws.
void log(int32_t level, const std::string& message) noexcept;

}  // namespace kalam::sqlite_plugin
