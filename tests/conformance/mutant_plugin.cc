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
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

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

// ---- The table --------------------------------------------------------------

struct Mutation {
  const char* name;
  const char* mistake;  // what the plugin author got wrong
  // Replaces slots of `table`; may adjust what `info` declares.
  void (*install)(kalam_backend_vtable& table, kalam_plugin_info& info);
};

#define M(name, mistake, body) \
  {name, mistake, [](kalam_backend_vtable& t, kalam_plugin_info& i) { body; }}

const Mutation kMutations[] = {
    // The runner's own tests.
    M("crashes", "iter_seek_last() dereferences NULL (SIGSEGV)",
      (void)i; t.iter_seek_last = seek_last_crashes),
    M("hangs", "flush() waits for a thread that never runs",
      (void)i; t.flush = flush_hangs),
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
