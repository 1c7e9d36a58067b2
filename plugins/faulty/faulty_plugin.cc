// kalam_faulty.so: a fault-injection wrapper. It loads another plugin (the
// "inner" one, kalam_<inner>.so from the faulty plugin's own directory),
// forwards every call of the backend ABI to it, counts the calls of the kinds
// it is told to watch, and fails chosen ones with a chosen code before they
// reach the inner plugin (so a failed call applied nothing). See README.md.
//
// Handles: databases and iterators are wrapped (they carry the counters and
// the sticky error of an injected iterator failure); column family and
// snapshot handles are the inner plugin's own, passed through untouched.
//
// Capabilities: options only arrive at open(), but a plugin declares its
// capabilities when it is loaded. So the capabilities (and key/value limits
// and format version) are those of the "load-time inner": the plugin named by
// the environment variable KALAM_FAULTY_INNER when the faulty plugin is first
// loaded, default `memory`. The `inner` option of open() defaults to it; it
// may name another plugin only if that one has every declared capability and
// limits no stricter (the wrapper then promises less than the inner keeps).
#include <dlfcn.h>
#include <kalam/backend_api.h>

#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "plugin_support.h"

namespace {

using kalam_plugin::fail;

constexpr char kPluginName[] = "faulty";
constexpr char kPluginVersion[] = "1.0.0 (fault injection)";
constexpr char kWho[] = "faulty plugin";
constexpr char kDefaultInner[] = "memory";
constexpr char kInnerEnv[] = "KALAM_FAULTY_INNER";
constexpr std::string_view kInnerPrefix = "inner.";
constexpr std::string_view kPropertyPrefix = "faulty.";

template <typename Body>
int guarded(kalam_status* status, const char* where, Body&& body) noexcept {
  return kalam_plugin::guarded(status, kWho, where, std::forward<Body>(body));
}

// ---- Call kinds
// --------------------------------------------------------------

// One per fallible vtable function. Never-failing ones (snapshot_release,
// iter_destroy, iter_valid, iter_entry, iter_status) are not counted.
enum Kind : int {
  kOpen,
  kClose,
  kFlush,
  kCfOpen,
  kCfDrop,
  kCfList,
  kGet,
  kGetInto,
  kMultiGet,
  kWrite,
  kSnapshotCreate,
  kIterCreate,
  kIterSeekFirst,
  kIterSeekLast,
  kIterSeek,
  kIterSeekForPrev,
  kIterNext,
  kIterPrev,
  kIterNextBatch,
  kCompactRange,
  kGetProperty,
  kCheckpoint,
  kIterReadBatch,     // ABI 1.1; after the others, so their numbers stay
  kWriteConditional,  // ABI 1.2
  kReadModifyWrite,   // ABI 1.2
  kGetLimits,         // ABI 1.2
  kKindCount
};

constexpr const char* kKindNames[kKindCount] = {"open",
                                                "close",
                                                "flush",
                                                "cf_open",
                                                "cf_drop",
                                                "cf_list",
                                                "get",
                                                "get_into",
                                                "multi_get",
                                                "write",
                                                "snapshot_create",
                                                "iter_create",
                                                "iter_seek_first",
                                                "iter_seek_last",
                                                "iter_seek",
                                                "iter_seek_for_prev",
                                                "iter_next",
                                                "iter_prev",
                                                "iter_next_batch",
                                                "compact_range",
                                                "get_property",
                                                "checkpoint",
                                                "iter_read_batch",
                                                "write_conditional",
                                                "read_modify_write",
                                                "get_limits"};

constexpr uint32_t bit(Kind k) { return uint32_t{1} << k; }
// "all": every kind but get_limits, which the host calls once per open (so
// counting it would shift every fail_call index written before ABI 1.2).
constexpr uint32_t kAllKinds =
    ((uint32_t{1} << kKindCount) - 1) & ~(uint32_t{1} << kGetLimits);
constexpr uint32_t kReadKinds = bit(kGet) | bit(kGetInto) | bit(kMultiGet);
constexpr uint32_t kIterKinds =
    bit(kIterCreate) | bit(kIterSeekFirst) | bit(kIterSeekLast) |
    bit(kIterSeek) | bit(kIterSeekForPrev) | bit(kIterNext) | bit(kIterPrev) |
    bit(kIterNextBatch) | bit(kIterReadBatch);

// ---- Host log
// ------------------------------------------------------------------

std::atomic<kalam_log_fn> g_log{nullptr};
std::atomic<void*> g_log_ctx{nullptr};

void set_log(kalam_log_fn log, void* ctx) noexcept {
  g_log_ctx.store(ctx);
  g_log.store(log);
}

void log_line(int32_t level, const std::string& message) noexcept {
  kalam_log_fn log = g_log.load();
  if (log != nullptr) log(g_log_ctx.load(), level, message.c_str());
}

// ---- Inner plugins
// ---------------------------------------------------------------

struct Inner {
  std::string name;
  std::string file;
  kalam_plugin_info info{};
  const kalam_backend_vtable* vt = nullptr;
};

// Loaded inner plugins by name; never unloaded or freed (the host never
// unloads plugins either, and handles may outlive any static destructor).
struct Registry {
  std::mutex mu;
  std::map<std::string, std::unique_ptr<Inner>> inners;
  std::string load_time_inner;  // set by the first successful entry
};

Registry& registry() {
  static Registry* r = new Registry();
  return *r;
}

bool valid_backend_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      return false;
    }
  }
  return true;
}

