// Test support for plugins that wrap another plugin (defective, reduced and
// lying variants of the memory plugin): load the wrapped library, run its
// entry point, and let the wrapper adjust what it reported.
#pragma once

#include <dlfcn.h>
#include <kalam/backend_api.h>

#include <cstddef>
#include <cstdio>

namespace kalam::test {

// Runs the entry point of the plugin at `path` into `info`. Returns its
// code, or KALAM_INTERNAL (with a message) when the library cannot be loaded.
inline int wrapped_plugin_entry(const char* path, const kalam_host* host,
                                kalam_plugin_info* info, kalam_status* status) {
  void* lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  auto entry = lib == nullptr ? nullptr
                              : reinterpret_cast<kalam_plugin_entry_fn>(
                                    dlsym(lib, KALAM_PLUGIN_ENTRY_SYMBOL));
  if (entry == nullptr) {
    if (status != nullptr && status->struct_size >= sizeof *status) {
      status->code = KALAM_INTERNAL;
      std::snprintf(status->message, sizeof status->message,
                    "cannot load the wrapped plugin %s", path);
    }
    return KALAM_INTERNAL;
  }
  return entry(host, info, status);
}

// Whether the host's info struct has room for everything a wrapper changes
// (name and vtable): a wrapper writes them only then.
inline bool info_covers_all(const kalam_plugin_info* info) {
  return info->struct_size >=
         offsetof(kalam_plugin_info, vtable) + sizeof(info->vtable);
}

}  // namespace kalam::test
