// The mutation harness's plugin: a wrapper that forwards every call to a real
// in-tree plugin (the memory plugin, loaded with dlopen from the path
// compiled in) and breaks exactly one clause of backend_api.h, written as a
// plugin author's real mistake. Which clause is chosen at load time by the
// environment variable KALAM_MUTATION (the table `kMutations` below names
// them all); an unknown or missing name refuses to load, listing the names.
//
// tests/conformance/CMakeLists.txt runs the runner once per mutation and
// requires it to fail on the case(s) docs/conformance-map.md says prove the
// clause; two more mutations crash and hang, to prove the runner survives.
#include <kalam/backend_api.h>
#include <sched.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "wrapped_plugin.h"

namespace {

kalam_backend_vtable g_table;
const kalam_backend_vtable* g_real = nullptr;

// ---- The runner's own tests: a plugin that crashes, one that hangs --------

// Reads the last entry through a pointer that is NULL on an empty range (a
// crash, SIGSEGV, on the first iter_seek_last()).
struct LastEntry {
  int present;
};
LastEntry* volatile g_last_entry = nullptr;
int seek_last_crashes(kalam_iter* it, kalam_status* s) {
  if (g_last_entry->present == 0) return KALAM_NOT_FOUND;
  return g_real->iter_seek_last(it, s);
}

// Waits for a background flush thread that was never started (a hang, in
// every flush(); bounded only so that a stray process ends some day).
int flush_hangs(kalam_db*, uint32_t, kalam_status*) {
  for (int i = 0; i < 3600; ++i) sleep(1);
  return KALAM_INTERNAL;
}

// ---- Mutations: each one a clause of backend_api.h broken -----------------
// Every function below is a plugin author's plausible mistake, named after
// the clause it breaks; docs/conformance-map.md lists which case catches it.

// Iterators (the five defects the suite started with) -------------------------

// iter_seek_last() lands one key early (an off-by-one in "last").
int seek_last_one_early(kalam_iter* it, kalam_status* s) {
  int rc = g_real->iter_seek_last(it, s);
  if (rc == KALAM_OK) rc = g_real->iter_prev(it, s);
  return rc;
}

// iter_seek_for_prev() as "seek, then step back": wrong when the target
// itself exists (it must land on it, not before it).
int seek_for_prev_strict(kalam_iter* it, const void* t, size_t tl,
                         kalam_status* s) {
  const int rc = g_real->iter_seek(it, t, tl, s);
  if (rc == KALAM_OK) return g_real->iter_prev(it, s);
  if (rc == KALAM_NOT_FOUND) return g_real->iter_seek_last(it, s);
  return rc;
}

// iter_create(): bounds dropped (the store's iterator has no bounds and the
// author forgot to check them on every move), or the snapshot dropped.
int iter_create_without_bounds(kalam_db* db, const kalam_iter_options* options,
                               kalam_cf* cf, kalam_iter** out,
                               kalam_status* s) {
  if (options == nullptr) return g_real->iter_create(db, options, cf, out, s);
  kalam_iter_options altered = *options;
  altered.flags &=
      ~(KALAM_ITER_LOWER_BOUND | KALAM_ITER_UPPER_BOUND | KALAM_ITER_PREFIX);
  return g_real->iter_create(db, &altered, cf, out, s);
}
int iter_create_without_snapshot(kalam_db* db,
                                 const kalam_iter_options* options,
                                 kalam_cf* cf, kalam_iter** out,
                                 kalam_status* s) {
  if (options == nullptr) return g_real->iter_create(db, options, cf, out, s);
  kalam_iter_options altered = *options;
  altered.snapshot = nullptr;
  return g_real->iter_create(db, &altered, cf, out, s);
}
int get_latest(kalam_db* db, const kalam_read_options*, kalam_cf* cf,
               const void* k, size_t kl, kalam_value_visitor visit, void* ctx,
               kalam_status* s) {
  return g_real->get(db, nullptr, cf, k, kl, visit, ctx, s);
}

// iter_create() sets a bound only when it is non-empty (`if (upper_len)`),
// so an empty upper bound, which excludes every key, excludes none.
int iter_create_skips_empty_bounds(kalam_db* db,
                                   const kalam_iter_options* options,
                                   kalam_cf* cf, kalam_iter** out,
                                   kalam_status* s) {
  if (options == nullptr) return g_real->iter_create(db, options, cf, out, s);
  kalam_iter_options altered = *options;
  if (altered.lower_len == 0) altered.flags &= ~KALAM_ITER_LOWER_BOUND;
  if (altered.upper_len == 0) altered.flags &= ~KALAM_ITER_UPPER_BOUND;
  return g_real->iter_create(db, &altered, cf, out, s);
}

// iter_read_batch() hands out views into one buffer it reuses per entry (the
// library's "current entry"), so every view of a batch shows the last one.
int read_batch_one_buffer(kalam_iter* it, uint32_t flags, size_t max,
                          kalam_entry* out, size_t* filled, kalam_status* s) {
  static std::string buffer;
  const int rc = g_real->iter_read_batch(it, flags, max, out, filled, s);
  if (out == nullptr || filled == nullptr || *filled == 0) return rc;
  const size_t last = *filled - 1;
  buffer.assign(static_cast<const char*>(out[last].key), out[last].key_len);
  buffer.append(static_cast<const char*>(out[last].value), out[last].value_len);
  for (size_t i = 0; i < *filled; ++i) {
    out[i].key = buffer.data();
    out[i].key_len = out[last].key_len;
    out[i].value = buffer.data() + out[last].key_len;
    out[i].value_len = out[last].value_len;
  }
  return rc;
}

// iter_read_batch() returns KALAM_OK whenever it filled something, even when
// it ran out of entries (it must then return NOT_FOUND).
int read_batch_ok_at_end(kalam_iter* it, uint32_t flags, size_t max,
                         kalam_entry* out, size_t* filled, kalam_status* s) {
  const int rc = g_real->iter_read_batch(it, flags, max, out, filled, s);
  if (rc == KALAM_NOT_FOUND && filled != nullptr && *filled > 0) {
    return KALAM_OK;
  }
  return rc;
}

// iter_next_batch() built from single moves that steps past the entry the
// visitor refused (it must stay on it, unconsumed).
int next_batch_consumes_refused(kalam_iter* it, uint32_t flags, size_t max,
                                kalam_entry_visitor visit, void* ctx,
                                size_t* consumed, kalam_status* s) {
  if (flags != 0 && flags != KALAM_BATCH_REVERSE) {
    return g_real->iter_next_batch(it, flags, max, visit, ctx, consumed, s);
  }
  size_t n = 0;
  int rc = g_real->iter_valid(it) ? KALAM_OK : KALAM_NOT_FOUND;
  while (rc == KALAM_OK && n < max) {
    const void *k = nullptr, *v = nullptr;
    size_t kl = 0, vl = 0;
    g_real->iter_entry(it, &k, &kl, &v, &vl);
    const int stop = visit(ctx, k, kl, v, vl);
    rc = (flags & KALAM_BATCH_REVERSE) ? g_real->iter_prev(it, s)
                                       : g_real->iter_next(it, s);
    if (stop != 0) break;
    ++n;
  }
  if (consumed != nullptr) *consumed = n;
  return rc;
}

// Out-parameters written before the call can fail -------------------------

int open_clears_out(const kalam_open_params* p, kalam_db** out,
                    kalam_status* s) {
  if (out != nullptr) *out = nullptr;  // "initialise outputs first"
  return g_real->open(p, out, s);
}
int cf_open_clears_out(kalam_db* db, const char* name, uint32_t flags,
                       kalam_cf** out, kalam_status* s) {
  if (out != nullptr) *out = nullptr;
  return g_real->cf_open(db, name, flags, out, s);
}
int get_into_zeroes_length(kalam_db* db, const kalam_read_options* o,
                           kalam_cf* cf, const void* k, size_t kl, void* buf,
                           size_t size, size_t* len, kalam_status* s) {
  if (len != nullptr) *len = 0;
  return g_real->get_into(db, o, cf, k, kl, buf, size, len, s);
}
int iter_entry_clears_views(const kalam_iter* it, const void** k, size_t* kl,
                            const void** v, size_t* vl) {
  if (k != nullptr) *k = nullptr;
  if (kl != nullptr) *kl = 0;
  if (v != nullptr) *v = nullptr;
  if (vl != nullptr) *vl = 0;
  return g_real->iter_entry(it, k, kl, v, vl);
}

// Flag words that keep only the bits the author knows (convention 11 says
// unknown bits are refused) ---------------------------------------------

int flush_ignores_flags(kalam_db* db, uint32_t, kalam_status* s) {
  return g_real->flush(db, 0, s);
}
int cf_open_ignores_flags(kalam_db* db, const char* name, uint32_t flags,
                          kalam_cf** out, kalam_status* s) {
  return g_real->cf_open(db, name, flags & KALAM_CF_CREATE_IF_MISSING, out, s);
}
int write_ignores_flags(kalam_db* db, const kalam_write_options* o,
                        const kalam_write_op* ops, size_t n, kalam_status* s) {
  if (o == nullptr) return g_real->write(db, o, ops, n, s);
  kalam_write_options known = *o;
  known.flags &= KALAM_WRITE_SYNC;
  return g_real->write(db, &known, ops, n, s);
}
int iter_create_ignores_flags(kalam_db* db, const kalam_iter_options* options,
                              kalam_cf* cf, kalam_iter** out, kalam_status* s) {
  if (options == nullptr) return g_real->iter_create(db, options, cf, out, s);
  kalam_iter_options known = *options;
  known.flags &= KALAM_ITER_LOWER_BOUND | KALAM_ITER_UPPER_BOUND |
                 KALAM_ITER_PREFIX | KALAM_ITER_REVERSE;
  return g_real->iter_create(db, &known, cf, out, s);
}
int next_batch_ignores_flags(kalam_iter* it, uint32_t flags, size_t max,
                             kalam_entry_visitor visit, void* ctx,
                             size_t* consumed, kalam_status* s) {
  return g_real->iter_next_batch(it, flags & KALAM_BATCH_REVERSE, max, visit,
                                 ctx, consumed, s);
}

// Point reads ------------------------------------------------------------

// multi_get() as a loop of get(): every key right, but not one view. (The
// time a real store spends per get(), a statement or a round trip, is
// modelled by giving up the CPU between keys.)
struct MultiGetCtx {
  kalam_multi_get_visitor visit;
  void* ctx;
  size_t index;
  bool visited;
};
void forward_one(void* c, const void* v, size_t n) {
  auto* x = static_cast<MultiGetCtx*>(c);
  x->visited = true;
  x->visit(x->ctx, x->index, KALAM_OK, v, n);
}
int get_one(kalam_db* db, const kalam_read_options* o, kalam_cf* const* cfs,
            const void* const* keys, const size_t* lens, size_t i,
            kalam_multi_get_visitor visit, void* ctx, kalam_status* s) {
  MultiGetCtx x{visit, ctx, i, false};
  const int rc = g_real->get(db, o, cfs != nullptr ? cfs[i] : nullptr, keys[i],
                             lens[i], forward_one, &x, s);
  if (!x.visited) visit(ctx, i, rc, nullptr, 0);
  return rc;
}
int multi_get_key_by_key(kalam_db* db, const kalam_read_options* o,
                         size_t count, kalam_cf* const* cfs,
                         const void* const* keys, const size_t* lens,
                         kalam_multi_get_visitor visit, void* ctx,
                         kalam_status* s) {
  if (keys == nullptr || lens == nullptr || visit == nullptr) {
    return g_real->multi_get(db, o, count, cfs, keys, lens, visit, ctx, s);
  }
  for (size_t i = 0; i < count; ++i) {
    if (i > 0) sched_yield();  // each get() a statement or a round trip
    get_one(db, o, cfs, keys, lens, i, visit, ctx, s);
  }
  return KALAM_OK;
}
// multi_get() one family at a time (the default family first): every key
// visited once, but not in index order.
int multi_get_by_family(kalam_db* db, const kalam_read_options* o, size_t count,
                        kalam_cf* const* cfs, const void* const* keys,
                        const size_t* lens, kalam_multi_get_visitor visit,
                        void* ctx, kalam_status* s) {
  if (keys == nullptr || lens == nullptr || visit == nullptr) {
    return g_real->multi_get(db, o, count, cfs, keys, lens, visit, ctx, s);
  }
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t i = 0; i < count; ++i) {
      const bool in_default = cfs == nullptr || cfs[i] == nullptr;
      if (in_default == (pass == 0)) {
        get_one(db, o, cfs, keys, lens, i, visit, ctx, s);
      }
    }
  }
  return KALAM_OK;
}
// multi_get() that reports found keys only (the store's batch read returns
// the hits, and the author forgot the misses).
struct SkipMissing {
  kalam_multi_get_visitor visit;
  void* ctx;
};
int multi_get_skips_missing(kalam_db* db, const kalam_read_options* o,
                            size_t count, kalam_cf* const* cfs,
                            const void* const* keys, const size_t* lens,
                            kalam_multi_get_visitor visit, void* ctx,
                            kalam_status* s) {
  if (visit == nullptr) {
    return g_real->multi_get(db, o, count, cfs, keys, lens, visit, ctx, s);
  }
  SkipMissing x{visit, ctx};
  return g_real->multi_get(
      db, o, count, cfs, keys, lens,
      [](void* c, size_t i, int code, const void* v, size_t n) {
        auto* y = static_cast<SkipMissing*>(c);
        if (code != KALAM_NOT_FOUND) y->visit(y->ctx, i, code, v, n);
      },
      &x, s);
}
// get() validates keys as a write does, so the empty key is
// INVALID_ARGUMENT instead of NOT_FOUND.
int get_refuses_empty_key(kalam_db* db, const kalam_read_options* o,
                          kalam_cf* cf, const void* k, size_t kl,
                          kalam_value_visitor visit, void* ctx,
                          kalam_status* s) {
  if (kl == 0) return KALAM_INVALID_ARGUMENT;
  return g_real->get(db, o, cf, k, kl, visit, ctx, s);
}
// get() fills the status for a miss too (the store's "not found" is an
// error there), though NOT_FOUND is a result and leaves the status alone.
int get_status_on_miss(kalam_db* db, const kalam_read_options* o, kalam_cf* cf,
                       const void* k, size_t kl, kalam_value_visitor visit,
                       void* ctx, kalam_status* s) {
  const int rc = g_real->get(db, o, cf, k, kl, visit, ctx, s);
  if (rc == KALAM_NOT_FOUND && s != nullptr && s->struct_size >= sizeof *s) {
    s->code = KALAM_NOT_FOUND;
    s->native_code = 0;
    std::snprintf(s->message, sizeof s->message, "mutant: key not found");
  }
  return rc;
}
// get() on a dropped family answers NOT_FOUND (the family's table is gone,
// so the key is "not there").
int get_dropped_as_missing(kalam_db* db, const kalam_read_options* o,
                           kalam_cf* cf, const void* k, size_t kl,
                           kalam_value_visitor visit, void* ctx,
                           kalam_status* s) {
  const int rc = g_real->get(db, o, cf, k, kl, visit, ctx, s);
  return rc == KALAM_DROPPED ? KALAM_NOT_FOUND : rc;
}