// The directory kalam_faulty.so was loaded from.
std::string own_directory() {
  Dl_info where{};
  if (dladdr(reinterpret_cast<const void*>(&own_directory), &where) == 0 ||
      where.dli_fname == nullptr) {
    return ".";
  }
  std::string file = where.dli_fname;
  const size_t slash = file.rfind('/');
  return slash == std::string::npos ? "." : file.substr(0, slash);
}

void inner_log(void* ctx, int32_t level, const char* message) {
  const auto* name = static_cast<const std::string*>(ctx);
  log_line(level, "inner " + *name + ": " + (message ? message : ""));
}

// Loads kalam_<name>.so beside this plugin and runs its entry point.
int load_inner(const std::string& name, const kalam_host* host,
               const Inner** out, kalam_status* status) {
  if (!valid_backend_name(name) || name == kPluginName) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "%s: inner backend '%s' is not a plugin name: use only "
                "lowercase letters, digits and '_' (no '/' or '..'), and "
                "not 'faulty' itself",
                kWho, name.c_str());
  }
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  if (auto it = r.inners.find(name); it != r.inners.end()) {
    *out = it->second.get();
    return KALAM_OK;
  }
  auto inner = std::make_unique<Inner>();
  inner->name = name;
  inner->file = own_directory() + "/kalam_" + name + ".so";
  void* lib = dlopen(inner->file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* why = dlerror();
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "%s: cannot load inner backend '%s' from %s: %s", kWho,
                name.c_str(), inner->file.c_str(), why ? why : "unknown error");
  }
  auto entry = reinterpret_cast<kalam_plugin_entry_fn>(
      dlsym(lib, KALAM_PLUGIN_ENTRY_SYMBOL));
  if (entry == nullptr) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "%s: %s is not a Kalam plugin (no %s)", kWho,
                inner->file.c_str(), KALAM_PLUGIN_ENTRY_SYMBOL);
  }
  kalam_host inner_host{};
  inner_host.struct_size = sizeof inner_host;
  inner_host.abi_major =
      host != nullptr ? host->abi_major : KALAM_ABI_VERSION_MAJOR;
  inner_host.abi_max_minor = KALAM_ABI_VERSION_MINOR;
  if (host != nullptr && KALAM_PLUGIN_COVERS(host, abi_max_minor) &&
      host->abi_max_minor < inner_host.abi_max_minor) {
    inner_host.abi_max_minor = host->abi_max_minor;
  }
  inner_host.log = &inner_log;
  inner_host.log_ctx = &inner->name;
  inner->info.struct_size = sizeof inner->info;
  kalam_status detail{};
  detail.struct_size = sizeof detail;
  const int rc = entry(&inner_host, &inner->info, &detail);
  if (rc != KALAM_OK) {
    return fail(status, rc, 0, "%s: inner backend '%s' refused to load: %s",
                kWho, name.c_str(), detail.message);
  }
  const kalam_backend_vtable* vt = inner->info.vtable;
  if (vt == nullptr || vt->struct_size < KALAM_BACKEND_VTABLE_SIZE_1_0 ||
      inner->info.abi_major != KALAM_ABI_VERSION_MAJOR) {
    return fail(status, KALAM_ABI_MISMATCH, 0,
                "%s: inner backend '%s' (%s) has no ABI %d.0 function table",
                kWho, name.c_str(), inner->file.c_str(),
                KALAM_ABI_VERSION_MAJOR);
  }
  inner->vt = vt;
  *out = inner.get();
  r.inners.emplace(name, std::move(inner));
  return KALAM_OK;
}

const Inner* load_time_inner() {
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  auto it = r.inners.find(r.load_time_inner);
  return it == r.inners.end() ? nullptr : it->second.get();
}

// ---- Configuration (the open() options)
// ----------------------------------------

struct Config {
  std::string inner;
  std::vector<std::string> inner_keys, inner_values;
  uint32_t kinds = kAllKinds;
  uint64_t fail_call = UINT64_MAX;  // none
  uint64_t fail_from = UINT64_MAX;  // none
  int code = KALAM_IO_ERROR;
  bool log_injections = false;
  // ABI 1.2 limits to report from get_limits() and enforce on writes, as a
  // remote store would (0: none, and the inner plugin's are reported).
  uint64_t limit_write_ops = 0;
};

bool parse_count(std::string_view text, uint64_t* out) {
  text = kalam_plugin::trim(text);
  if (text.empty() || text.size() > 18) return false;
  uint64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = n;
  return true;
}

