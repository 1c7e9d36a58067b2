// Result codes and kalam_status for the RocksDB plugin: filling the
// caller-owned status, mapping rocksdb::Status to KALAM_* codes, and the
// exception firewall every entry point goes through.
#pragma once

#include <kalam/backend_api.h>
#include <rocksdb/status.h>

#include "plugin_support.h"

#include <cstddef>
#include <cstdint>

namespace kalam_rocksdb {

using kalam_plugin::fail;

// The KALAM_* code for a rocksdb::Status (KALAM_OK for ok(), KALAM_NOT_FOUND
// for IsNotFound()).
int code_of(const rocksdb::Status& s) noexcept;

// The native code stored in kalam_status: (code << 8) | subcode.
int64_t native_code_of(const rocksdb::Status& s) noexcept;

// Maps `s` and, for an error, fills `status` with "<what>: <s.ToString()>".
// Returns the code.
int fail_rocksdb(kalam_status* status, const rocksdb::Status& s,
                 const char* what) noexcept;

// The exception firewall (plugin_support.h), with messages
// "rocksdb <where>: ...".
template <typename Body>
int guarded(kalam_status* status, const char* where, Body&& body) noexcept {
  return kalam_plugin::guarded(status, "rocksdb", where,
                               static_cast<Body&&>(body));
}

}  // namespace kalam_rocksdb