// Writes -------------------------------------------------------------------

// write() applies ops one at a time and stops at the first invalid one.
int write_one_by_one(kalam_db* db, const kalam_write_options* o,
                     const kalam_write_op* ops, size_t count, kalam_status* s) {
  if (ops == nullptr || o == nullptr)
    return g_real->write(db, o, ops, count, s);
  for (size_t i = 0; i < count; ++i) {
    const int rc =
        g_real->write(db, o, kalam_write_op_at(ops, o->op_stride, i), 1, s);
    if (rc != KALAM_OK) return rc;
  }
  return KALAM_OK;
}
// write() checks `ops != NULL` before looking at the count, so the empty
// write (op_count 0, ops NULL) is refused.
int write_refuses_empty(kalam_db* db, const kalam_write_options* o,
                        const kalam_write_op* ops, size_t count,
                        kalam_status* s) {
  if (ops == nullptr) return KALAM_INVALID_ARGUMENT;
  return g_real->write(db, o, ops, count, s);
}
// write() treats every op's value pointer as required, so an empty value
// passed as NULL with length 0 is refused.
int write_refuses_null_value(kalam_db* db, const kalam_write_options* o,
                             const kalam_write_op* ops, size_t count,
                             kalam_status* s) {
  if (ops != nullptr && o != nullptr) {
    for (size_t i = 0; i < count; ++i) {
      const kalam_write_op* op = kalam_write_op_at(ops, o->op_stride, i);
      if (op->type == KALAM_OP_PUT && op->value == nullptr) {
        return KALAM_INVALID_ARGUMENT;
      }
    }
  }
  return g_real->write(db, o, ops, count, s);
}
// Rewrites the op array; `edit` sees each op and appends what to apply.
template <typename Edit>
int write_edited(kalam_db* db, const kalam_write_options* o,
                 const kalam_write_op* ops, size_t count, kalam_status* s,
                 Edit edit) {
  if (ops == nullptr || o == nullptr || o->op_stride < sizeof(kalam_write_op)) {
    return g_real->write(db, o, ops, count, s);
  }
  std::vector<kalam_write_op> out;
  for (size_t i = 0; i < count; ++i) {
    if (!edit(*kalam_write_op_at(ops, o->op_stride, i), &out)) {
      return KALAM_INVALID_ARGUMENT;
    }
  }
  kalam_write_options packed = *o;
  packed.op_stride = sizeof(kalam_write_op);
  return g_real->write(db, &packed, out.data(), out.size(), s);
}
// DELETE_RANGE removes its end key too (an inclusive range).
int write_range_inclusive(kalam_db* db, const kalam_write_options* o,
                          const kalam_write_op* ops, size_t count,
                          kalam_status* s) {
  return write_edited(
      db, o, ops, count, s,
      [](const kalam_write_op& op, std::vector<kalam_write_op>* out) {
        out->push_back(op);
        if (op.type == KALAM_OP_DELETE_RANGE && op.value_len > 0) {
          kalam_write_op end = op;
          end.type = KALAM_OP_DELETE;
          end.key = op.value;
          end.key_len = op.value_len;
          end.value = nullptr;
          end.value_len = 0;
          out->push_back(end);
        }
        return true;
      });
}
// A reversed DELETE_RANGE (end < begin) is refused as malformed (it must
// remove nothing and succeed).
int write_refuses_reversed_range(kalam_db* db, const kalam_write_options* o,
                                 const kalam_write_op* ops, size_t count,
                                 kalam_status* s) {
  return write_edited(
      db, o, ops, count, s,
      [](const kalam_write_op& op, std::vector<kalam_write_op>* out) {
        if (op.type == KALAM_OP_DELETE_RANGE) {
          const std::string begin(static_cast<const char*>(op.key), op.key_len);
          const std::string end(static_cast<const char*>(op.value),
                                op.value_len);
          if (end < begin) return false;
        }
        out->push_back(op);
        return true;
      });
}