int parse_kinds(std::string_view text, uint32_t* out, kalam_status* status) {
  uint32_t kinds = 0;
  while (true) {
    const size_t comma = text.find(',');
    const std::string_view item = kalam_plugin::trim(text.substr(0, comma));
    bool known = false;
    if (item == "all") {
      kinds |= kAllKinds, known = true;
    } else if (item == "read") {
      kinds |= kReadKinds, known = true;
    } else if (item == "iter") {
      kinds |= kIterKinds, known = true;
    } else {
      for (int k = 0; k < kKindCount; ++k) {
        if (item == kKindNames[k]) kinds |= bit(Kind(k)), known = true;
      }
    }
    if (!known) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "%s: option fail_kind: unknown call kind '%.*s'; use all, "
                  "read, iter, or vtable names such as open, write, get, "
                  "multi_get, iter_create, iter_next, cf_open, cf_drop, "
                  "snapshot_create, flush, close (see README.md)",
                  kWho, static_cast<int>(item.size()), item.data());
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  *out = kinds;
  return KALAM_OK;
}

int parse_code(std::string_view text, int* out) {
  static const std::pair<const char*, int> kCodes[] = {
      {"io_error", KALAM_IO_ERROR},
      {"no_space", KALAM_NO_SPACE},
      {"busy", KALAM_BUSY},
      {"corruption", KALAM_CORRUPTION},
      {"no_memory", KALAM_NO_MEMORY},
      {"internal", KALAM_INTERNAL},
      // ABI 1.2: what a remote store fails with (injected before the inner
      // call, so nothing was applied, which outcome_unknown allows).
      {"unavailable", KALAM_UNAVAILABLE},
      {"timed_out", KALAM_TIMED_OUT},
      {"outcome_unknown", KALAM_OUTCOME_UNKNOWN},
      {"too_large", KALAM_TOO_LARGE},
  };
  for (const auto& [name, code] : kCodes) {
    if (kalam_plugin::iequals(kalam_plugin::trim(text), name)) {
      *out = code;
      return true;
    }
  }
  return false;
}

int parse_config(const kalam_open_params* params, Config* config,
                 kalam_status* status) {
  const bool has_options = KALAM_PLUGIN_COVERS(params, option_count);
  const size_t count = has_options ? params->option_count : 0;
  if (count > 0 &&
      (params->option_keys == nullptr || params->option_values == nullptr)) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "%s: open: option_count is %zu but the option arrays are NULL",
                kWho, count);
  }
  for (size_t i = 0; i < count; ++i) {
    const char* key_c = params->option_keys[i];
    const char* value_c = params->option_values[i];
    if (key_c == nullptr || value_c == nullptr) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "%s: open: option %zu has a NULL key or value", kWho, i);
    }
    const std::string_view key = key_c, value = value_c;
    auto bad_value = [&](const char* expected) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "%s: option %s: cannot parse '%s' (expected %s)", kWho, key_c,
                  value_c, expected);
    };
    if (key.substr(0, kInnerPrefix.size()) == kInnerPrefix &&
        key.size() > kInnerPrefix.size()) {
      config->inner_keys.emplace_back(key.substr(kInnerPrefix.size()));
      config->inner_values.emplace_back(value);
    } else if (key == "inner") {
      config->inner = std::string(kalam_plugin::trim(value));
    } else if (key == "fail_call") {
      if (!parse_count(value, &config->fail_call)) {
        return bad_value("a call index: 0 is the first counted call");
      }
    } else if (key == "fail_from") {
      if (!parse_count(value, &config->fail_from)) {
        return bad_value("a call index: 0 is the first counted call");
      }
    } else if (key == "fail_kind") {
      const int rc = parse_kinds(value, &config->kinds, status);
      if (rc != KALAM_OK) return rc;
    } else if (key == "fail_code") {
      if (!parse_code(value, &config->code)) {
        return bad_value(
            "io_error, no_space, busy, corruption, no_memory, internal, "
            "unavailable, timed_out, outcome_unknown or too_large");
      }
    } else if (key == "limit_write_ops") {
      if (!parse_count(value, &config->limit_write_ops)) {
        return bad_value("a count of ops per write (0: no limit)");
      }
    } else if (key == "log_injections") {
      if (value == "true" || value == "1") {
        config->log_injections = true;
      } else if (value == "false" || value == "0") {
        config->log_injections = false;
      } else {
        return bad_value("true or false");
      }
    } else {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "%s: unknown option '%s'; known: inner, inner.<key> (passed "
                  "to the inner plugin as <key>), fail_call, fail_from, "
                  "fail_kind, fail_code, limit_write_ops, log_injections",
                  kWho, key_c);
    }
  }
  return KALAM_OK;
}

// ---- Handles
// ---------------------------------------------------------------------

}  // namespace

struct kalam_db {
  const Inner* inner = nullptr;
  ::kalam_db* db = nullptr;  // the inner plugin's handle
  Config config;
  std::atomic<uint64_t> calls{0};
  std::atomic<uint64_t> injected{0};
};

struct kalam_iter {
  ::kalam_db* owner = nullptr;
  ::kalam_iter* it = nullptr;  // the inner plugin's handle
  int sticky = KALAM_OK;       // an injected failure, until destroyed
  kalam_status sticky_detail{};
  // iter_read_batch() over an inner plugin without it: the copies of the
  // last batch's entries (the inner's views die at its next step).
  std::string arena;
};

