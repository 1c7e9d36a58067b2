// kalam_reduced.so: the memory plugin declaring less than it can do (no
// delete_range, thread_safe or snapshots), so the engine's fallbacks for
// modest backends can be tested against a correct store.
#include <dlfcn.h>
#include <kalam/backend_api.h>

#include <cstdio>

KALAM_PLUGIN_EXPORT int kalam_plugin_entry(const kalam_host* host,
                                           kalam_plugin_info* info,
                                           kalam_status* status) {
  void* lib = dlopen(KALAM_REDUCED_WRAPS, RTLD_NOW | RTLD_LOCAL);
  auto entry = lib == nullptr ? nullptr
                              : reinterpret_cast<kalam_plugin_entry_fn>(
                                    dlsym(lib, KALAM_PLUGIN_ENTRY_SYMBOL));
  if (entry == nullptr) {
    if (status != nullptr && status->struct_size >= sizeof *status) {
      status->code = KALAM_INTERNAL;
      std::snprintf(status->message, sizeof status->message,
                    "cannot load the wrapped plugin %s", KALAM_REDUCED_WRAPS);
    }
    return KALAM_INTERNAL;
  }
  const int rc = entry(host, info, status);
  if (rc != KALAM_OK) return rc;
  info->name = "reduced";
  info->capabilities &=
      ~(KALAM_CAP_DELETE_RANGE | KALAM_CAP_THREAD_SAFE | KALAM_CAP_SNAPSHOTS);
  return KALAM_OK;
}
