// The plugin's entry point and function table. The entry points are the
// shared, noexcept wrappers of plugins/common/vtable_glue.h (check the
// handle, call Database / Iterator, turn an Error or a caught exception into
// the caller's kalam_status), plus this plugin's own below.
#include <kalam/backend_api.h>
#include <libpq-fe.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <memory>
#include <new>
#include <string>

#include "pg_db.h"
#include "pg_iter.h"
#include "pg_status.h"
#include "vtable_glue.h"

namespace kalam::postgres_plugin {
namespace {

constexpr const char* kPluginVersion = "1.0.0";

constexpr uint64_t kCapabilities =
    KALAM_CAP_PERSISTENT | KALAM_CAP_DURABLE_SYNC | KALAM_CAP_ATOMIC_BATCH |
    KALAM_CAP_SNAPSHOTS | KALAM_CAP_REVERSE_ITERATION | KALAM_CAP_DELETE_RANGE |
    KALAM_CAP_THREAD_SAFE | KALAM_CAP_MULTI_PROCESS | KALAM_CAP_PROPERTIES |
    KALAM_CAP_READ_ONLY_OPEN | KALAM_CAP_CONDITIONAL_WRITE | KALAM_CAP_REMOTE |
    KALAM_CAP_SHARED;

// What the shared entry points (plugins/common/vtable_glue.h) need to know
// of this plugin.
struct Traits {
  static constexpr const char* kName = "postgres plugin";
  using Database = kalam::postgres_plugin::Database;
  using Iterator = kalam::postgres_plugin::Iterator;
  using Snapshot = kalam::postgres_plugin::Snapshot;
  static void publish(kalam_status* status, int code, int64_t native_code,
                      std::string_view message) noexcept {
    kalam::postgres_plugin::publish(status, code, native_code, message);
  }
  static void log(int32_t level, const std::string& message) noexcept {
    kalam::postgres_plugin::log(level, message);
  }
};
using Glue = kalam_plugin::VtableGlue<Traits>;

// ---- Entry points of this plugin's own --------------------------------------

int vt_get_limits(kalam_db* db, kalam_limits* out,
                  kalam_status* status) noexcept {
  return Glue::guard(status, [&](Error& err) {
    if (db == nullptr) return Glue::null_argument(err, "get_limits: db");
    if (out == nullptr) return Glue::null_argument(err, "get_limits: out");
    // Ops go to the server one statement each (pipelined), so neither their
    // number nor their bytes have a limit beyond memory (the host zeroed
    // those fields). The expected keys of one family go as one bytea[]
    // parameter, and a PostgreSQL value is at most 1 GiB: this many keys of
    // max_key_size bytes stay well under. Only the fields the host's
    // struct_size covers are written.
    if (KALAM_PLUGIN_COVERS(out, max_expectations)) {
      out->max_expectations = kMaxExpectations;
    }
    return KALAM_OK;
  });
}

constexpr kalam_backend_vtable kVtable = [] {
  kalam_backend_vtable v = Glue::common_vtable();
  v.flush = Glue::flush;
  v.write = Glue::write;
  v.write_conditional = Glue::write_conditional;
  v.get_property = Glue::get_property;
  // A remote store cannot hold its transaction open across the host's
  // visitor without a round trip per key: the host uses multi_get() and
  // write_conditional() with retry instead (backend_api.h). So no
  // read_modify_write; no checkpoint, no compact_range either.
  v.get_limits = vt_get_limits;
  return v;
}();

int entry(const kalam_host* host, kalam_plugin_info* info,
          kalam_status* status) {
  // Built on first use (not in a static initialiser); lives as long as the
  // library.
  static const std::string version = std::string(kPluginVersion) + " (libpq " +
                                     std::to_string(PQlibVersion()) + ")";
  const kalam_plugin::PluginValues values = {
      .name = "postgres",
      .version = version.c_str(),
      .format_version = kFormatVersion,
      .abi_minor = KALAM_ABI_VERSION_MINOR,
      .capabilities = kCapabilities,
      .max_key_size = kMaxKeySize,
      .max_value_size = kMaxValueSize,
      .vtable = &kVtable,
  };
  // plugin_entry() records the agreed minor for kalam_plugin::host_minor().
  return kalam_plugin::plugin_entry(host, info, status, values, &set_log_sink);
}

}  // namespace
}  // namespace kalam::postgres_plugin

KALAM_PLUGIN_EXPORT int kalam_plugin_entry(const kalam_host* host,
                                           kalam_plugin_info* info,
                                           kalam_status* status) noexcept {
  return kalam_plugin::guarded(
      status, "postgres plugin", "kalam_plugin_entry",
      [&] { return kalam::postgres_plugin::entry(host, info, status); });
}
