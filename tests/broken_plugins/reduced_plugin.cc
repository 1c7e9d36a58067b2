// kalam_reduced.so: the memory plugin declaring less than it can do (no
// delete_range, thread_safe or snapshots), so the engine's fallbacks for
// modest backends can be tested against a correct store.
#include <kalam/backend_api.h>

#include <cstdio>

#include "wrapped_plugin.h"

KALAM_PLUGIN_EXPORT int kalam_plugin_entry(const kalam_host* host,
                                           kalam_plugin_info* info,
                                           kalam_status* status) {
  const int rc = kalam::test::wrapped_plugin_entry(KALAM_REDUCED_WRAPS, host,
                                                   info, status);
  if (rc != KALAM_OK || !kalam::test::info_covers_all(info)) return rc;
  info->name = "reduced";
  info->capabilities &=
      ~(KALAM_CAP_DELETE_RANGE | KALAM_CAP_THREAD_SAFE | KALAM_CAP_SNAPSHOTS);
  return KALAM_OK;
}