// Status and options ---------------------------------------------------------

// On failure, copies a whole kalam_status into the caller's, whatever its
// struct_size (convention 7: only the fields it covers).
int write_status_whole(kalam_db* db, const kalam_write_options* o,
                       const kalam_write_op* ops, size_t count,
                       kalam_status* s) {
  kalam_status full{};
  full.struct_size = sizeof full;
  const int rc = g_real->write(db, o, ops, count, &full);
  if (rc != KALAM_OK && rc != KALAM_NOT_FOUND && s != nullptr) {
    std::memcpy(s, &full, sizeof full);
  }
  return rc;
}
// open() ignores the options (the author's store has none it needs), so an
// unknown key is accepted silently.
int open_ignores_options(const kalam_open_params* p, kalam_db** out,
                         kalam_status* s) {
  if (p == nullptr) return g_real->open(p, out, s);
  kalam_open_params none = *p;
  none.option_keys = nullptr;
  none.option_values = nullptr;
  none.option_count = 0;
  return g_real->open(&none, out, s);
}

// Column families ----------------------------------------------------------

// cf_list() lists the store's own tables, which do not include "default".
struct ListCtx {
  kalam_name_visitor visit;
  void* ctx;
};
int cf_list_without_default(kalam_db* db, kalam_name_visitor visit, void* ctx,
                            kalam_status* s) {
  if (visit == nullptr) return g_real->cf_list(db, visit, ctx, s);
  ListCtx x{visit, ctx};
  return g_real->cf_list(
      db,
      [](void* c, const char* name) {
        auto* y = static_cast<ListCtx*>(c);
        if (std::strcmp(name, "default") != 0) y->visit(y->ctx, name);
      },
      &x, s);
}