namespace {

// Counts a call of `kind` and decides whether to fail it. `counter` is the
// database's, or null for open() (whose counter does not exist yet and
// whose index is always 0).
int inject(const Config& config, std::atomic<uint64_t>* counter,
           std::atomic<uint64_t>* injected, const char* inner_name, Kind kind,
           kalam_status* status) {
  if ((config.kinds & bit(kind)) == 0) return KALAM_OK;
  const uint64_t index = counter->fetch_add(1);
  const bool hit =
      index == config.fail_call ||
      (config.fail_from != UINT64_MAX && index >= config.fail_from);
  if (!hit) return KALAM_OK;
  injected->fetch_add(1);
  char message[KALAM_STATUS_MESSAGE_SIZE];
  std::snprintf(message, sizeof message,
                "%s: injected %s into call %" PRIu64
                " (%s) before it reached inner backend '%s'; nothing was "
                "applied",
                kWho, kalam_code_name(config.code), index, kKindNames[kind],
                inner_name);
  if (config.log_injections) log_line(KALAM_LOG_WARN, message);
  return kalam_plugin::set_status(status, config.code, 0, message);
}

int inject(::kalam_db* db, Kind kind, kalam_status* status) {
  return inject(db->config, &db->calls, &db->injected, db->inner->name.c_str(),
                kind, status);
}

#define FAULTY_CHECK_DB(db)                                                   \
  do {                                                                        \
    if ((db) == nullptr) {                                                    \
      return fail(status, KALAM_INVALID_ARGUMENT, 0, "%s: db is NULL", kWho); \
    }                                                                         \
  } while (0)

#define FAULTY_INJECT(db, kind)                       \
  do {                                                \
    const int injected_rc = inject(db, kind, status); \
    if (injected_rc != KALAM_OK) return injected_rc;  \
  } while (0)

// ---- Database
// ----------------------------------------------------------------------

int f_open(const kalam_open_params* params, ::kalam_db** out_db,
           kalam_status* status) {
  return guarded(status, "open", [&]() -> int {
    if (params == nullptr || out_db == nullptr) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "%s: open needs params and out_db (got NULL)", kWho);
    }
    const Inner* declared = load_time_inner();
    if (declared == nullptr) {
      return fail(status, KALAM_INTERNAL, 0,
                  "%s: open before kalam_plugin_entry succeeded", kWho);
    }
    auto db = std::make_unique<::kalam_db>();
    int rc = parse_config(params, &db->config, status);
    if (rc != KALAM_OK) return rc;
    if (db->config.inner.empty()) db->config.inner = declared->name;
    rc = load_inner(db->config.inner, nullptr, &db->inner, status);
    if (rc != KALAM_OK) return rc;
    const kalam_plugin_info& want = declared->info;
    const kalam_plugin_info& have = db->inner->info;
    const uint64_t missing = want.capabilities & ~have.capabilities;
    auto stricter = [](uint64_t mine, uint64_t theirs) {
      return theirs != 0 && (mine == 0 || theirs < mine);
    };
    if (missing != 0 || stricter(want.max_key_size, have.max_key_size) ||
        stricter(want.max_value_size, have.max_value_size)) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "%s: inner backend '%s' lacks capabilities (bits 0x%" PRIx64
                  ") or has stricter size limits than the faulty plugin "
                  "declared for '%s' when it was loaded; set %s=%s in the "
                  "environment before the faulty plugin is loaded",
                  kWho, db->inner->name.c_str(), missing,
                  declared->name.c_str(), kInnerEnv, db->inner->name.c_str());
    }
    rc = inject(db->config, &db->calls, &db->injected, db->inner->name.c_str(),
                kOpen, status);
    if (rc != KALAM_OK) return rc;

    std::vector<const char*> keys, values;
    for (size_t i = 0; i < db->config.inner_keys.size(); ++i) {
      keys.push_back(db->config.inner_keys[i].c_str());
      values.push_back(db->config.inner_values[i].c_str());
    }
    kalam_open_params inner_params{};
    inner_params.struct_size = sizeof inner_params;
    inner_params.flags = params->flags;
    inner_params.path = params->path;
    inner_params.option_keys = keys.data();
    inner_params.option_values = values.data();
    inner_params.option_count = keys.size();
    inner_params.options_yaml = nullptr;
    ::kalam_db* inner_db = nullptr;
    rc = db->inner->vt->open(&inner_params, &inner_db, status);
    if (rc != KALAM_OK) return rc;
    db->db = inner_db;
    *out_db = db.release();
    return KALAM_OK;
  });
}

int f_close(::kalam_db* db, kalam_status* status) {
  return guarded(status, "close", [&]() -> int {
    FAULTY_CHECK_DB(db);
    const int injected = inject(db, kClose, status);
    if (injected == KALAM_BUSY) return injected;  // still open, as BUSY says
    kalam_status inner_detail{};
    inner_detail.struct_size = sizeof inner_detail;
    const int rc = db->inner->vt->close(
        db->db, injected != KALAM_OK ? &inner_detail : status);
    if (rc == KALAM_BUSY && injected == KALAM_OK) return rc;
    delete db;
    return injected != KALAM_OK ? injected : rc;
  });
}

int f_flush(::kalam_db* db, uint32_t flags, kalam_status* status) {
  return guarded(status, "flush", [&]() -> int {
    FAULTY_CHECK_DB(db);
    FAULTY_INJECT(db, kFlush);
    return db->inner->vt->flush(db->db, flags, status);
  });
}

