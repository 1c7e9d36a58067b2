// vtable_glue.h - the function-table entry points that the database-backed
// plugins (sqlite, postgres, etcd) implement the same way: each one checks
// its handle, calls the plugin's Database or Iterator, and turns an Error
// (plugin_error.h) or a caught exception into the caller's kalam_status.
// Header-only, C++20, standard library only.
//
// A plugin instantiates VtableGlue<P> with a traits type P:
//
//   struct P {
//     static constexpr const char* kName = "postgres plugin";  // prefix
//     using Database = ...;  // open(params, &unique_ptr, err), close(err),
//                            // cf_*, get*, multi_get, iter_create, ...
//     using Iterator = ...;  // seek*, next, prev, valid, entry, status,
//                            // next_batch, read_batch
//     using Snapshot = ...;  // has `Database* db`
//     static void publish(kalam_status*, int code, int64_t native,
//                         std::string_view message) noexcept;
//     static void log(int32_t level, const std::string& message) noexcept;
//   };
//
// and builds its kalam_backend_vtable from common_vtable() plus the slots
// that differ. A member is compiled only when used, so a plugin whose
// Database lacks, say, flush() or get_property() writes its own entry point
// for it (with guard() and null_argument()) or leaves the slot NULL.
#pragma once

#include <kalam/backend_api.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "plugin_error.h"
#include "plugin_support.h"

namespace kalam_plugin {

template <class P>
struct VtableGlue {
  using Database = typename P::Database;
  using Iterator = typename P::Iterator;
  using Snapshot = typename P::Snapshot;

  static Database* database(kalam_db* db) {
    return reinterpret_cast<Database*>(db);
  }
  static Iterator* iterator(kalam_iter* iter) {
    return reinterpret_cast<Iterator*>(iter);
  }
  static const Iterator* iterator(const kalam_iter* iter) {
    return reinterpret_cast<const Iterator*>(iter);
  }

  // Runs `body(Error&)` and reports what it returns, as the host may see it
  // (code_for_host()): the exception firewall of every entry point.
  // std::bad_alloc becomes KALAM_NO_MEMORY, any other exception
  // KALAM_INTERNAL.
  template <class Body>
  static int guard(kalam_status* status, Body&& body) noexcept {
    return guarded(status, P::kName, nullptr, [&] {
      Error err;
      const int rc = code_for_host(body(err));
      if (rc != KALAM_OK && rc != KALAM_NOT_FOUND) {
        P::publish(status, rc, err.native_code,
                   err.message.empty() ? std::string(P::kName) + ": failed"
                                       : err.message);
      }
      return rc;
    });
  }

