// The plugin's entry point and function table. The entry points are the
// shared, noexcept wrappers of plugins/common/vtable_glue.h (check the
// handle, call Database / Iterator, turn an Error or a caught exception into
// the caller's kalam_status), plus this plugin's own below.
#include <kalam/backend_api.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <memory>
#include <new>
#include <string>

#include "sqlite_db.h"
#include "sqlite_iter.h"
#include "sqlite_status.h"
#include "vtable_glue.h"

namespace kalam::sqlite_plugin {
namespace {

constexpr const char* kPluginVersion = "1.0.0";

constexpr uint64_t kCapabilities =
    KALAM_CAP_PERSISTENT | KALAM_CAP_DURABLE_SYNC | KALAM_CAP_ATOMIC_BATCH |
    KALAM_CAP_SNAPSHOTS | KALAM_CAP_REVERSE_ITERATION | KALAM_CAP_DELETE_RANGE |
    KALAM_CAP_THREAD_SAFE | KALAM_CAP_PROPERTIES | KALAM_CAP_CHECKPOINT |
    KALAM_CAP_READ_ONLY_OPEN | KALAM_CAP_CONDITIONAL_WRITE |
    KALAM_CAP_READ_MODIFY_WRITE;

// What the shared entry points (plugins/common/vtable_glue.h) need to know
// of this plugin.
struct Traits {
  static constexpr const char* kName = "sqlite plugin";
  using Database = kalam::sqlite_plugin::Database;
  using Iterator = kalam::sqlite_plugin::Iterator;
  using Snapshot = kalam::sqlite_plugin::Snapshot;
  static void publish(kalam_status* status, int code, int64_t native_code,
                      std::string_view message) noexcept {
    kalam::sqlite_plugin::publish(status, code, native_code, message);
  }
  static void log(int32_t level, const std::string& message) noexcept {
    kalam::sqlite_plugin::log(level, message);
  }
};
using Glue = kalam_plugin::VtableGlue<Traits>;

// ---- Entry points of this plugin's own --------------------------------------

int vt_read_modify_write(kalam_db* db, const kalam_write_options* options,
                         size_t count, kalam_cf* const* cfs,
                         const void* const* keys, const size_t* key_lens,
                         kalam_rmw_visitor visit, void* ctx,
                         kalam_status* status) noexcept {
  return Glue::guard(status, [&](Error& err) {
    if (db == nullptr) return Glue::null_argument(err, "read_modify_write: db");
    return to_database(db)->read_modify_write(options, count, cfs, keys,
                                              key_lens, visit, ctx, err);
  });
}

int vt_checkpoint(kalam_db* db, const char* path,
                  kalam_status* status) noexcept {
  return Glue::guard(status, [&](Error& err) {
    if (db == nullptr) return Glue::null_argument(err, "checkpoint: db");
    return to_database(db)->checkpoint(path, err);
  });
}

constexpr kalam_backend_vtable kVtable = [] {
  kalam_backend_vtable v = Glue::common_vtable();
  v.flush = Glue::flush;
  v.write = Glue::write;
  v.write_conditional = Glue::write_conditional;
  v.get_property = Glue::get_property;
  v.checkpoint = vt_checkpoint;
  v.read_modify_write = vt_read_modify_write;
  // No compact_range; no get_limits: no per-write limits.
  return v;
}();

int entry(const kalam_host* host, kalam_plugin_info* info,
          kalam_status* status) {
  // Built on first use (not in a static initialiser); lives as long as the
  // library.
  static const std::string version =
      std::string(kPluginVersion) + " (SQLite " + sqlite3_libversion() + ")";
  const kalam_plugin::PluginValues values = {
      .name = "sqlite",
      .version = version.c_str(),
      .format_version = kFormatVersion,
      .abi_minor = KALAM_ABI_VERSION_MINOR,
      .capabilities = kCapabilities,
      .max_key_size = kMaxKeySize,
      .max_value_size = kMaxValueSize,
      .vtable = &kVtable,
  };
  return kalam_plugin::plugin_entry(host, info, status, values, &set_log_sink);
}

}  // namespace
}  // namespace kalam::sqlite_plugin

KALAM_PLUGIN_EXPORT int kalam_plugin_entry(const kalam_host* host,
                                           kalam_plugin_info* info,
                                           kalam_status* status) noexcept {
  return kalam_plugin::guarded(
      status, "sqlite plugin", "kalam_plugin_entry",
      [&] { return kalam::sqlite_plugin::entry(host, info, status); });
}