// Release calls that do not accept NULL ----------------------------------

// iter_destroy() reads the iterator's header before freeing it.
struct IterHeader {
  uint32_t magic;
};
void iter_destroy_reads_null(kalam_iter* it) {
  const auto* header = reinterpret_cast<const volatile IterHeader*>(it);
  if (header->magic == 0xDEADu) return;
  g_real->iter_destroy(it);
}

// ABI 1.2: conditional writes, read-modify-write, limits -------------------

// The index of the failed expectation is not reported (always 0).
int conflict_index_zero(kalam_db* db, const kalam_write_options* o,
                        const kalam_expectation* x, size_t nx,
                        const kalam_write_op* ops, size_t n, kalam_status* s) {
  const int rc = g_real->write_conditional(db, o, x, nx, ops, n, s);
  if (rc == KALAM_CONFLICT && s != nullptr &&
      s->struct_size >= offsetof(kalam_status, message)) {
    s->native_code = 0;
  }
  return rc;
}

// Checks the expectations with get() and then writes, without holding the
// store's write lock in between (the round trip a remote store has between
// the two is modelled by giving up the CPU there).
int conditional_check_then_write(kalam_db* db, const kalam_write_options* o,
                                 const kalam_expectation* x, size_t nx,
                                 const kalam_write_op* ops, size_t n,
                                 kalam_status* s) {
  if (x == nullptr || o == nullptr) {
    return g_real->write_conditional(db, o, x, nx, ops, n, s);
  }
  for (size_t i = 0; i < nx; ++i) {
    std::string value;
    const int rc = g_real->get(
        db, nullptr, x[i].cf, x[i].key, x[i].key_len,
        [](void* c, const void* v, size_t len) {
          static_cast<std::string*>(c)->assign(static_cast<const char*>(v),
                                               len);
        },
        &value, s);
    if (rc != KALAM_OK && rc != KALAM_NOT_FOUND) return rc;
    bool holds = false;
    switch (x[i].type) {
      case KALAM_EXPECT_ABSENT:
        holds = rc == KALAM_NOT_FOUND;
        break;
      case KALAM_EXPECT_PRESENT:
        holds = rc == KALAM_OK;
        break;
      case KALAM_EXPECT_VALUE:
        holds = rc == KALAM_OK &&
                value == std::string(static_cast<const char*>(x[i].value),
                                     x[i].value_len);
        break;
      default:
        return g_real->write_conditional(db, o, x, nx, ops, n, s);
    }
    if (!holds) {
      if (s != nullptr && s->struct_size >= sizeof *s) {
        s->code = KALAM_CONFLICT;
        s->native_code = static_cast<int64_t>(i);
        std::snprintf(s->message, sizeof s->message,
                      "mutant: expectation #%zu does not hold", i);
      }
      return KALAM_CONFLICT;
    }
  }
  sched_yield();
  return g_real->write(db, o, ops, n, s);
}

