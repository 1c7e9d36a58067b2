// kalam_reduced.so: the memory plugin declaring less than it can do (no
// delete_range, thread_safe or snapshots) and speaking only ABI 1.0 (a
// function table of KALAM_BACKEND_VTABLE_SIZE_1_0 bytes, so no
// iter_read_batch()), so the engine's fallbacks for modest and older
// backends can be tested against a correct store.
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

}  // namespace

KALAM_PLUGIN_EXPORT int kalam_plugin_entry(const kalam_host* host,
                                           kalam_plugin_info* info,
                                           kalam_status* status) {
  const int rc = kalam::test::wrapped_plugin_entry(KALAM_REDUCED_WRAPS, host,
                                                   info, status);
  if (rc != KALAM_OK || !kalam::test::info_covers_all(info)) return rc;
  std::memcpy(&g_table, info->vtable, KALAM_BACKEND_VTABLE_SIZE_1_0);
  g_table.struct_size = KALAM_BACKEND_VTABLE_SIZE_1_0;
  g_table.iter_read_batch = beyond_struct_size;
  info->vtable = &g_table;
  info->abi_minor = 0;
  info->name = "reduced";
  info->capabilities &=
      ~(KALAM_CAP_DELETE_RANGE | KALAM_CAP_THREAD_SAFE | KALAM_CAP_SNAPSHOTS);
  return KALAM_OK;
}