int f_cf_open(::kalam_db* db, const char* name, uint32_t flags,
              kalam_cf** out_cf, kalam_status* status) {
  return guarded(status, "cf_open", [&]() -> int {
    FAULTY_CHECK_DB(db);
    FAULTY_INJECT(db, kCfOpen);
    return db->inner->vt->cf_open(db->db, name, flags, out_cf, status);
  });
}

int f_cf_drop(::kalam_db* db, kalam_cf* cf, kalam_status* status) {
  return guarded(status, "cf_drop", [&]() -> int {
    FAULTY_CHECK_DB(db);
    FAULTY_INJECT(db, kCfDrop);
    return db->inner->vt->cf_drop(db->db, cf, status);
  });
}

int f_cf_list(::kalam_db* db, kalam_name_visitor visit, void* ctx,
              kalam_status* status) {
  return guarded(status, "cf_list", [&]() -> int {
    FAULTY_CHECK_DB(db);
    FAULTY_INJECT(db, kCfList);
    return db->inner->vt->cf_list(db->db, visit, ctx, status);
  });
}

int f_get(::kalam_db* db, const kalam_read_options* options, kalam_cf* cf,
          const void* key, size_t key_len, kalam_value_visitor visit, void* ctx,
          kalam_status* status) {
  return guarded(status, "get", [&]() -> int {
    FAULTY_CHECK_DB(db);
    FAULTY_INJECT(db, kGet);
    return db->inner->vt->get(db->db, options, cf, key, key_len, visit, ctx,
                              status);
  });
}

int f_get_into(::kalam_db* db, const kalam_read_options* options, kalam_cf* cf,
               const void* key, size_t key_len, void* buf, size_t buf_size,
               size_t* value_len, kalam_status* status) {
  return guarded(status, "get_into", [&]() -> int {
    FAULTY_CHECK_DB(db);
    FAULTY_INJECT(db, kGetInto);
    return db->inner->vt->get_into(db->db, options, cf, key, key_len, buf,
                                   buf_size, value_len, status);
  });
}

int f_multi_get(::kalam_db* db, const kalam_read_options* options, size_t count,
                kalam_cf* const* cfs, const void* const* keys,
                const size_t* key_lens, kalam_multi_get_visitor visit,
                void* ctx, kalam_status* status) {
  return guarded(status, "multi_get", [&]() -> int {
    FAULTY_CHECK_DB(db);
    FAULTY_INJECT(db, kMultiGet);
    return db->inner->vt->multi_get(db->db, options, count, cfs, keys, key_lens,
                                    visit, ctx, status);
  });
}

// limit_write_ops: a write over it is refused whole, as a remote store
// over its --max-txn-ops would.
int over_limit(const ::kalam_db* db, size_t op_count, kalam_status* status) {
  const uint64_t limit = db->config.limit_write_ops;
  if (limit == 0 || op_count <= limit) return KALAM_OK;
  return fail(status, KALAM_TOO_LARGE, 0,
              "%s: a write of %zu ops is over limit_write_ops=%" PRIu64
              "; nothing was applied",
              kWho, op_count, limit);
}

int f_write(::kalam_db* db, const kalam_write_options* options,
            const kalam_write_op* ops, size_t op_count, kalam_status* status) {
  return guarded(status, "write", [&]() -> int {
    FAULTY_CHECK_DB(db);
    FAULTY_INJECT(db, kWrite);
    if (int rc = over_limit(db, op_count, status); rc != KALAM_OK) return rc;
    return db->inner->vt->write(db->db, options, ops, op_count, status);
  });
}

int f_snapshot_create(::kalam_db* db, kalam_snapshot** out_snapshot,
                      kalam_status* status) {
  return guarded(status, "snapshot_create", [&]() -> int {
    FAULTY_CHECK_DB(db);
    FAULTY_INJECT(db, kSnapshotCreate);
    return db->inner->vt->snapshot_create(db->db, out_snapshot, status);
  });
}

void f_snapshot_release(::kalam_db* db, kalam_snapshot* snapshot) {
  if (db == nullptr) return;
  db->inner->vt->snapshot_release(db->db, snapshot);
}

// ---- Iterators
// -----------------------------------------------------------------------

int f_iter_create(::kalam_db* db, const kalam_iter_options* options,
                  kalam_cf* cf, ::kalam_iter** out_iter, kalam_status* status) {
  return guarded(status, "iter_create", [&]() -> int {
    FAULTY_CHECK_DB(db);
    if (out_iter == nullptr) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "%s: iter_create: out_iter is NULL", kWho);
    }
    FAULTY_INJECT(db, kIterCreate);
    auto iter = std::make_unique<::kalam_iter>();
    iter->owner = db;
    ::kalam_iter* inner_iter = nullptr;
    const int rc =
        db->inner->vt->iter_create(db->db, options, cf, &inner_iter, status);
    if (rc != KALAM_OK) return rc;
    iter->it = inner_iter;
    *out_iter = iter.release();
    return KALAM_OK;
  });
}

void f_iter_destroy(::kalam_iter* iter) {
  if (iter == nullptr) return;
  iter->owner->inner->vt->iter_destroy(iter->it);
  delete iter;
}