  static int null_argument(Error& err, const char* what) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                std::string(P::kName) + ": " + what + " is NULL");
  }

  // ---- Database -----------------------------------------------------------

  static int open(const kalam_open_params* params, kalam_db** out_db,
                  kalam_status* status) noexcept {
    return guard(status, [&](Error& err) {
      if (params == nullptr) return null_argument(err, "open: params");
      if (out_db == nullptr) return null_argument(err, "open: out_db");
      if (params->struct_size < offsetof(kalam_open_params, options_yaml)) {
        return fail(err, KALAM_INVALID_ARGUMENT,
                    std::string(P::kName) + ": open: params->struct_size (" +
                        std::to_string(params->struct_size) +
                        ") is smaller than kalam_open_params of ABI 1.0");
      }
      std::unique_ptr<Database> db;
      const int rc = Database::open(*params, &db, err);
      if (rc == KALAM_OK) *out_db = reinterpret_cast<kalam_db*>(db.release());
      return rc;
    });
  }

  static int close(kalam_db* db, kalam_status* status) noexcept {
    return guard(status, [&](Error& err) {
      if (db == nullptr) return null_argument(err, "close: db");
      Database* d = database(db);
      int rc = KALAM_OK;
      try {
        rc = d->close(err);
      } catch (...) {
        delete d;  // closed whatever happened, except KALAM_BUSY
        throw;
      }
      if (rc != KALAM_BUSY) delete d;
      return rc;
    });
  }

  static int flush(kalam_db* db, uint32_t flags,
                   kalam_status* status) noexcept {
    return guard(status, [&](Error& err) {
      if (db == nullptr) return null_argument(err, "flush: db");
      return database(db)->flush(flags, err);
    });
  }

  // ---- Column families ----------------------------------------------------

  static int cf_open(kalam_db* db, const char* name, uint32_t flags,
                     kalam_cf** out_cf, kalam_status* status) noexcept {
    return guard(status, [&](Error& err) {
      if (db == nullptr) return null_argument(err, "cf_open: db");
      return database(db)->cf_open(name, flags, out_cf, err);
    });
  }

  static int cf_drop(kalam_db* db, kalam_cf* cf,
                     kalam_status* status) noexcept {
    return guard(status, [&](Error& err) {
      if (db == nullptr) return null_argument(err, "cf_drop: db");
      return database(db)->cf_drop(cf, err);
    });
  }

  static int cf_list(kalam_db* db, kalam_name_visitor visit, void* ctx,
                     kalam_status* status) noexcept {
    return guard(status, [&](Error& err) {
      if (db == nullptr) return null_argument(err, "cf_list: db");
      return database(db)->cf_list(visit, ctx, err);
    });
  }

  // ---- Point reads --------------------------------------------------------

  static int get(kalam_db* db, const kalam_read_options* options, kalam_cf* cf,
                 const void* key, size_t key_len, kalam_value_visitor visit,
                 void* ctx, kalam_status* status) noexcept {
    return guard(status, [&](Error& err) {
      if (db == nullptr) return null_argument(err, "get: db");
      return database(db)->get(options, cf, key, key_len, visit, ctx, err);
    });
  }

  static int get_into(kalam_db* db, const kalam_read_options* options,
                      kalam_cf* cf, const void* key, size_t key_len, void* buf,
                      size_t buf_size, size_t* value_len,
                      kalam_status* status) noexcept {
    return guard(status, [&](Error& err) {
      if (db == nullptr) return null_argument(err, "get_into: db");
      return database(db)->get_into(options, cf, key, key_len, buf, buf_size,
                                    value_len, err);
    });
  }

  static int multi_get(kalam_db* db, const kalam_read_options* options,
                       size_t count, kalam_cf* const* cfs,
                       const void* const* keys, const size_t* key_lens,
                       kalam_multi_get_visitor visit, void* ctx,
                       kalam_status* status) noexcept {
    return guard(status, [&](Error& err) {
      if (db == nullptr) return null_argument(err, "multi_get: db");
      return database(db)->multi_get(options, count, cfs, keys, key_lens, visit,
                                     ctx, err);
    });
  }

  // ---- Writes -------------------------------------------------------------

  static int write(kalam_db* db, const kalam_write_options* options,
                   const kalam_write_op* ops, size_t op_count,
                   kalam_status* status) noexcept {
    return guard(status, [&](Error& err) {
      if (db == nullptr) return null_argument(err, "write: db");
      return database(db)->write(options, ops, op_count, err);
    });
  }

  static int write_conditional(kalam_db* db, const kalam_write_options* options,
                               const kalam_expectation* expects,
                               size_t expect_count, const kalam_write_op* ops,
                               size_t op_count, kalam_status* status) noexcept {
    return guard(status, [&](Error& err) {
      if (db == nullptr) return null_argument(err, "write_conditional: db");
      return database(db)->write_conditional(options, expects, expect_count,
                                             ops, op_count, err);
    });
  }

  // ---- Snapshots ----------------------------------------------------------

  static int snapshot_create(kalam_db* db, kalam_snapshot** out_snapshot,
                             kalam_status* status) noexcept {
    return guard(status, [&](Error& err) {
      if (db == nullptr) return null_argument(err, "snapshot_create: db");
      return database(db)->snapshot_create(out_snapshot, err);
    });
  }

  static void snapshot_release(kalam_db* db,
                               kalam_snapshot* snapshot) noexcept {
    if (snapshot == nullptr) return;
    try {
      // The snapshot knows its database; `db` is not needed.
      static_cast<void>(db);
      Snapshot* snap = reinterpret_cast<Snapshot*>(snapshot);
      snap->db->snapshot_release(snapshot);
    } catch (...) {
      P::log(KALAM_LOG_ERROR, "snapshot_release: unexpected exception");
    }
  }

  // ---- Iterators ----------------------------------------------------------

  static int iter_create(kalam_db* db, const kalam_iter_options* options,
                         kalam_cf* cf, kalam_iter** out_iter,
                         kalam_status* status) noexcept {
    return guard(status, [&](Error& err) {
      if (db == nullptr) return null_argument(err, "iter_create: db");
      return database(db)->iter_create(options, cf, out_iter, err);
    });
  }

  static void iter_destroy(kalam_iter* iter) noexcept {
    if (iter == nullptr) return;
    try {
      delete iterator(iter);
    } catch (...) {
      P::log(KALAM_LOG_ERROR, "iter_destroy: unexpected exception");
    }
  }

  static int iter_seek_first(kalam_iter* iter, kalam_status* status) noexcept {
    return guard(status, [&](Error& err) {
      if (iter == nullptr) return null_argument(err, "iter_seek_first: iter");
      return iterator(iter)->seek_first(err);
    });
  }

  static int iter_seek_last(kalam_iter* iter, kalam_status* status) noexcept {
    return guard(status, [&](Error& err) {
      if (iter == nullptr) return null_argument(err, "iter_seek_last: iter");
      return iterator(iter)->seek_last(err);
    });
  }

  static int iter_seek(kalam_iter* iter, const void* target, size_t target_len,
                       kalam_status* status) noexcept {
    return guard(status, [&](Error& err) {
      if (iter == nullptr) return null_argument(err, "iter_seek: iter");
      return iterator(iter)->seek(target, target_len, err);
    });
  }

  static int iter_seek_for_prev(kalam_iter* iter, const void* target,
                                size_t target_len,
                                kalam_status* status) noexcept {
    return guard(status, [&](Error& err) {
      if (iter == nullptr) {
        return null_argument(err, "iter_seek_for_prev: iter");
      }
      return iterator(iter)->seek_for_prev(target, target_len, err);
    });
  }

  static int iter_next(kalam_iter* iter, kalam_status* status) noexcept {
    return guard(status, [&](Error& err) {
      if (iter == nullptr) return null_argument(err, "iter_next: iter");
      return iterator(iter)->next(err);
    });
  }

  static int iter_prev(kalam_iter* iter, kalam_status* status) noexcept {
    return guard(status, [&](Error& err) {
      if (iter == nullptr) return null_argument(err, "iter_prev: iter");
      return iterator(iter)->prev(err);
    });
  }

  static int iter_valid(const kalam_iter* iter) noexcept {
    return iter != nullptr && iterator(iter)->valid() ? 1 : 0;
  }

  static int iter_entry(const kalam_iter* iter, const void** key,
                        size_t* key_len, const void** value,
                        size_t* value_len) noexcept {
    if (iter == nullptr) return KALAM_INVALID_ARGUMENT;
    return iterator(iter)->entry(key, key_len, value, value_len);
  }

  static int iter_status(const kalam_iter* iter,
                         kalam_status* status) noexcept {
    return guard(status, [&](Error& err) {
      if (iter == nullptr) return null_argument(err, "iter_status: iter");
      return iterator(iter)->status(err);
    });
  }

  static int iter_next_batch(kalam_iter* iter, uint32_t flags,
                             size_t max_entries, kalam_entry_visitor visit,
                             void* ctx, size_t* consumed,
                             kalam_status* status) noexcept {
    if (consumed != nullptr) *consumed = 0;
    return guard(status, [&](Error& err) {
      if (iter == nullptr) return null_argument(err, "iter_next_batch: iter");
      return iterator(iter)->next_batch(flags, max_entries, visit, ctx,
                                        consumed, err);
    });
  }

  static int iter_read_batch(kalam_iter* iter, uint32_t flags,
                             size_t max_entries, kalam_entry* out,
                             size_t* filled, kalam_status* status) noexcept {
    if (filled != nullptr) *filled = 0;
    return guard(status, [&](Error& err) {
      if (iter == nullptr) return null_argument(err, "iter_read_batch: iter");
      return iterator(iter)->read_batch(flags, max_entries, out, filled, err);
    });
  }

  // The function table with every slot that all three plugins fill the
  // same way; the plugin sets the rest (flush, write, write_conditional,
  // get_property, checkpoint, read_modify_write, get_limits,
  // compact_range), each to a member above, its own function or NULL.
  static constexpr kalam_backend_vtable common_vtable() {
    kalam_backend_vtable v{};
    v.struct_size = sizeof(kalam_backend_vtable);
    v.open = open;
    v.close = close;
    v.cf_open = cf_open;
    v.cf_drop = cf_drop;
    v.cf_list = cf_list;
    v.get = get;
    v.get_into = get_into;
    v.multi_get = multi_get;
    v.snapshot_create = snapshot_create;
    v.snapshot_release = snapshot_release;
    v.iter_create = iter_create;
    v.iter_destroy = iter_destroy;
    v.iter_seek_first = iter_seek_first;
    v.iter_seek_last = iter_seek_last;
    v.iter_seek = iter_seek;
    v.iter_seek_for_prev = iter_seek_for_prev;
    v.iter_next = iter_next;
    v.iter_prev = iter_prev;
    v.iter_valid = iter_valid;
    v.iter_entry = iter_entry;
    v.iter_status = iter_status;
    v.iter_next_batch = iter_next_batch;
    v.iter_read_batch = iter_read_batch;
    return v;
  }

  // ---- Optional -----------------------------------------------------------

  static int get_property(kalam_db* db, kalam_cf* cf, const char* name,
                          kalam_value_visitor visit, void* ctx,
                          kalam_status* status) noexcept {
    return guard(status, [&](Error& err) {
      if (db == nullptr) return null_argument(err, "get_property: db");
      return database(db)->get_property(cf, name, visit, ctx, err);
    });
  }
};

}  // namespace kalam_plugin
