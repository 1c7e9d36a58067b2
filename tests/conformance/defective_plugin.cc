// A plugin with one subtle defect, to prove the conformance suite catches
// it. It wraps the memory plugin (loaded with dlopen from the path compiled
// in) and breaks exactly one behaviour, chosen at compile time:
//   DEFECT_REVERSE_SKIPS_LAST   iter_seek_last lands one key early, so a
//                               reverse scan misses the first key it should
//                               visit
//   DEFECT_BATCH_HALF_APPLIES   write() applies ops one by one and stops at
//                               the first invalid one
//   DEFECT_SNAPSHOT_SEES_LATER  reads and iterators ignore the snapshot
//   DEFECT_BOUNDS_IGNORED       iterators ignore their lower/upper bounds
//   DEFECT_READ_BATCH_ONE_BUFFER
//                               iter_read_batch copies every entry into one
//                               buffer, so each view of a batch shows the
//                               last entry (views that die at the next step)
#include <kalam/backend_api.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "wrapped_plugin.h"

namespace {

kalam_backend_vtable g_table;
const kalam_backend_vtable* g_real = nullptr;

[[maybe_unused]] int seek_last_one_early(kalam_iter* it, kalam_status* s) {
  int rc = g_real->iter_seek_last(it, s);
  if (rc == KALAM_OK) rc = g_real->iter_prev(it, s);
  return rc;
}

[[maybe_unused]] int write_one_by_one(kalam_db* db,
                                      const kalam_write_options* options,
                                      const kalam_write_op* ops, size_t count,
                                      kalam_status* s) {
  if (ops == nullptr || options == nullptr) {
    return g_real->write(db, options, ops, count, s);
  }
  for (size_t i = 0; i < count; ++i) {
    const int rc = g_real->write(
        db, options, kalam_write_op_at(ops, options->op_stride, i), 1, s);
    if (rc != KALAM_OK) return rc;
  }
  return KALAM_OK;
}

[[maybe_unused]] int get_latest(kalam_db* db, const kalam_read_options*,
                                kalam_cf* cf, const void* k, size_t kl,
                                kalam_value_visitor visit, void* ctx,
                                kalam_status* s) {
  return g_real->get(db, nullptr, cf, k, kl, visit, ctx, s);
}

[[maybe_unused]] int iter_create_altered(kalam_db* db,
                                         const kalam_iter_options* options,
                                         kalam_cf* cf, kalam_iter** out,
                                         kalam_status* s) {
  if (options == nullptr) return g_real->iter_create(db, options, cf, out, s);
  kalam_iter_options altered = *options;
#ifdef DEFECT_SNAPSHOT_SEES_LATER
  altered.snapshot = nullptr;
#endif
#ifdef DEFECT_BOUNDS_IGNORED
  altered.flags &=
      ~(KALAM_ITER_LOWER_BOUND | KALAM_ITER_UPPER_BOUND | KALAM_ITER_PREFIX);
#endif
  return g_real->iter_create(db, &altered, cf, out, s);
}

[[maybe_unused]] int read_batch_one_buffer(kalam_iter* it, uint32_t flags,
                                           size_t max, kalam_entry* out,
                                           size_t* filled, kalam_status* s) {
  static std::string buffer;
  const int rc = g_real->iter_read_batch(it, flags, max, out, filled, s);
  if (out == nullptr || filled == nullptr) return rc;
  for (size_t i = 0; i < *filled; ++i) {
    buffer.assign(static_cast<const char*>(out[i].key), out[i].key_len);
    buffer.append(static_cast<const char*>(out[i].value), out[i].value_len);
  }
  // Every view into the one buffer, as a plugin handing out its library's
  // current-entry views would: all of them show the last entry.
  size_t offset = 0;
  for (size_t i = 0; i < *filled; ++i) {
    const size_t last = *filled - 1;
    out[i].key = buffer.data();
    out[i].key_len = out[last].key_len;
    offset = out[last].key_len;
    out[i].value = buffer.data() + offset;
    out[i].value_len = out[last].value_len;
  }
  return rc;
}

}  // namespace

KALAM_PLUGIN_EXPORT int kalam_plugin_entry(const kalam_host* host,
                                           kalam_plugin_info* info,
                                           kalam_status* status) {
  const int rc =
      kalam::test::wrapped_plugin_entry(KALAM_DEFECT_WRAPS, host, info, status);
  if (rc != KALAM_OK || !kalam::test::info_covers_all(info)) return rc;
  g_real = info->vtable;
  std::memcpy(&g_table, g_real, sizeof g_table);
#ifdef DEFECT_REVERSE_SKIPS_LAST
  g_table.iter_seek_last = seek_last_one_early;
#endif
#ifdef DEFECT_BATCH_HALF_APPLIES
  g_table.write = write_one_by_one;
#endif
#ifdef DEFECT_SNAPSHOT_SEES_LATER
  g_table.get = get_latest;
#endif
#ifdef DEFECT_READ_BATCH_ONE_BUFFER
  g_table.iter_read_batch = read_batch_one_buffer;
#endif
#if defined(DEFECT_SNAPSHOT_SEES_LATER) || defined(DEFECT_BOUNDS_IGNORED)
  g_table.iter_create = iter_create_altered;
#endif
  info->name = KALAM_DEFECT_NAME;
  info->vtable = &g_table;
  return KALAM_OK;
}