// A move: counted; a sticky injected error repeats; an injected failure
// becomes sticky (the ABI's rule for storage errors of iterators).
template <typename Forward>
int iter_move(::kalam_iter* iter, Kind kind, kalam_status* status,
              Forward forward) {
  if (iter == nullptr) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0, "%s: %s: iter is NULL", kWho,
                kKindNames[kind]);
  }
  kalam_status detail{};
  detail.struct_size = sizeof detail;
  const int rc = inject(iter->owner, kind, &detail);
  if (rc != KALAM_OK && iter->sticky == KALAM_OK) {
    iter->sticky = rc;  // the first failure is the one reported
    iter->sticky_detail = detail;
  }
  if (iter->sticky != KALAM_OK) {
    kalam_plugin::copy_status(iter->sticky_detail, status);
    return iter->sticky;
  }
  return forward(iter->owner->inner->vt, iter->it);
}

int f_iter_seek_first(::kalam_iter* iter, kalam_status* status) {
  return guarded(status, "iter_seek_first", [&] {
    return iter_move(iter, kIterSeekFirst, status,
                     [&](const kalam_backend_vtable* vt, ::kalam_iter* it) {
                       return vt->iter_seek_first(it, status);
                     });
  });
}

int f_iter_seek_last(::kalam_iter* iter, kalam_status* status) {
  return guarded(status, "iter_seek_last", [&] {
    return iter_move(iter, kIterSeekLast, status,
                     [&](const kalam_backend_vtable* vt, ::kalam_iter* it) {
                       return vt->iter_seek_last(it, status);
                     });
  });
}

int f_iter_seek(::kalam_iter* iter, const void* target, size_t target_len,
                kalam_status* status) {
  return guarded(status, "iter_seek", [&] {
    return iter_move(iter, kIterSeek, status,
                     [&](const kalam_backend_vtable* vt, ::kalam_iter* it) {
                       return vt->iter_seek(it, target, target_len, status);
                     });
  });
}

int f_iter_seek_for_prev(::kalam_iter* iter, const void* target,
                         size_t target_len, kalam_status* status) {
  return guarded(status, "iter_seek_for_prev", [&] {
    return iter_move(iter, kIterSeekForPrev, status,
                     [&](const kalam_backend_vtable* vt, ::kalam_iter* it) {
                       return vt->iter_seek_for_prev(it, target, target_len,
                                                     status);
                     });
  });
}

int f_iter_next(::kalam_iter* iter, kalam_status* status) {
  return guarded(status, "iter_next", [&] {
    return iter_move(iter, kIterNext, status,
                     [&](const kalam_backend_vtable* vt, ::kalam_iter* it) {
                       return vt->iter_next(it, status);
                     });
  });
}

int f_iter_prev(::kalam_iter* iter, kalam_status* status) {
  return guarded(status, "iter_prev", [&] {
    return iter_move(iter, kIterPrev, status,
                     [&](const kalam_backend_vtable* vt, ::kalam_iter* it) {
                       return vt->iter_prev(it, status);
                     });
  });
}

int f_iter_valid(const ::kalam_iter* iter) {
  if (iter == nullptr || iter->sticky != KALAM_OK) return 0;
  return iter->owner->inner->vt->iter_valid(iter->it);
}

int f_iter_entry(const ::kalam_iter* iter, const void** key, size_t* key_len,
                 const void** value, size_t* value_len) {
  if (iter == nullptr) return KALAM_INVALID_ARGUMENT;
  if (iter->sticky != KALAM_OK) return KALAM_NOT_FOUND;
  return iter->owner->inner->vt->iter_entry(iter->it, key, key_len, value,
                                            value_len);
}

int f_iter_status(const ::kalam_iter* iter, kalam_status* status) {
  if (iter == nullptr) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "%s: iter_status: iter is NULL", kWho);
  }
  if (iter->sticky != KALAM_OK) {
    kalam_plugin::copy_status(iter->sticky_detail, status);
    return iter->sticky;
  }
  return iter->owner->inner->vt->iter_status(iter->it, status);
}

int f_iter_next_batch(::kalam_iter* iter, uint32_t flags, size_t max_entries,
                      kalam_entry_visitor visit, void* ctx, size_t* consumed,
                      kalam_status* status) {
  return guarded(status, "iter_next_batch", [&]() -> int {
    if (iter == nullptr) {
      if (consumed != nullptr) *consumed = 0;
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "%s: iter_next_batch: iter is NULL", kWho);
    }
    const int rc =
        iter_move(iter, kIterNextBatch, status,
                  [&](const kalam_backend_vtable* vt, ::kalam_iter* it) {
                    return vt->iter_next_batch(it, flags, max_entries, visit,
                                               ctx, consumed, status);
                  });
    if (iter->sticky != KALAM_OK && consumed != nullptr) *consumed = 0;
    return rc;
  });
}

// ABI 1.1. Forwarded when the inner plugin has iter_read_batch(); else
// built from the inner's iter_next_batch(), copying each entry into the
// wrapper's per-iterator arena, so the wrapper always offers the call.
struct CopyBatch {
  kalam_entry* out;
  std::string* arena;
  size_t n = 0;
};

