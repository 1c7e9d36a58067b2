// A fixture plugin for `kalam check`: the memory plugin (loaded with dlopen
// from the path compiled in), renamed "lying", that seeds every database it
// opens with a=1, b=2, c=3 in the default family, and whose get() lies: it
// returns "two" for b and NOT_FOUND for c. Iteration tells the truth, so
// check must report exactly two problems.
#include <kalam/backend_api.h>

#include <cstdio>
#include <cstring>

#include "wrapped_plugin.h"

namespace {

kalam_backend_vtable g_table;
const kalam_backend_vtable* g_real = nullptr;

int open_seeded(const kalam_open_params* params, kalam_db** out_db,
                kalam_status* status) {
  const int rc = g_real->open(params, out_db, status);
  if (rc != KALAM_OK) return rc;
  const char* pairs[][2] = {{"a", "1"}, {"b", "2"}, {"c", "3"}};
  kalam_write_op ops[3] = {};
  for (int i = 0; i < 3; ++i) {
    ops[i].type = KALAM_OP_PUT;
    ops[i].key = pairs[i][0];
    ops[i].key_len = 1;
    ops[i].value = pairs[i][1];
    ops[i].value_len = 1;
  }
  kalam_write_options options = {};
  options.struct_size = sizeof options;
  options.op_stride = sizeof(kalam_write_op);
  return g_real->write(*out_db, &options, ops, 3, status);
}

int lying_get(kalam_db* db, const kalam_read_options* options, kalam_cf* cf,
              const void* key, size_t key_len, kalam_value_visitor visit,
              void* ctx, kalam_status* status) {
  if (cf == nullptr && key_len == 1 && *static_cast<const char*>(key) == 'b') {
    visit(ctx, "two", 3);
    return KALAM_OK;
  }
  if (cf == nullptr && key_len == 1 && *static_cast<const char*>(key) == 'c') {
    return KALAM_NOT_FOUND;
  }
  return g_real->get(db, options, cf, key, key_len, visit, ctx, status);
}

}  // namespace

KALAM_PLUGIN_EXPORT int kalam_plugin_entry(const kalam_host* host,
                                           kalam_plugin_info* info,
                                           kalam_status* status) {
  const int rc =
      kalam::test::wrapped_plugin_entry(KALAM_LYING_WRAPS, host, info, status);
  if (rc != KALAM_OK || !kalam::test::info_covers_all(info)) return rc;
  g_real = info->vtable;
  std::memcpy(&g_table, g_real, sizeof g_table);
  g_table.open = open_seeded;
  g_table.get = lying_get;
  info->name = "lying";
  info->vtable = &g_table;
  return KALAM_OK;
}