// read_modify_write() as multi_get(), the visitor, then write(), with no
// write lock held across them (a lost update waiting to happen).
struct RmwRead {
  std::vector<std::string> values;
  std::vector<kalam_rmw_value> current;
};
int rmw_read_then_write(kalam_db* db, const kalam_write_options* o,
                        size_t count, kalam_cf* const* cfs,
                        const void* const* keys, const size_t* lens,
                        kalam_rmw_visitor visit, void* ctx, kalam_status* s) {
  if (visit == nullptr || o == nullptr || (count > 0 && keys == nullptr)) {
    return g_real->read_modify_write(db, o, count, cfs, keys, lens, visit, ctx,
                                     s);
  }
  RmwRead read{std::vector<std::string>(count),
               std::vector<kalam_rmw_value>(count)};
  for (auto& c : read.current) c.code = KALAM_NOT_FOUND;
  int rc = KALAM_OK;
  if (count > 0) {
    rc = g_real->multi_get(
        db, nullptr, count, cfs, keys, lens,
        [](void* c, size_t i, int code, const void* v, size_t n) {
          auto* r = static_cast<RmwRead*>(c);
          r->current[i].code = code;
          if (code == KALAM_OK) {
            r->values[i].assign(static_cast<const char*>(v), n);
          }
        },
        &read, s);
  }
  if (rc != KALAM_OK) return rc;
  for (size_t i = 0; i < count; ++i) {
    if (read.current[i].code == KALAM_OK) {
      read.current[i].value = read.values[i].data();
      read.current[i].value_len = read.values[i].size();
    }
  }
  const kalam_write_op* ops = nullptr;
  size_t op_count = 0;
  if (visit(ctx, count, read.current.data(), &ops, &op_count) != 0) {
    return KALAM_OK;
  }
  sched_yield();
  return g_real->write(db, o, ops, op_count, s);
}

