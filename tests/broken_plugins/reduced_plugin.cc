// kalam_reduced.so: the memory plugin declaring less than it can do (no
// delete_range, thread_safe or snapshots) and speaking only ABI 1.0 (a
// function table of KALAM_BACKEND_VTABLE_SIZE_1_0 bytes, so no
// iter_read_batch()), so the engine's fallbacks for modest and older
// backends can be tested against a correct store.
//
// Built with REDUCED_SHARED_NO_CONDITIONAL it is kalam_sharednocond.so: the
// memory plugin declaring SHARED (as if other processes wrote the store)
// but neither CONDITIONAL_WRITE nor READ_MODIFY_WRITE, whose slots abort if
// called: the engine must refuse expectations (it cannot check them across
// processes) and the table layer must refuse to open.
//
// Built with REDUCED_SHARED it is kalam_sharedmemory.so: the memory plugin
// whole (its vtable untouched), declaring SHARED as well, so the table
// layer's shared-store paths can be tested in one process.
//
// Built with REDUCED_ABI_1_1 it is kalam_older.so instead: the memory plugin
// as a plugin built against the ABI 1.1 header would be (a 1.1-sized table,
// abi_minor 1), every capability kept, the 1.2 bits included, which such a
// plugin could only set by accident: the host must ignore them. Either way
// every slot past the table's struct_size aborts if the host calls it.
#include <kalam/backend_api.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "wrapped_plugin.h"

namespace {

kalam_backend_vtable g_table;

// Sits in the iter_read_batch slot, past the table's struct_size: a host
// that reads a slot its plugin's table does not cover gets caught here.
int beyond_struct_size(kalam_iter*, uint32_t, size_t, kalam_entry*, size_t*,
                       kalam_status*) {
  std::fprintf(stderr,
               "kalam_reduced: the host called iter_read_batch, which lies "
               "beyond this ABI 1.0 table's struct_size\n");
  std::abort();
}

[[noreturn]] void called_beyond(const char* slot) {
  std::fprintf(stderr,
               "kalam_reduced/older: the host called %s, which lies beyond "
               "this table's struct_size\n",
               slot);
  std::abort();
}

int write_conditional_beyond(kalam_db*, const kalam_write_options*,
                             const kalam_expectation*, size_t,
                             const kalam_write_op*, size_t, kalam_status*) {
  called_beyond("write_conditional");
}
int read_modify_write_beyond(kalam_db*, const kalam_write_options*, size_t,
                             kalam_cf* const*, const void* const*,
                             const size_t*, kalam_rmw_visitor, void*,
                             kalam_status*) {
  called_beyond("read_modify_write");
}
int get_limits_beyond(kalam_db*, kalam_limits*, kalam_status*) {
  called_beyond("get_limits");
}

}  // namespace

KALAM_PLUGIN_EXPORT int kalam_plugin_entry(const kalam_host* host,
                                           kalam_plugin_info* info,
                                           kalam_status* status) {
  const int rc = kalam::test::wrapped_plugin_entry(KALAM_REDUCED_WRAPS, host,
                                                   info, status);
  if (rc != KALAM_OK || !kalam::test::info_covers_all(info)) return rc;
  g_table.write_conditional = write_conditional_beyond;
  g_table.read_modify_write = read_modify_write_beyond;
  g_table.get_limits = get_limits_beyond;
#if defined(REDUCED_SHARED)
  // Everything the memory plugin does, declared SHARED: the table layer's
  // shared-store paths (expectations on generated ids and on the tables'
  // catalog rows) run in one process.
  info->name = "sharedmemory";
  info->capabilities |= KALAM_CAP_SHARED;
#elif defined(REDUCED_SHARED_NO_CONDITIONAL)
  std::memcpy(&g_table, info->vtable, sizeof g_table);
  g_table.write_conditional = write_conditional_beyond;
  g_table.read_modify_write = read_modify_write_beyond;
  info->vtable = &g_table;
  info->name = "sharednocond";
  info->capabilities =
      (info->capabilities | KALAM_CAP_SHARED) &
      ~(KALAM_CAP_CONDITIONAL_WRITE | KALAM_CAP_READ_MODIFY_WRITE);
#elif defined(REDUCED_ABI_1_1)
  std::memcpy(&g_table, info->vtable, KALAM_BACKEND_VTABLE_SIZE_1_1);
  g_table.struct_size = KALAM_BACKEND_VTABLE_SIZE_1_1;
  info->vtable = &g_table;
  info->abi_minor = 1;
  info->name = "older";
  // As the memory plugin reports them to a 1.2 host: bits 12 and up set.
#else
  std::memcpy(&g_table, info->vtable, KALAM_BACKEND_VTABLE_SIZE_1_0);
  g_table.struct_size = KALAM_BACKEND_VTABLE_SIZE_1_0;
  g_table.iter_read_batch = beyond_struct_size;
  info->vtable = &g_table;
  info->abi_minor = 0;
  info->name = "reduced";
  info->capabilities &=
      ~(KALAM_CAP_DELETE_RANGE | KALAM_CAP_THREAD_SAFE | KALAM_CAP_SNAPSHOTS);
#endif
  return KALAM_OK;
}
