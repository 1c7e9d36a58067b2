// Result codes and kalam_status for the RocksDB plugin: filling the
// caller-owned status, mapping rocksdb::Status to KALAM_* codes, and the
// exception firewall every entry point goes through.
#pragma once

#include <kalam/backend_api.h>
#include <rocksdb/status.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>

namespace kalam_rocksdb {

// True when a struct whose struct_size is `size` covers `field` (ending at
// `end` = offsetof + sizeof).
constexpr bool covers(uint32_t size, size_t end) { return end <= size; }
#define KALAM_RDB_COVERS(ptr, type, field)    \
  ::kalam_rocksdb::covers((ptr)->struct_size, \
                          offsetof(type, field) + sizeof(((type*)0)->field))

// Fills `status` (if non-NULL, and only the fields its struct_size covers)
// with code, native code and a printf-formatted message, always
// NUL-terminated. Does nothing for KALAM_OK and KALAM_NOT_FOUND. Returns
// `code`. Never throws, never allocates.
int fail(kalam_status* status, int code, int64_t native_code, const char* fmt,
         ...) noexcept __attribute__((format(printf, 4, 5)));

// The KALAM_* code for a rocksdb::Status (KALAM_OK for ok(), KALAM_NOT_FOUND
// for IsNotFound()).
int code_of(const rocksdb::Status& s) noexcept;

// The native code stored in kalam_status: (code << 8) | subcode.
int64_t native_code_of(const rocksdb::Status& s) noexcept;

// Maps `s` and, for an error, fills `status` with "<what>: <s.ToString()>".
// Returns the code.
int fail_rocksdb(kalam_status* status, const rocksdb::Status& s,
                 const char* what) noexcept;

// The exception firewall: runs `body` (returning an int code) and turns any
// exception into KALAM_NO_MEMORY (std::bad_alloc) or KALAM_INTERNAL, with a
// message naming the entry point `where`.
template <typename Body>
int guarded(kalam_status* status, const char* where, Body&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return fail(status, KALAM_NO_MEMORY, 0,
                "rocksdb %s: out of memory; nothing was applied", where);
  } catch (const std::exception& e) {
    return fail(status, KALAM_INTERNAL, 0,
                "rocksdb %s: unexpected exception: %s", where, e.what());
  } catch (...) {
    return fail(status, KALAM_INTERNAL, 0,
                "rocksdb %s: unexpected non-standard exception", where);
  }
}

}  // namespace kalam_rocksdb