// get_limits() assigns a whole kalam_limits, whatever the host's
// struct_size (the memory plugin has no limits: all zero).
int limits_whole_struct(kalam_db*, kalam_limits* out, kalam_status*) {
  if (out == nullptr) return KALAM_INVALID_ARGUMENT;
  const uint32_t size = out->struct_size;
  *out = kalam_limits{};
  out->struct_size = size;
  return KALAM_OK;
}

// Reports at most 8 ops per write, and refuses 8 (">=" for ">").
constexpr uint64_t kMaxOps = 8;
int limits_eight_ops(kalam_db*, kalam_limits* out, kalam_status*) {
  if (out == nullptr) return KALAM_INVALID_ARGUMENT;
  if (out->struct_size >= offsetof(kalam_limits, max_write_ops) + 8) {
    out->max_write_ops = kMaxOps;
  }
  return KALAM_OK;
}
int write_refuses_at_the_limit(kalam_db* db, const kalam_write_options* o,
                               const kalam_write_op* ops, size_t count,
                               kalam_status* s) {
  if (count >= kMaxOps) {
    if (s != nullptr && s->struct_size >= sizeof *s) {
      s->code = KALAM_TOO_LARGE;
      s->native_code = 0;
      std::snprintf(s->message, sizeof s->message,
                    "mutant: a write carries at most %u ops (max_write_ops)",
                    static_cast<unsigned>(kMaxOps));
    }
    return KALAM_TOO_LARGE;
  }
  return g_real->write(db, o, ops, count, s);
}

