// Result codes and kalam_status for the LMDB plugin: filling the caller-owned
// status, mapping LMDB and errno codes to KALAM_* codes, the host log, and
// the exception firewall every entry point goes through.
#pragma once

#include <kalam/backend_api.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>

namespace kalam_lmdb {

// True when a struct whose struct_size is `size` covers a field ending at
// byte `end` (offsetof + sizeof).
constexpr bool covers(uint32_t size, size_t end) { return end <= size; }
#define KALAM_LMDB_COVERS(ptr, type, field) \
  ::kalam_lmdb::covers((ptr)->struct_size,  \
                       offsetof(type, field) + sizeof(((type*)0)->field))

// Fills `status` (if non-NULL, and only the fields its struct_size covers)
// with code, native code and a printf-formatted message, always
// NUL-terminated and truncated to fit. Does nothing for KALAM_OK and
// KALAM_NOT_FOUND. Returns `code`. Never throws, never allocates.
int fail(kalam_status* status, int code, int64_t native_code, const char* fmt,
         ...) noexcept __attribute__((format(printf, 4, 5)));

// The KALAM_* code for an LMDB return code or errno value (not 0, not
// MDB_NOTFOUND): MDB_MAP_FULL, MDB_TXN_FULL, MDB_DBS_FULL, ENOSPC, EDQUOT ->
// NO_SPACE; MDB_CORRUPTED, MDB_PAGE_NOTFOUND, MDB_INVALID,
// MDB_VERSION_MISMATCH -> CORRUPTION; MDB_READERS_FULL, EBUSY, EAGAIN ->
// BUSY; ENOMEM -> NO_MEMORY; MDB_BAD_VALSIZE -> INVALID_ARGUMENT; anything
// else -> IO_ERROR.
int code_of(int mdb_rc) noexcept;

// Fills `status` for a failed LMDB call: "<what>: <mdb_strerror> (<rc>)",
// followed by what to do for the limits that have an option (map_size,
// max_readers, max_dbs). native_code = rc. Returns code_of(rc).
int fail_mdb(kalam_status* status, int mdb_rc, const char* fmt, ...) noexcept
    __attribute__((format(printf, 3, 4)));

// Copies a filled status (all of `from`) into `to` as far as `to` covers.
// Used for iterators' sticky errors.
void copy_status(const kalam_status& from, kalam_status* to) noexcept;

// The host log sink, set by kalam_plugin_entry(). Thread-safe.
void set_log_sink(kalam_log_fn fn, void* ctx) noexcept;
// Formats and sends one line to the host log, if there is one.
void log(int32_t level, const char* fmt, ...) noexcept
    __attribute__((format(printf, 2, 3)));

// The exception firewall: runs `body` (returning an int code) and turns any
// exception into KALAM_NO_MEMORY (std::bad_alloc) or KALAM_INTERNAL, with a
// message naming the entry point `where`. Transactions are RAII-owned, so
// whatever a failed call started is aborted: nothing is applied.
template <typename Body>
int guarded(kalam_status* status, const char* where, Body&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return fail(status, KALAM_NO_MEMORY, 0,
                "lmdb %s: out of memory; nothing was applied", where);
  } catch (const std::exception& e) {
    return fail(status, KALAM_INTERNAL, 0, "lmdb %s: unexpected exception: %s",
                where, e.what());
  } catch (...) {
    return fail(status, KALAM_INTERNAL, 0,
                "lmdb %s: unexpected non-standard exception", where);
  }
}

}  // namespace kalam_lmdb