int copy_entry(void* ctx, const void* key, size_t key_len, const void* value,
               size_t value_len) {
  auto* c = static_cast<CopyBatch*>(ctx);
  kalam_entry& e = c->out[c->n++];
  e.key_len = key_len;
  e.value_len = value_len;
  c->arena->append(static_cast<const char*>(key), key_len);
  if (value_len > 0)
    c->arena->append(static_cast<const char*>(value), value_len);
  return 0;
}

int f_iter_read_batch(::kalam_iter* iter, uint32_t flags, size_t max_entries,
                      kalam_entry* out, size_t* filled, kalam_status* status) {
  if (filled != nullptr) *filled = 0;
  return guarded(status, "iter_read_batch", [&]() -> int {
    if (iter == nullptr || filled == nullptr ||
        (out == nullptr && max_entries > 0)) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "%s: iter_read_batch: iter and filled must not be NULL, "
                  "nor out when max_entries is above 0",
                  kWho);
    }
    const int rc = iter_move(
        iter, kIterReadBatch, status,
        [&](const kalam_backend_vtable* vt, ::kalam_iter* it) {
          if (vt->struct_size >= KALAM_BACKEND_VTABLE_SIZE_1_1 &&
              vt->iter_read_batch != nullptr) {
            return vt->iter_read_batch(it, flags, max_entries, out, filled,
                                       status);
          }
          // Offsets first (the arena may move while it grows).
          iter->arena.clear();
          CopyBatch batch{out, &iter->arena};
          size_t consumed = 0;
          const int code = vt->iter_next_batch(
              it, flags, max_entries, &copy_entry, &batch, &consumed, status);
          const char* base = iter->arena.data();
          for (size_t i = 0; i < batch.n; ++i) {
            out[i].key = base;
            base += out[i].key_len;
            out[i].value = base;
            base += out[i].value_len;
          }
          *filled = batch.n;
          return code;
        });
    if (iter->sticky != KALAM_OK) *filled = 0;
    return rc;
  });
}

// ---- Optional group
// ---------------------------------------------------------------------

int not_supported(kalam_status* status, const ::kalam_db* db,
                  const char* what) {
  return fail(status, KALAM_NOT_SUPPORTED, 0,
              "%s: inner backend '%s' does not implement %s", kWho,
              db->inner->name.c_str(), what);
}

// ABI 1.2 slots of the inner plugin, or NULL when it is older (its table
// does not cover them).
const kalam_backend_vtable* inner_1_2(const Inner* inner) {
  return inner->info.abi_minor >= 2 &&
                 inner->vt->struct_size >= KALAM_BACKEND_VTABLE_SIZE_1_2
             ? inner->vt
             : nullptr;
}

// ABI 1.2: forwarded (an injected failure applies nothing).
int f_write_conditional(::kalam_db* db, const kalam_write_options* options,
                        const kalam_expectation* expects, size_t expect_count,
                        const kalam_write_op* ops, size_t op_count,
                        kalam_status* status) {
  return guarded(status, "write_conditional", [&]() -> int {
    FAULTY_CHECK_DB(db);
    FAULTY_INJECT(db, kWriteConditional);
    if (int rc = over_limit(db, op_count, status); rc != KALAM_OK) return rc;
    const kalam_backend_vtable* vt = inner_1_2(db->inner);
    if (vt == nullptr || vt->write_conditional == nullptr) {
      return not_supported(status, db, "write_conditional");
    }
    return vt->write_conditional(db->db, options, expects, expect_count, ops,
                                 op_count, status);
  });
}

int f_read_modify_write(::kalam_db* db, const kalam_write_options* options,
                        size_t count, kalam_cf* const* cfs,
                        const void* const* keys, const size_t* key_lens,
                        kalam_rmw_visitor visit, void* ctx,
                        kalam_status* status) {
  return guarded(status, "read_modify_write", [&]() -> int {
    FAULTY_CHECK_DB(db);
    FAULTY_INJECT(db, kReadModifyWrite);
    const kalam_backend_vtable* vt = inner_1_2(db->inner);
    if (vt == nullptr || vt->read_modify_write == nullptr) {
      return not_supported(status, db, "read_modify_write");
    }
    return vt->read_modify_write(db->db, options, count, cfs, keys, key_lens,
                                 visit, ctx, status);
  });
}

int f_get_limits(::kalam_db* db, kalam_limits* out, kalam_status* status) {
  return guarded(status, "get_limits", [&]() -> int {
    FAULTY_CHECK_DB(db);
    FAULTY_INJECT(db, kGetLimits);
    const kalam_backend_vtable* vt = inner_1_2(db->inner);
    if (db->config.limit_write_ops != 0) {
      if (out == nullptr || !KALAM_PLUGIN_COVERS(out, max_write_ops)) {
        return fail(status, KALAM_INVALID_ARGUMENT, 0,
                    "%s: get_limits: out is NULL or too small", kWho);
      }
      out->max_write_ops = db->config.limit_write_ops;
      return KALAM_OK;
    }
    if (vt == nullptr || vt->get_limits == nullptr) return KALAM_OK;
    return vt->get_limits(db->db, out, status);
  });
}