// ---- The table --------------------------------------------------------------

struct Mutation {
  const char* name;
  const char* mistake;  // what the plugin author got wrong
  // Replaces slots of `table`; may adjust what `info` declares.
  void (*install)(kalam_backend_vtable& table, kalam_plugin_info& info);
};

#define M(name, mistake, body)                                                 \
  {                                                                            \
    name, mistake, [](kalam_backend_vtable& t, kalam_plugin_info& i) { body; } \
  }

const Mutation kMutations[] = {
    // The runner's own tests.
    M("crashes", "iter_seek_last() dereferences NULL (SIGSEGV)", (void)i;
      t.iter_seek_last = seek_last_crashes),
    M("hangs", "flush() waits for a thread that never runs", (void)i;
      t.flush = flush_hangs),
    // Iterators.
    M("reverse_skips_last", "iter_seek_last() lands one key early", (void)i;
      t.iter_seek_last = seek_last_one_early),
    M("seek_for_prev_strict", "iter_seek_for_prev() skips an equal key",
      (void)i;
      t.iter_seek_for_prev = seek_for_prev_strict),
    M("bounds_ignored", "iterators ignore their bounds", (void)i;
      t.iter_create = iter_create_without_bounds),
    M("snapshot_sees_later", "reads and iterators ignore the snapshot", (void)i;
      t.iter_create = iter_create_without_snapshot; t.get = get_latest),
    M("empty_bound_ignored", "an empty bound is taken as no bound", (void)i;
      t.iter_create = iter_create_skips_empty_bounds),
    M("read_batch_one_buffer", "iter_read_batch() views share one buffer",
      (void)i;
      t.iter_read_batch = read_batch_one_buffer),
    M("read_batch_ok_at_end", "iter_read_batch() says OK when it ran out",
      (void)i;
      t.iter_read_batch = read_batch_ok_at_end),
    M("batch_consumes_refused", "iter_next_batch() steps past a refusal",
      (void)i;
      t.iter_next_batch = next_batch_consumes_refused),
    // Out-parameters.
    M("open_clears_out", "open() writes *out_db = NULL before failing", (void)i;
      t.open = open_clears_out),
    M("cf_open_clears_out", "cf_open() writes *out_cf = NULL before failing",
      (void)i;
      t.cf_open = cf_open_clears_out),
    M("get_into_zeroes_length", "get_into() zeroes *value_len up front",
      (void)i;
      t.get_into = get_into_zeroes_length),
    M("iter_entry_clears_views", "iter_entry() clears its views up front",
      (void)i;
      t.iter_entry = iter_entry_clears_views),
    // Flag words.
    M("flush_ignores_flags", "flush() ignores its flags", (void)i;
      t.flush = flush_ignores_flags),
    M("cf_open_ignores_flags", "cf_open() keeps only the bits it knows",
      (void)i;
      t.cf_open = cf_open_ignores_flags),
    M("write_ignores_flags", "write() keeps only the bits it knows", (void)i;
      t.write = write_ignores_flags),
    M("iter_create_ignores_flags", "iter_create() keeps the bits it knows",
      (void)i;
      t.iter_create = iter_create_ignores_flags),
    M("next_batch_ignores_flags", "iter_next_batch() keeps the bits it knows",
      (void)i;
      t.iter_next_batch = next_batch_ignores_flags),
    // Point reads.
    M("multi_get_key_by_key", "multi_get() is a loop of get()", (void)i;
      t.multi_get = multi_get_key_by_key),
    M("multi_get_by_family", "multi_get() visits one family at a time", (void)i;
      t.multi_get = multi_get_by_family),
    M("multi_get_skips_missing", "multi_get() visits found keys only", (void)i;
      t.multi_get = multi_get_skips_missing),
    M("get_refuses_empty_key", "get() of the empty key is INVALID_ARGUMENT",
      (void)i;
      t.get = get_refuses_empty_key),
    M("status_on_not_found", "get() fills the status on NOT_FOUND", (void)i;
      t.get = get_status_on_miss),
    M("dropped_reads_as_missing", "get() on a dropped family is NOT_FOUND",
      (void)i;
      t.get = get_dropped_as_missing),
    // Writes.
    M("batch_half_applies", "write() applies ops one by one", (void)i;
      t.write = write_one_by_one),
    M("write_refuses_empty", "write() refuses op_count 0 with ops NULL",
      (void)i;
      t.write = write_refuses_empty),
    M("null_value_refused", "a NULL value of length 0 is refused", (void)i;
      t.write = write_refuses_null_value),
    M("range_inclusive", "DELETE_RANGE removes its end key too", (void)i;
      t.write = write_range_inclusive),
    M("reversed_range_refused", "a reversed DELETE_RANGE is refused", (void)i;
      t.write = write_refuses_reversed_range),
    // Status, options, families, release calls.
    M("status_whole", "the whole kalam_status is written on failure", (void)i;
      t.write = write_status_whole),
    M("options_ignored", "open() ignores its options", (void)i;
      t.open = open_ignores_options),
    M("cf_list_without_default", "cf_list() omits \"default\"", (void)i;
      t.cf_list = cf_list_without_default),
    M("destroy_null_crashes", "iter_destroy(NULL) dereferences NULL", (void)i;
      t.iter_destroy = iter_destroy_reads_null),
    // ABI 1.2.
    M("conflict_index_zero", "CONFLICT's native_code is always 0", (void)i;
      t.write_conditional = conflict_index_zero),
    M("conditional_check_then_write",
      "write_conditional() checks, then writes, unlocked", (void)i;
      t.write_conditional = conditional_check_then_write),
    M("rmw_read_then_write", "read_modify_write() reads, then writes, unlocked",
      (void)i;
      t.read_modify_write = rmw_read_then_write),
    M("limits_whole_struct", "get_limits() assigns the whole struct", (void)i;
      t.get_limits = limits_whole_struct),
    M("limits_off_by_one", "a write of exactly max_write_ops is refused",
      (void)i;
      t.get_limits = limits_eight_ops; t.write = write_refuses_at_the_limit),
};
#undef M

