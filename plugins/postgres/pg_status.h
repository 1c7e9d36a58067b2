// Error detail inside the plugin, the one place where PostgreSQL failures
// (SQLSTATEs, lost connections, lost commit acknowledgements) become KALAM_*
// codes, the copy into the caller's kalam_status, and logging to the host.
#pragma once

#include <kalam/backend_api.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "plugin_error.h"
#include "plugin_support.h"

namespace kalam::postgres_plugin {

// Detail of a failed call, and `return fail(err, KALAM_..., "...")`
// (plugins/common/plugin_error.h).
using Error = kalam_plugin::Error;
using kalam_plugin::fail;

// What went wrong with the server, independent of the ABI minor. The codes
// these become are chosen in one place, code_for(), so a host that speaks a
// later ABI minor with dedicated codes gets them and an older host the
// nearest ABI 1.1 code.
enum class Failure {
  kUnavailable,     // no connection to the server; nothing was applied
  kOutcomeUnknown,  // the connection died after COMMIT was sent
  kTimedOut,        // statement_timeout or lock_timeout cancelled a statement
  kConflict,        // serialization failure or deadlock, after the retries
  kNoSpace,         // the server's disk is full
  kNoMemory,        // the server ran out of memory
  kTooLarge,        // a row, key or message over a server limit
  kBadConfig,       // authentication, permissions, a missing database
  kReadOnly,        // the server or transaction is read-only
  kDropped,         // the family's table is gone
  kInternal,        // anything else: a bug or an unexpected server state
};

// The KALAM_* code for `failure` (see the mapping table in README.md).
int code_for(Failure failure);

// The Failure for a SQLSTATE (five characters; NULL or empty when the server
// sent none, e.g. the connection is gone).
Failure classify_sqlstate(const char* sqlstate, bool connection_ok);

// Writes code, native code and message into `status` (may be NULL).
void publish(kalam_status* status, int code, int64_t native_code,
             std::string_view message) noexcept;

// Remembers the host's log sink (kalam_plugin_entry()). Thread-safe.
void set_log_sink(kalam_log_fn log, void* log_ctx) noexcept;

// Sends one line to the host's log sink, if there is one. Never throws.
void log(int32_t level, const std::string& message) noexcept;

}  // namespace kalam::postgres_plugin