int f_compact_range(::kalam_db* db, kalam_cf* cf, uint32_t flags,
                    const void* begin, size_t begin_len, const void* end,
                    size_t end_len, kalam_status* status) {
  return guarded(status, "compact_range", [&]() -> int {
    FAULTY_CHECK_DB(db);
    FAULTY_INJECT(db, kCompactRange);
    if (db->inner->vt->compact_range == nullptr) {
      return not_supported(status, db, "compact_range");
    }
    return db->inner->vt->compact_range(db->db, cf, flags, begin, begin_len,
                                        end, end_len, status);
  });
}

int f_get_property(::kalam_db* db, kalam_cf* cf, const char* name,
                   kalam_value_visitor visit, void* ctx, kalam_status* status) {
  return guarded(status, "get_property", [&]() -> int {
    FAULTY_CHECK_DB(db);
    if (name == nullptr || visit == nullptr) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "%s: get_property needs a name and a visitor", kWho);
    }
    const std::string_view wanted = name;
    if (wanted.substr(0, kPropertyPrefix.size()) == kPropertyPrefix) {
      // The wrapper's own properties: never counted, never failed.
      std::string value;
      if (wanted == "faulty.calls") {
        value = std::to_string(db->calls.load());
      } else if (wanted == "faulty.injected") {
        value = std::to_string(db->injected.load());
      } else if (wanted == "faulty.inner") {
        value = db->inner->name;
      } else {
        return KALAM_NOT_FOUND;
      }
      visit(ctx, value.data(), value.size());
      return KALAM_OK;
    }
    FAULTY_INJECT(db, kGetProperty);
    if (db->inner->vt->get_property == nullptr) {
      return not_supported(status, db, "get_property");
    }
    return db->inner->vt->get_property(db->db, cf, name, visit, ctx, status);
  });
}

int f_checkpoint(::kalam_db* db, const char* path, kalam_status* status) {
  return guarded(status, "checkpoint", [&]() -> int {
    FAULTY_CHECK_DB(db);
    FAULTY_INJECT(db, kCheckpoint);
    if (db->inner->vt->checkpoint == nullptr) {
      return not_supported(status, db, "checkpoint");
    }
    return db->inner->vt->checkpoint(db->db, path, status);
  });
}

const kalam_backend_vtable kVtable = {
    .struct_size = sizeof(kalam_backend_vtable),
    .reserved0 = 0,
    .open = f_open,
    .close = f_close,
    .flush = f_flush,
    .cf_open = f_cf_open,
    .cf_drop = f_cf_drop,
    .cf_list = f_cf_list,
    .get = f_get,
    .get_into = f_get_into,
    .multi_get = f_multi_get,
    .write = f_write,
    .snapshot_create = f_snapshot_create,
    .snapshot_release = f_snapshot_release,
    .iter_create = f_iter_create,
    .iter_destroy = f_iter_destroy,
    .iter_seek_first = f_iter_seek_first,
    .iter_seek_last = f_iter_seek_last,
    .iter_seek = f_iter_seek,
    .iter_seek_for_prev = f_iter_seek_for_prev,
    .iter_next = f_iter_next,
    .iter_prev = f_iter_prev,
    .iter_valid = f_iter_valid,
    .iter_entry = f_iter_entry,
    .iter_status = f_iter_status,
    .iter_next_batch = f_iter_next_batch,
    .compact_range = f_compact_range,
    .get_property = f_get_property,
    .checkpoint = f_checkpoint,
    .iter_read_batch = f_iter_read_batch,
    .write_conditional = f_write_conditional,
    .read_modify_write = f_read_modify_write,
    .get_limits = f_get_limits,
};

}  // namespace

KALAM_PLUGIN_EXPORT int kalam_plugin_entry(const kalam_host* host,
                                           kalam_plugin_info* info,
                                           kalam_status* status) noexcept {
  return guarded(status, "kalam_plugin_entry", [&]() -> int {
    kalam_plugin::PluginValues values = {
        .name = kPluginName,
        .version = kPluginVersion,
        .vtable = &kVtable,
    };
    if (host == nullptr || info == nullptr ||
        !KALAM_PLUGIN_COVERS(host, abi_major) ||
        host->abi_major != KALAM_ABI_VERSION_MAJOR) {
      // plugin_entry() refuses these with the right message.
      return kalam_plugin::plugin_entry(host, info, status, values, &set_log);
    }
    std::string name;
    {
      Registry& r = registry();
      std::lock_guard lock(r.mu);
      name = r.load_time_inner;
    }
    if (name.empty()) {
      const char* env = std::getenv(kInnerEnv);
      name = env != nullptr && env[0] != '\0' ? env : kDefaultInner;
    }
    const Inner* inner = nullptr;
    const int rc = load_inner(name, host, &inner, status);
    if (rc != KALAM_OK) return rc;
    {
      Registry& r = registry();
      std::lock_guard lock(r.mu);
      r.load_time_inner = name;
    }
    const kalam_plugin_info& in = inner->info;
    values.format_version = in.format_version;
    // The wrapper's own minor: it offers iter_read_batch() (ABI 1.1) over
    // any inner plugin (see f_iter_read_batch).
    values.abi_minor = KALAM_ABI_VERSION_MINOR;
    values.capabilities = in.capabilities;
    values.max_key_size = in.max_key_size;
    values.max_value_size = in.max_value_size;
    return kalam_plugin::plugin_entry(host, info, status, values, &set_log);
  });
}
