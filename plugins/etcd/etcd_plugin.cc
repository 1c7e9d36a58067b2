// The plugin's entry point and function table. Every function here is a thin,
// noexcept wrapper: it checks the handle, calls Database / Iterator and turns
// an Error (or a caught exception) into the caller's kalam_status.
#include <kalam/backend_api.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <memory>
#include <new>
#include <string>

#include <grpcpp/grpcpp.h>

#include "etcd_db.h"
#include "etcd_iter.h"
#include "etcd_status.h"

namespace kalam::etcd_plugin {
namespace {

constexpr const char* kPluginVersion = "1.0.0";

// MULTI_PROCESS is not declared although several processes (on several
// hosts) may open one namespace at once: SHARED says that to a 1.2 host, and
// the conformance suite's MULTI_PROCESS case forks a process that already
// runs gRPC, which gRPC does not support. See README.md.
constexpr uint64_t kCapabilities =
    KALAM_CAP_PERSISTENT | KALAM_CAP_DURABLE_SYNC | KALAM_CAP_ATOMIC_BATCH |
    KALAM_CAP_SNAPSHOTS | KALAM_CAP_REVERSE_ITERATION | KALAM_CAP_DELETE_RANGE |
    KALAM_CAP_THREAD_SAFE | KALAM_CAP_CONDITIONAL_WRITE | KALAM_CAP_REMOTE |
    KALAM_CAP_SHARED;

// Runs `body(Error&)` and reports what it returns: the exception firewall of
// every entry point. std::bad_alloc becomes KALAM_NO_MEMORY, any other
// exception KALAM_INTERNAL.
template <class Body>
int guard(kalam_status* status, Body&& body) noexcept {
  return kalam_plugin::guarded(status, "etcd plugin", nullptr, [&] {
    Error err;
    const int rc = kalam_plugin::code_for_host(body(err));
    if (rc != KALAM_OK && rc != KALAM_NOT_FOUND) {
      publish(status, rc, err.native_code,
              err.message.empty() ? "etcd plugin: failed" : err.message);
    }
    return rc;
  });
}

int null_argument(Error& err, const char* what) {
  return fail(err, KALAM_INVALID_ARGUMENT,
              std::string("etcd plugin: ") + what + " is NULL");
}

// ---- Database -------------------------------------------------------------

int vt_open(const kalam_open_params* params, kalam_db** out_db,
            kalam_status* status) noexcept {
  return guard(status, [&](Error& err) {
    if (params == nullptr) return null_argument(err, "open: params");
    if (out_db == nullptr) return null_argument(err, "open: out_db");
    if (params->struct_size < offsetof(kalam_open_params, options_yaml)) {
      return fail(err, KALAM_INVALID_ARGUMENT,
                  "etcd plugin: open: params->struct_size (" +
                      std::to_string(params->struct_size) +
                      ") is smaller than kalam_open_params of ABI 1.0");
    }
    std::unique_ptr<Database> db;
    const int rc = Database::open(*params, &db, err);
    if (rc == KALAM_OK) *out_db = to_handle(db.release());
    return rc;
  });
}

int vt_close(kalam_db* db, kalam_status* status) noexcept {
  return guard(status, [&](Error& err) {
    if (db == nullptr) return null_argument(err, "close: db");
    Database* database = to_database(db);
    int rc = KALAM_OK;
    try {
      rc = database->close(err);
    } catch (...) {
      delete database;  // closed whatever happened, except KALAM_BUSY
      throw;
    }
    if (rc != KALAM_BUSY) delete database;
    return rc;
  });
}

int vt_flush(kalam_db* db, uint32_t flags, kalam_status* status) noexcept {
  return guard(status, [&](Error& err) {
    if (db == nullptr) return null_argument(err, "flush: db");
    if (flags != 0) {
      return fail(err, KALAM_INVALID_ARGUMENT,
                  "etcd plugin: flush: flags must be 0");
    }
    // An acknowledged etcd write is already on a quorum's disk.
    return KALAM_OK;
  });
}

// ---- Column families ------------------------------------------------------

int vt_cf_open(kalam_db* db, const char* name, uint32_t flags,
               kalam_cf** out_cf, kalam_status* status) noexcept {
  return guard(status, [&](Error& err) {
    if (db == nullptr) return null_argument(err, "cf_open: db");
    return to_database(db)->cf_open(name, flags, out_cf, err);
  });
}

int vt_cf_drop(kalam_db* db, kalam_cf* cf, kalam_status* status) noexcept {
  return guard(status, [&](Error& err) {
    if (db == nullptr) return null_argument(err, "cf_drop: db");
    return to_database(db)->cf_drop(cf, err);
  });
}

int vt_cf_list(kalam_db* db, kalam_name_visitor visit, void* ctx,
               kalam_status* status) noexcept {
  return guard(status, [&](Error& err) {
    if (db == nullptr) return null_argument(err, "cf_list: db");
    return to_database(db)->cf_list(visit, ctx, err);
  });
}

// ---- Point reads ----------------------------------------------------------

int vt_get(kalam_db* db, const kalam_read_options* options, kalam_cf* cf,
           const void* key, size_t key_len, kalam_value_visitor visit,
           void* ctx, kalam_status* status) noexcept {
  return guard(status, [&](Error& err) {
    if (db == nullptr) return null_argument(err, "get: db");
    return to_database(db)->get(options, cf, key, key_len, visit, ctx, err);
  });
}

int vt_get_into(kalam_db* db, const kalam_read_options* options, kalam_cf* cf,
                const void* key, size_t key_len, void* buf, size_t buf_size,
                size_t* value_len, kalam_status* status) noexcept {
  return guard(status, [&](Error& err) {
    if (db == nullptr) return null_argument(err, "get_into: db");
    return to_database(db)->get_into(options, cf, key, key_len, buf, buf_size,
                                     value_len, err);
  });
}

int vt_multi_get(kalam_db* db, const kalam_read_options* options, size_t count,
                 kalam_cf* const* cfs, const void* const* keys,
                 const size_t* key_lens, kalam_multi_get_visitor visit,
                 void* ctx, kalam_status* status) noexcept {
  return guard(status, [&](Error& err) {
    if (db == nullptr) return null_argument(err, "multi_get: db");
    return to_database(db)->multi_get(options, count, cfs, keys, key_lens,
                                      visit, ctx, err);
  });
}

// ---- Writes ---------------------------------------------------------------

int vt_write(kalam_db* db, const kalam_write_options* options,
             const kalam_write_op* ops, size_t op_count,
             kalam_status* status) noexcept {
  return guard(status, [&](Error& err) {
    if (db == nullptr) return null_argument(err, "write: db");
    return to_database(db)->write(options, nullptr, 0, ops, op_count, err);
  });
}

int vt_write_conditional(kalam_db* db, const kalam_write_options* options,
                         const kalam_expectation* expects, size_t expect_count,
                         const kalam_write_op* ops, size_t op_count,
                         kalam_status* status) noexcept {
  return guard(status, [&](Error& err) {
    if (db == nullptr) return null_argument(err, "write_conditional: db");
    return to_database(db)->write(options, expects, expect_count, ops, op_count,
                                  err);
  });
}

int vt_get_limits(kalam_db* db, kalam_limits* out,
                  kalam_status* status) noexcept {
  return guard(status, [&](Error& err) {
    if (db == nullptr) return null_argument(err, "get_limits: db");
    return to_database(db)->get_limits(out, err);
  });
}

// ---- Snapshots ------------------------------------------------------------

int vt_snapshot_create(kalam_db* db, kalam_snapshot** out_snapshot,
                       kalam_status* status) noexcept {
  return guard(status, [&](Error& err) {
    if (db == nullptr) return null_argument(err, "snapshot_create: db");
    return to_database(db)->snapshot_create(out_snapshot, err);
  });
}

void vt_snapshot_release(kalam_db* db, kalam_snapshot* snapshot) noexcept {
  if (snapshot == nullptr) return;
  try {
    // The snapshot knows its database; `db` is not needed.
    static_cast<void>(db);
    Snapshot* snap = reinterpret_cast<Snapshot*>(snapshot);
    snap->db->snapshot_release(snapshot);
  } catch (...) {
    log(KALAM_LOG_ERROR, "snapshot_release: unexpected exception");
  }
}

// ---- Iterators ------------------------------------------------------------

int vt_iter_create(kalam_db* db, const kalam_iter_options* options,
                   kalam_cf* cf, kalam_iter** out_iter,
                   kalam_status* status) noexcept {
  return guard(status, [&](Error& err) {
    if (db == nullptr) return null_argument(err, "iter_create: db");
    return to_database(db)->iter_create(options, cf, out_iter, err);
  });
}

void vt_iter_destroy(kalam_iter* iter) noexcept {
  if (iter == nullptr) return;
  try {
    delete to_iterator(iter);
  } catch (...) {
    log(KALAM_LOG_ERROR, "iter_destroy: unexpected exception");
  }
}

int vt_iter_seek_first(kalam_iter* iter, kalam_status* status) noexcept {
  return guard(status, [&](Error& err) {
    if (iter == nullptr) return null_argument(err, "iter_seek_first: iter");
    return to_iterator(iter)->seek_first(err);
  });
}

int vt_iter_seek_last(kalam_iter* iter, kalam_status* status) noexcept {
  return guard(status, [&](Error& err) {
    if (iter == nullptr) return null_argument(err, "iter_seek_last: iter");
    return to_iterator(iter)->seek_last(err);
  });
}

int vt_iter_seek(kalam_iter* iter, const void* target, size_t target_len,
                 kalam_status* status) noexcept {
  return guard(status, [&](Error& err) {
    if (iter == nullptr) return null_argument(err, "iter_seek: iter");
    return to_iterator(iter)->seek(target, target_len, err);
  });
}

int vt_iter_seek_for_prev(kalam_iter* iter, const void* target,
                          size_t target_len, kalam_status* status) noexcept {
  return guard(status, [&](Error& err) {
    if (iter == nullptr) return null_argument(err, "iter_seek_for_prev: iter");
    return to_iterator(iter)->seek_for_prev(target, target_len, err);
  });
}

int vt_iter_next(kalam_iter* iter, kalam_status* status) noexcept {
  return guard(status, [&](Error& err) {
    if (iter == nullptr) return null_argument(err, "iter_next: iter");
    return to_iterator(iter)->next(err);
  });
}

int vt_iter_prev(kalam_iter* iter, kalam_status* status) noexcept {
  return guard(status, [&](Error& err) {
    if (iter == nullptr) return null_argument(err, "iter_prev: iter");
    return to_iterator(iter)->prev(err);
  });
}

int vt_iter_valid(const kalam_iter* iter) noexcept {
  return iter != nullptr && to_iterator(iter)->valid() ? 1 : 0;
}

int vt_iter_entry(const kalam_iter* iter, const void** key, size_t* key_len,
                  const void** value, size_t* value_len) noexcept {
  if (iter == nullptr) return KALAM_INVALID_ARGUMENT;
  return to_iterator(iter)->entry(key, key_len, value, value_len);
}

int vt_iter_status(const kalam_iter* iter, kalam_status* status) noexcept {
  return guard(status, [&](Error& err) {
    if (iter == nullptr) return null_argument(err, "iter_status: iter");
    return to_iterator(iter)->status(err);
  });
}

int vt_iter_next_batch(kalam_iter* iter, uint32_t flags, size_t max_entries,
                       kalam_entry_visitor visit, void* ctx, size_t* consumed,
                       kalam_status* status) noexcept {
  if (consumed != nullptr) *consumed = 0;
  return guard(status, [&](Error& err) {
    if (iter == nullptr) return null_argument(err, "iter_next_batch: iter");
    return to_iterator(iter)->next_batch(flags, max_entries, visit, ctx,
                                         consumed, err);
  });
}

int vt_iter_read_batch(kalam_iter* iter, uint32_t flags, size_t max_entries,
                       kalam_entry* out, size_t* filled,
                       kalam_status* status) noexcept {
  if (filled != nullptr) *filled = 0;
  return guard(status, [&](Error& err) {
    if (iter == nullptr) return null_argument(err, "iter_read_batch: iter");
    return to_iterator(iter)->read_batch(flags, max_entries, out, filled, err);
  });
}

const kalam_backend_vtable kVtable = {
    .struct_size = sizeof(kalam_backend_vtable),
    .reserved0 = 0,
    .open = vt_open,
    .close = vt_close,
    .flush = vt_flush,
    .cf_open = vt_cf_open,
    .cf_drop = vt_cf_drop,
    .cf_list = vt_cf_list,
    .get = vt_get,
    .get_into = vt_get_into,
    .multi_get = vt_multi_get,
    .write = vt_write,
    .snapshot_create = vt_snapshot_create,
    .snapshot_release = vt_snapshot_release,
    .iter_create = vt_iter_create,
    .iter_destroy = vt_iter_destroy,
    .iter_seek_first = vt_iter_seek_first,
    .iter_seek_last = vt_iter_seek_last,
    .iter_seek = vt_iter_seek,
    .iter_seek_for_prev = vt_iter_seek_for_prev,
    .iter_next = vt_iter_next,
    .iter_prev = vt_iter_prev,
    .iter_valid = vt_iter_valid,
    .iter_entry = vt_iter_entry,
    .iter_status = vt_iter_status,
    .iter_next_batch = vt_iter_next_batch,
    .compact_range = nullptr,
    .get_property = nullptr,
    .checkpoint = nullptr,
    .iter_read_batch = vt_iter_read_batch,
    .write_conditional = vt_write_conditional,
    .read_modify_write = nullptr,
    .get_limits = vt_get_limits,
};

int entry(const kalam_host* host, kalam_plugin_info* info,
          kalam_status* status) {
  // Built on first use (not in a static initialiser); lives as long as the
  // library.
  static const std::string version = std::string(kPluginVersion) +
                                     " (etcd v3 API, gRPC " + grpc::Version() +
                                     ")";
  const kalam_plugin::PluginValues values = {
      .name = "etcd",
      .version = version.c_str(),
      .format_version = kFormatVersion,
      .abi_minor = KALAM_ABI_VERSION_MINOR,
      .capabilities = kCapabilities,
      .max_key_size = kMaxKeySize,
      .max_value_size = kMaxValueSize,
      .vtable = &kVtable,
  };
  // plugin_entry() records the agreed minor for kalam_plugin::host_minor().
  return kalam_plugin::plugin_entry(host, info, status, values, &set_log_sink);
}

}  // namespace
}  // namespace kalam::etcd_plugin

KALAM_PLUGIN_EXPORT int kalam_plugin_entry(const kalam_host* host,
                                           kalam_plugin_info* info,
                                           kalam_status* status) noexcept {
  return kalam_plugin::guarded(
      status, "etcd plugin", "kalam_plugin_entry",
      [&] { return kalam::etcd_plugin::entry(host, info, status); });
}
