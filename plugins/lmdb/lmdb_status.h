// Result codes and kalam_status for the LMDB plugin: filling the caller-owned
// status, mapping LMDB and errno codes to KALAM_* codes, the host log, and
// the exception firewall every entry point goes through.
#pragma once

#include <kalam/backend_api.h>
#include <lmdb.h>

#include "plugin_support.h"

#include <cstddef>
#include <cstdint>

namespace kalam_lmdb {

using kalam_plugin::copy_status;
using kalam_plugin::fail;

// The KALAM_* code for an LMDB return code or errno value (not 0, not
// MDB_NOTFOUND): MDB_MAP_FULL, MDB_TXN_FULL, MDB_DBS_FULL, ENOSPC, EDQUOT ->
// NO_SPACE; MDB_CORRUPTED, MDB_PAGE_NOTFOUND, MDB_INVALID,
// MDB_VERSION_MISMATCH -> CORRUPTION; MDB_READERS_FULL, EBUSY, EAGAIN ->
// BUSY; ENOMEM -> NO_MEMORY; MDB_BAD_VALSIZE -> INVALID_ARGUMENT; EINVAL,
// MDB_BAD_DBI, MDB_BAD_TXN -> INTERNAL (the plugin misused LMDB: a bug, not
// an I/O failure); anything else -> IO_ERROR.
int code_of(int mdb_rc) noexcept;

// Fills `status` for a failed LMDB call: "<what>: <mdb_strerror> (<rc>)",
// followed by what to do for the limits that have an option (map_size,
// max_readers, max_dbs). native_code = rc. Returns code_of(rc).
int fail_mdb(kalam_status* status, int mdb_rc, const char* fmt, ...) noexcept
    __attribute__((format(printf, 3, 4)));

// The errno of a failed LMDB write (a commit or an env sync) of `env`:
// LMDB reports a short write as EIO ("short write, filesystem full?" in
// mdb_page_flush and mdb_env_write_meta), and a write on a full disk comes
// back short before it fails, so EIO while the file system holding the
// environment has less than 1 MiB free is ENOSPC. Anything else is `rc`.
// Every commit (TxnGuard::commit) and sync (sync_env) goes through it.
int write_errno(MDB_env* env, int rc) noexcept;

// mdb_env_sync(env, force) with its error through write_errno().
int sync_env(MDB_env* env, int force) noexcept;

// Whether a failed write left `env` unusable (MDB_PANIC: LMDB could not
// write, or restore, a meta page). A commit that failed that way may be
// on disk or not; every later transaction fails until the database is
// closed and reopened.
bool env_panicked(MDB_env* env) noexcept;

// The host log sink, set by kalam_plugin_entry(). Thread-safe.
void set_log_sink(kalam_log_fn fn, void* ctx) noexcept;
// Formats and sends one line to the host log, if there is one.
void log(int32_t level, const char* fmt, ...) noexcept
    __attribute__((format(printf, 2, 3)));

// The exception firewall (plugin_support.h), with messages
// "lmdb <where>: ...". Transactions are RAII-owned, so whatever a failed call
// started is aborted: nothing is applied.
template <typename Body>
int guarded(kalam_status* status, const char* where, Body&& body) noexcept {
  return kalam_plugin::guarded(status, "lmdb", where,
                               static_cast<Body&&>(body));
}

}  // namespace kalam_lmdb
