// plugin_error.h - the error detail that the database-backed plugins
// (sqlite, postgres, etcd) carry from their internals to their entry points.
// Header-only, C++20, standard library only.
//
// Internal functions return a KALAM_* code and, when it is neither KALAM_OK
// nor KALAM_NOT_FOUND, fill an Error; the entry points (vtable_glue.h) copy
// it into the caller's kalam_status.
#pragma once

#include <kalam/backend_api.h>

#include <cstdint>
#include <string>
#include <utility>

namespace kalam_plugin {

// Detail of a failed call.
struct Error {
  int code = KALAM_OK;
  int64_t native_code = 0;
  std::string message;
};

// Records a failure and returns its code: `return fail(err, KALAM_..., "...")`.
inline int fail(Error& err, int code, std::string message,
                int64_t native_code = 0) {
  err.code = code;
  err.native_code = native_code;
  err.message = std::move(message);
  return code;
}

}  // namespace kalam_plugin
