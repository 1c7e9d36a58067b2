// Test support: a plugin loaded with plain dlopen and driven through its raw
// function table, for tests of what one plugin does below the engine.
// Tests of behaviour every backend shares go through the engine instead.
#pragma once

#include <dlfcn.h>
#include <kalam/backend_api.h>

#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace kalam::test {

// A loaded plugin: its info and function table. Never unloaded.
class RawPlugin {
 public:
  explicit RawPlugin(const std::string& path) {
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) throw std::runtime_error(dlerror());
    auto entry = reinterpret_cast<kalam_plugin_entry_fn>(
        dlsym(handle, KALAM_PLUGIN_ENTRY_SYMBOL));
    if (entry == nullptr)
      throw std::runtime_error("no entry symbol in " + path);
    kalam_host host{};
    host.struct_size = sizeof host;
    host.abi_major = KALAM_ABI_VERSION_MAJOR;
    host.abi_max_minor = KALAM_ABI_VERSION_MINOR;
    info_.struct_size = sizeof info_;
    kalam_status status{};
    status.struct_size = sizeof status;
    if (entry(&host, &info_, &status) != KALAM_OK) {
      throw std::runtime_error(status.message);
    }
  }
  const kalam_plugin_info& info() const { return info_; }
  const kalam_backend_vtable& vt() const { return *info_.vtable; }
  bool has(uint64_t capability) const {
    return (info_.capabilities & capability) != 0;
  }

 private:
  kalam_plugin_info info_{};
};

// A kalam_status ready to pass to a call.
struct RawStatus : kalam_status {
  RawStatus() : kalam_status{} { struct_size = sizeof(kalam_status); }
  std::string text() const {
    return std::string(kalam_code_name(code)) + ": " + message;
  }
};

// Opens `path` with `options` (key → value) and returns the code; on success
// *db is the handle.
inline int raw_open(const RawPlugin& plugin, const std::string& path,
                    const std::map<std::string, std::string>& options,
                    kalam_db** db, RawStatus* status,
                    uint32_t flags = KALAM_OPEN_CREATE_IF_MISSING) {
  std::vector<const char*> keys;
  std::vector<const char*> values;
  for (const auto& [k, v] : options) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  kalam_open_params params{};
  params.struct_size = sizeof params;
  params.flags = flags;
  params.path = path.c_str();
  params.option_keys = keys.data();
  params.option_values = values.data();
  params.option_count = keys.size();
  return plugin.vt().open(&params, db, status);
}

// Writes one batch; each op is {type, cf, key, value-or-end}.
struct RawOp {
  uint32_t type;
  kalam_cf* cf;
  std::string key;
  std::string value;
};
inline int raw_write(const RawPlugin& plugin, kalam_db* db,
                     const std::vector<RawOp>& ops, RawStatus* status,
                     bool sync = false) {
  std::vector<kalam_write_op> array;
  for (const auto& op : ops) {
    kalam_write_op w{};
    w.type = op.type;
    w.cf = op.cf;
    w.key = op.key.data();
    w.key_len = op.key.size();
    w.value = op.value.data();
    w.value_len = op.value.size();
    array.push_back(w);
  }
  kalam_write_options options{};
  options.struct_size = sizeof options;
  options.flags = sync ? KALAM_WRITE_SYNC : 0;
  options.op_stride = sizeof(kalam_write_op);
  return plugin.vt().write(db, &options, array.data(), array.size(), status);
}

// get() through the visitor; returns the code and fills *value on KALAM_OK.
inline int raw_get(const RawPlugin& plugin, kalam_db* db, kalam_cf* cf,
                   const std::string& key, std::string* value,
                   RawStatus* status,
                   const kalam_snapshot* snapshot = nullptr) {
  kalam_read_options options{};
  options.struct_size = sizeof options;
  options.snapshot = snapshot;
  return plugin.vt().get(
      db, &options, cf, key.data(), key.size(),
      [](void* ctx, const void* data, size_t len) {
        static_cast<std::string*>(ctx)->assign(static_cast<const char*>(data),
                                               len);
      },
      value, status);
}

// Every (key, value) of `cf` within [lower, upper), in order.
inline std::vector<std::pair<std::string, std::string>> raw_scan(
    const RawPlugin& plugin, kalam_db* db, kalam_cf* cf,
    const std::string* lower = nullptr, const std::string* upper = nullptr) {
  kalam_iter_options options{};
  options.struct_size = sizeof options;
  if (lower != nullptr) {
    options.flags |= KALAM_ITER_LOWER_BOUND;
    options.lower = lower->data();
    options.lower_len = lower->size();
  }
  if (upper != nullptr) {
    options.flags |= KALAM_ITER_UPPER_BOUND;
    options.upper = upper->data();
    options.upper_len = upper->size();
  }
  RawStatus status;
  kalam_iter* iter = nullptr;
  if (plugin.vt().iter_create(db, &options, cf, &iter, &status) != KALAM_OK) {
    throw std::runtime_error(status.text());
  }
  std::vector<std::pair<std::string, std::string>> out;
  int rc = plugin.vt().iter_seek_first(iter, &status);
  while (rc == KALAM_OK) {
    const void *k, *v;
    size_t kl, vl;
    plugin.vt().iter_entry(iter, &k, &kl, &v, &vl);
    out.emplace_back(std::string(static_cast<const char*>(k), kl),
                     std::string(static_cast<const char*>(v), vl));
    rc = plugin.vt().iter_next(iter, &status);
  }
  plugin.vt().iter_destroy(iter);
  if (rc != KALAM_NOT_FOUND) throw std::runtime_error(status.text());
  return out;
}

}  // namespace kalam::test