const Mutation* chosen() {
  const char* name = std::getenv("KALAM_MUTATION");
  if (name == nullptr) return nullptr;
  for (const Mutation& m : kMutations) {
    if (std::strcmp(m.name, name) == 0) return &m;
  }
  return nullptr;
}

}  // namespace

KALAM_PLUGIN_EXPORT int kalam_plugin_entry(const kalam_host* host,
                                           kalam_plugin_info* info,
                                           kalam_status* status) {
  const Mutation* mutation = chosen();
  if (mutation == nullptr) {
    if (status != nullptr && status->struct_size >= sizeof *status) {
      std::string names;
      for (const Mutation& m : kMutations) {
        names += std::string(names.empty() ? "" : ", ") + m.name;
      }
      status->code = KALAM_ABI_MISMATCH;
      std::snprintf(status->message, sizeof status->message,
                    "mutant: set KALAM_MUTATION to one of: %s", names.c_str());
    }
    return KALAM_ABI_MISMATCH;
  }
  const int rc =
      kalam::test::wrapped_plugin_entry(KALAM_MUTANT_WRAPS, host, info, status);
  if (rc != KALAM_OK || !kalam::test::info_covers_all(info)) return rc;
  g_real = info->vtable;
  std::memcpy(&g_table, g_real, sizeof g_table);
  mutation->install(g_table, *info);
  info->name = "mutant";
  info->vtable = &g_table;
  return KALAM_OK;
}
