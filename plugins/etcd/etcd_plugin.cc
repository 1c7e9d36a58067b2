// The plugin's entry point and function table. The entry points are the
// shared, noexcept wrappers of plugins/common/vtable_glue.h (check the
// handle, call Database / Iterator, turn an Error or a caught exception into
// the caller's kalam_status), plus this plugin's own below.
#include <kalam/backend_api.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <memory>
#include <new>
#include <string>

#include <grpcpp/grpcpp.h>

#include "etcd_db.h"
#include "etcd_iter.h"
#include "etcd_status.h"
#include "vtable_glue.h"

namespace kalam::etcd_plugin {
namespace {

constexpr const char* kPluginVersion = "1.0.0";

// MULTI_PROCESS is not declared although several processes (on several
// hosts) may open one namespace at once: SHARED says that to a 1.2 host, and
// the conformance suite's MULTI_PROCESS case forks a process that already
// runs gRPC, which gRPC does not support. See README.md.
constexpr uint64_t kCapabilities =
    KALAM_CAP_PERSISTENT | KALAM_CAP_DURABLE_SYNC | KALAM_CAP_ATOMIC_BATCH |
    KALAM_CAP_SNAPSHOTS | KALAM_CAP_REVERSE_ITERATION | KALAM_CAP_DELETE_RANGE |
    KALAM_CAP_THREAD_SAFE | KALAM_CAP_CONDITIONAL_WRITE | KALAM_CAP_REMOTE |
    KALAM_CAP_SHARED;

// What the shared entry points (plugins/common/vtable_glue.h) need to know
// of this plugin.
struct Traits {
  static constexpr const char* kName = "etcd plugin";
  using Database = kalam::etcd_plugin::Database;
  using Iterator = kalam::etcd_plugin::Iterator;
  using Snapshot = kalam::etcd_plugin::Snapshot;
  static void publish(kalam_status* status, int code, int64_t native_code,
                      std::string_view message) noexcept {
    kalam::etcd_plugin::publish(status, code, native_code, message);
  }
  static void log(int32_t level, const std::string& message) noexcept {
    kalam::etcd_plugin::log(level, message);
  }
};
using Glue = kalam_plugin::VtableGlue<Traits>;

// ---- Entry points of this plugin's own --------------------------------------

int vt_flush(kalam_db* db, uint32_t flags, kalam_status* status) noexcept {
  return Glue::guard(status, [&](Error& err) {
    if (db == nullptr) return Glue::null_argument(err, "flush: db");
    if (flags != 0) {
      return fail(err, KALAM_INVALID_ARGUMENT,
                  "etcd plugin: flush: flags must be 0");
    }
    // An acknowledged etcd write is already on a quorum's disk.
    return KALAM_OK;
  });
}

int vt_write(kalam_db* db, const kalam_write_options* options,
             const kalam_write_op* ops, size_t op_count,
             kalam_status* status) noexcept {
  return Glue::guard(status, [&](Error& err) {
    if (db == nullptr) return Glue::null_argument(err, "write: db");
    return to_database(db)->write(options, nullptr, 0, ops, op_count, err);
  });
}

int vt_write_conditional(kalam_db* db, const kalam_write_options* options,
                         const kalam_expectation* expects, size_t expect_count,
                         const kalam_write_op* ops, size_t op_count,
                         kalam_status* status) noexcept {
  return Glue::guard(status, [&](Error& err) {
    if (db == nullptr) return Glue::null_argument(err, "write_conditional: db");
    return to_database(db)->write(options, expects, expect_count, ops, op_count,
                                  err);
  });
}

int vt_get_limits(kalam_db* db, kalam_limits* out,
                  kalam_status* status) noexcept {
  return Glue::guard(status, [&](Error& err) {
    if (db == nullptr) return Glue::null_argument(err, "get_limits: db");
    return to_database(db)->get_limits(out, err);
  });
}

constexpr kalam_backend_vtable kVtable = [] {
  kalam_backend_vtable v = Glue::common_vtable();
  v.flush = vt_flush;
  v.write = vt_write;
  v.write_conditional = vt_write_conditional;
  v.get_limits = vt_get_limits;
  // No get_property, checkpoint, compact_range or read_modify_write.
  return v;
}();

int entry(const kalam_host* host, kalam_plugin_info* info,
          kalam_status* status) {
  // Built on first use (not in a static initialiser); lives as long as the
  // library.
  static const std::string version = std::string(kPluginVersion) +
                                     " (etcd v3 API, gRPC " + grpc::Version() +
                                     ")";
  const kalam_plugin::PluginValues values = {
      .name = "etcd",
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
}  // namespace kalam::etcd_plugin

KALAM_PLUGIN_EXPORT int kalam_plugin_entry(const kalam_host* host,
                                           kalam_plugin_info* info,
                                           kalam_status* status) noexcept {
  return kalam_plugin::guarded(
      status, "etcd plugin", "kalam_plugin_entry",
      [&] { return kalam::etcd_plugin::entry(host, info, status); });
}
