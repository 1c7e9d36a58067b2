// Loading storage plugins: resolving a backend name to a file, loading it,
// and negotiating the ABI. A loaded plugin is never unloaded.
#pragma once

#include <kalam/backend_api.h>
#include <kalam/status.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace kalam {

// A loaded plugin that passed negotiation. Immutable and thread-safe; lives
// until the process exits (its library is never unloaded).
class Plugin {
 public:
  Plugin(const Plugin&) = delete;
  Plugin& operator=(const Plugin&) = delete;

  // The backend name the plugin reports ("rocksdb").
  const std::string& name() const { return name_; }
  // The plugin's free-form version string.
  const std::string& version() const { return version_; }
  // The canonical path of the library file.
  const std::filesystem::path& file() const { return file_; }
  uint32_t abi_major() const { return abi_major_; }
  uint32_t abi_minor() const { return abi_minor_; }
  uint32_t format_version() const { return format_version_; }
  // KALAM_CAP_* bits.
  uint64_t capabilities() const { return capabilities_; }
  bool has(uint64_t capability) const {
    return (capabilities_ & capability) == capability;
  }
  // 0 means no limit.
  uint64_t max_key_size() const { return max_key_size_; }
  uint64_t max_value_size() const { return max_value_size_; }
  // The function table. Pointers in the OPTIONAL group may be null, and
  // fields past vtable().struct_size must not be read (a table built for an
  // older minor is shorter): use the accessors below for later slots.
  const kalam_backend_vtable& vtable() const { return *vtable_; }
  // ABI 1.1 iter_read_batch(), or null when the plugin has none (a 1.0
  // table, or a NULL slot).
  using ReadBatchFn = int (*)(kalam_iter*, uint32_t, size_t, kalam_entry*,
                              size_t*, kalam_status*);
  ReadBatchFn iter_read_batch() const { return iter_read_batch_; }
  // ABI 1.2 slots, each null unless the plugin speaks 1.2 (abi_minor >= 2
  // and a table that covers them) and, for the two write calls, declares
  // the capability. The engine never calls a 1.2 slot of an older plugin,
  // and capabilities() hides an older plugin's bits 12 and up.
  using WriteConditionalFn = int (*)(kalam_db*, const kalam_write_options*,
                                     const kalam_expectation*, size_t,
                                     const kalam_write_op*, size_t,
                                     kalam_status*);
  WriteConditionalFn write_conditional() const { return write_conditional_; }
  using ReadModifyWriteFn = int (*)(kalam_db*, const kalam_write_options*,
                                    size_t, kalam_cf* const*,
                                    const void* const*, const size_t*,
                                    kalam_rmw_visitor, void*, kalam_status*);
  ReadModifyWriteFn read_modify_write() const { return read_modify_write_; }
  using GetLimitsFn = int (*)(kalam_db*, kalam_limits*, kalam_status*);
  GetLimitsFn get_limits() const { return get_limits_; }
  // Whether other processes may write the store concurrently (shared, or
  // multi_process): in-process locks then prove nothing.
  bool is_shared() const {
    return (capabilities_ & (KALAM_CAP_SHARED | KALAM_CAP_MULTI_PROCESS)) != 0;
  }

  // Builds a Plugin. Only the loader calls this; it is public for
  // std::make_shared.
  struct Token;
  Plugin(const Token&, std::filesystem::path file,
         const kalam_plugin_info& info);

 private:
  std::string name_;
  std::string version_;
  std::filesystem::path file_;
  uint32_t abi_major_;
  uint32_t abi_minor_;
  uint32_t format_version_;
  uint64_t capabilities_;
  uint64_t max_key_size_;
  uint64_t max_value_size_;
  const kalam_backend_vtable* vtable_;
  ReadBatchFn iter_read_batch_;
  WriteConditionalFn write_conditional_;
  ReadModifyWriteFn read_modify_write_;
  GetLimitsFn get_limits_;
};

// The names of the KALAM_CAP_* bits set in `capabilities`, e.g.
// {"persistent", "durable_sync", ...}, in bit order.
std::vector<std::string> capability_names(uint64_t capabilities);

// The environment variable naming plugin directories searched before the
// configured ones: colon-separated, like PATH (empty entries are ignored).
inline constexpr const char* kPluginPathVariable = "KALAM_PLUGIN_PATH";

// Why a directory is on the plugin search path.
enum class PluginDirOrigin {
  kEnvironment,  // from KALAM_PLUGIN_PATH
  kConfig,       // from storage.plugin_path (or StorageConfig::plugin_path)
  kDefault,      // default_plugin_dir()
};
// "KALAM_PLUGIN_PATH", "storage.plugin_path", "default".
std::string_view plugin_dir_origin_name(PluginDirOrigin origin);

struct PluginDir {
  std::filesystem::path dir;
  PluginDirOrigin origin;
};

// The directories searched for plugins, in order: KALAM_PLUGIN_PATH's, then
// `configured` — or default_plugin_dir() when `configured` is empty.
// Database::open(StorageConfig) and the CLI search this path.
std::vector<PluginDir> plugin_search_path(
    const std::vector<std::filesystem::path>& configured);
// The directories of `search_path`, in order.
std::vector<std::filesystem::path> plugin_dirs(
    const std::vector<PluginDir>& search_path);

// Finds kalam_<name>.so in `plugin_path` (first directory wins), loads and
// negotiates it. `name` must be a plain backend name: one containing '/' or
// ".." is refused, and so is a file that resolves (through symlinks) to
// outside its directory, or that other users may write.
StatusOr<std::shared_ptr<const Plugin>> load_plugin(
    std::string_view name,
    const std::vector<std::filesystem::path>& plugin_path);

// Loads and negotiates the plugin in `file`. When `expected_name` is not
// empty, the plugin must report that name. Loading the same file again
// returns the same Plugin.
StatusOr<std::shared_ptr<const Plugin>> load_plugin_file(
    const std::filesystem::path& file, std::string_view expected_name = {});

// One file found on a plugin path, loaded or not.
struct PluginCandidate {
  std::filesystem::path file;
  std::shared_ptr<const Plugin> plugin;  // null when it was refused
  Status status;                         // why it was refused
};

// Every kalam_*.so in `plugin_path`, each loaded or with the reason it was
// refused, sorted by file name.
std::vector<PluginCandidate> discover_plugins(
    const std::vector<std::filesystem::path>& plugin_path);

// --- Logging ---------------------------------------------------------------

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Receives log lines from the engine and from plugins (`source` is "kalam"
// or the plugin name). Called from any thread; must be thread-safe.
using LogSink = std::function<void(LogLevel level, std::string_view source,
                                   std::string_view message)>;

// Replaces the process-wide sink (default: warnings and errors to stderr).
// Pass nullptr to silence logging.
void set_log_sink(LogSink sink);

}  // namespace kalam
