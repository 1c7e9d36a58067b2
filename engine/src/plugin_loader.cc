// The plugin loader: name → file → Boost.DLL → negotiation. Every refusal is
// a distinct message that names the plugin file and the reason.
#include <dlfcn.h>
#include <kalam/config.h>
#include <kalam/plugin.h>
#include <link.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "abi_status.h"
#include "log.h"

namespace kalam {

namespace fs = std::filesystem;

struct Plugin::Token {};

namespace {
// Whether a plugin speaks ABI 1.2: it says so and its table covers the 1.2
// slots. Only then are its 1.2 slots read and its 1.2 capability bits
// honoured (the header's rule for a host).
bool speaks_1_2(const kalam_plugin_info& info) {
  return info.abi_minor >= 2 &&
         info.vtable->struct_size >= KALAM_BACKEND_VTABLE_SIZE_1_2;
}
// The capability bits ABI 1.0 and 1.1 define; an older plugin's other bits
// mean nothing.
constexpr uint64_t kCapsBefore1_2 = (UINT64_C(1) << 12) - 1;
}  // namespace

Plugin::Plugin(const Token&, fs::path file, const kalam_plugin_info& info)
    : name_(info.name),
      version_(info.version != nullptr ? info.version : ""),
      file_(std::move(file)),
      abi_major_(info.abi_major),
      abi_minor_(info.abi_minor),
      format_version_(info.format_version),
      capabilities_(speaks_1_2(info) ? info.capabilities
                                     : info.capabilities & kCapsBefore1_2),
      max_key_size_(info.max_key_size),
      max_value_size_(info.max_value_size),
      vtable_(info.vtable),
      // Read only when the table covers the slot (convention 7).
      iter_read_batch_(info.vtable->struct_size >= KALAM_BACKEND_VTABLE_SIZE_1_1
                           ? info.vtable->iter_read_batch
                           : nullptr),
      write_conditional_(
          speaks_1_2(info) && (info.capabilities & KALAM_CAP_CONDITIONAL_WRITE)
              ? info.vtable->write_conditional
              : nullptr),
      read_modify_write_(
          speaks_1_2(info) && (info.capabilities & KALAM_CAP_READ_MODIFY_WRITE)
              ? info.vtable->read_modify_write
              : nullptr),
      get_limits_(speaks_1_2(info) ? info.vtable->get_limits : nullptr) {}

std::vector<std::string> capability_names(uint64_t capabilities) {
  static const std::pair<uint64_t, const char*> kNames[] = {
      {KALAM_CAP_PERSISTENT, "persistent"},
      {KALAM_CAP_DURABLE_SYNC, "durable_sync"},
      {KALAM_CAP_ATOMIC_BATCH, "atomic_batch"},
      {KALAM_CAP_SNAPSHOTS, "snapshots"},
      {KALAM_CAP_REVERSE_ITERATION, "reverse_iteration"},
      {KALAM_CAP_DELETE_RANGE, "delete_range"},
      {KALAM_CAP_THREAD_SAFE, "thread_safe"},
      {KALAM_CAP_MULTI_PROCESS, "multi_process"},
      {KALAM_CAP_COMPACT_RANGE, "compact_range"},
      {KALAM_CAP_PROPERTIES, "properties"},
      {KALAM_CAP_CHECKPOINT, "checkpoint"},
      {KALAM_CAP_READ_ONLY_OPEN, "read_only_open"},
      {KALAM_CAP_CONDITIONAL_WRITE, "conditional_write"},
      {KALAM_CAP_READ_MODIFY_WRITE, "read_modify_write"},
      {KALAM_CAP_REMOTE, "remote"},
      {KALAM_CAP_SHARED, "shared"},
  };
  std::vector<std::string> out;
  for (const auto& [bit, name] : kNames) {
    if (capabilities & bit) out.emplace_back(name);
  }
  return out;
}

// --- Logging ---------------------------------------------------------------

namespace {

std::mutex& log_mutex() {
  static std::mutex mu;
  return mu;
}

LogSink& log_sink() {
  static LogSink sink = [](LogLevel level, std::string_view source,
                           std::string_view message) {
    if (level < LogLevel::kWarn) return;
    std::fprintf(stderr, "[%.*s] %s: %.*s\n", static_cast<int>(source.size()),
                 source.data(), level == LogLevel::kWarn ? "warning" : "error",
                 static_cast<int>(message.size()), message.data());
  };
  return sink;
}

void log_line(LogLevel level, std::string_view source,
              std::string_view message) {
  std::lock_guard lock(log_mutex());
  if (log_sink()) log_sink()(level, source, message);
}

// The host log callback handed to plugins; ctx is the plugin's name, which
// lives for the rest of the process (see LoadedLibraries).
extern "C" void host_log(void* ctx, int32_t level, const char* message) {
  try {
    const auto* source = static_cast<const std::string*>(ctx);
    LogLevel lvl = static_cast<LogLevel>(
        std::clamp<int32_t>(level, KALAM_LOG_DEBUG, KALAM_LOG_ERROR));
    log_line(lvl, *source, message != nullptr ? message : "");
  } catch (...) {
    // A log line is never worth an exception crossing the ABI.
  }
}

// Every library ever loaded, by canonical path. Never destroyed, so no
// library is unloaded while anything from it may still be alive, even during
// static destruction at exit.
struct LoadedLibraries {
  std::mutex mu;
  std::map<fs::path, boost::dll::shared_library> libraries;
  std::map<fs::path, std::shared_ptr<const Plugin>> plugins;
  // Log context strings, one per entry call; stable addresses.
  std::vector<std::unique_ptr<std::string>> log_names;
};

LoadedLibraries& loaded() {
  static auto* registry = new LoadedLibraries();
  return *registry;
}

// The throwing Boost.DLL load keeps dlerror()'s text ("invalid ELF header",
// "undefined symbol: ...") inside what(); the non-throwing one drops it.
std::string dlerror_text(const std::string& what) {
  static const std::string kMarker = "(dlerror system message: ";
  const size_t begin = what.find(kMarker);
  if (begin == std::string::npos) return what;
  const size_t start = begin + kMarker.size();
  const size_t end = what.rfind(')');
  return what.substr(start, end > start ? end - start : std::string::npos);
}

Status refuse(const fs::path& file, const std::string& why) {
  return Status::InvalidArgument("plugin " + file.string() + ": " + why);
}

Status check_backend_name(std::string_view name) {
  if (name.empty()) {
    return Status::InvalidArgument("the backend name is empty");
  }
  if (name.find('/') != std::string_view::npos) {
    return Status::InvalidArgument(
        "backend name '" + std::string(name) +
        "' contains '/': give a plugin name such as 'rocksdb', and put the "
        "directory that holds it in storage.plugin_path");
  }
  if (name.find("..") != std::string_view::npos) {
    return Status::InvalidArgument("backend name '" + std::string(name) +
                                   "' contains '..': plugin names may not "
                                   "point outside the plugin directories");
  }
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      return Status::InvalidArgument(
          "backend name '" + std::string(name) +
          "' may contain only lowercase letters, digits and '_'");
    }
  }
  return Status::OK();
}

std::string octal_mode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// Whether `uid` may own what the engine runs: root or the user running it.
bool trusted_owner(uid_t uid) { return uid == 0 || uid == ::geteuid(); }

// Refuses a file that users other than its owner may replace: the file or
// its directory writable by group or others (a sticky directory such as
// /tmp included: its other users may still create the file's name first),
// or either owned by someone other than root or the user running the engine.
Status check_file_permissions(const fs::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    return refuse(file, std::string("cannot stat: ") + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return refuse(file, "not a regular file");
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    return refuse(file,
                  "the file is writable by other users, so anyone could "
                  "replace the code the engine runs; fix with: chmod go-w " +
                      file.string());
  }
  if (!trusted_owner(st.st_uid)) {
    return refuse(file, "the file is owned by uid " +
                            std::to_string(st.st_uid) +
                            ", neither root nor the user running the engine "
                            "(uid " +
                            std::to_string(::geteuid()) +
                            "), who could replace the code it runs; fix "
                            "with: chown root " +
                            file.string());
  }
  const fs::path dir = file.parent_path();
  struct stat ds {};
  if (::stat(dir.c_str(), &ds) != 0) {
    return refuse(file, "cannot stat its directory " + dir.string() + ": " +
                            std::strerror(errno));
  }
  if (ds.st_mode & (S_IWGRP | S_IWOTH)) {
    return refuse(file, "its directory " + dir.string() + " (mode " +
                            octal_mode(ds.st_mode) +
                            ") is writable by other users, so anyone could "
                            "rename another file over the plugin; fix with: "
                            "chmod go-w " +
                            dir.string() +
                            ", or install the plugin in a directory only its "
                            "owner can write");
  }
  if (!trusted_owner(ds.st_uid)) {
    return refuse(file, "its directory " + dir.string() + " is owned by uid " +
                            std::to_string(ds.st_uid) +
                            ", neither root nor the user running the engine "
                            "(uid " +
                            std::to_string(::geteuid()) +
                            "), who could replace the plugin; fix with: "
                            "chown root " +
                            dir.string());
  }
  return Status::OK();
}

// Whether `address` is where a function symbol of its library starts (ELF
// type FUNC or GNU_IFUNC). A library may export the entry name as a data
// object; calling that would jump into data.
bool is_function_symbol(const void* address) {
  Dl_info where{};
  void* entry = nullptr;
  if (::dladdr1(address, &where, &entry, RTLD_DL_SYMENT) == 0 ||
      entry == nullptr) {
    return false;
  }
  const auto* symbol = static_cast<const ElfW(Sym)*>(entry);
  // The symbol type is the low 4 bits of st_info (ELF32_ST_TYPE and
  // ELF64_ST_TYPE alike).
  const unsigned type = symbol->st_info & 0xf;
  return type == STT_FUNC || type == STT_GNU_IFUNC;
}

// How long a probe may take to load a plugin before it counts as hung.
constexpr std::chrono::seconds kProbeTimeout{5};

// Loads `file` in a forked child first, so that a library whose
// initialisation crashes or hangs is reported instead of taking the caller
// down. OK when the child loaded it or refused it cleanly (the caller then
// loads it itself and gets the refusal's reason); an error naming the file
// when the child died of a signal or did not finish in kProbeTimeout.
// REQUIRES: the calling process has no other threads that the child could
// need (the child only loads the plugin and exits).
Status probe_in_child(const fs::path& file) {
  std::fflush(nullptr);  // nothing buffered twice
  const pid_t pid = ::fork();
  if (pid < 0) {
    return refuse(file, std::string("cannot start a probe process: ") +
                            std::strerror(errno));
  }
  if (pid == 0) {
    ::alarm(static_cast<unsigned>(kProbeTimeout.count()) + 5);  // a backstop
    auto loaded = load_plugin_file(file, "");
    ::_exit(loaded.ok() ? 0 : 1);
  }
  const auto deadline = std::chrono::steady_clock::now() + kProbeTimeout;
  int wait_status = 0;
  for (;;) {
    const pid_t done = ::waitpid(pid, &wait_status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) {
      return refuse(
          file, std::string("lost its probe process: ") + std::strerror(errno));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
      }
      return refuse(file, "did not finish loading within " +
                              std::to_string(kProbeTimeout.count()) +
                              " s in a probe process (its initialisation "
                              "hangs); remove it from the plugin directory");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (WIFSIGNALED(wait_status)) {
    const int sig = WTERMSIG(wait_status);
    return refuse(file, "crashed while loading in a probe process (signal " +
                            std::to_string(sig) + ", " + ::strsignal(sig) +
                            "); remove it from the plugin directory");
  }
  return Status::OK();
}

Status negotiate(const fs::path& file, kalam_plugin_entry_fn entry,
                 std::string_view expected_name, kalam_plugin_info* info,
                 const std::string* log_name) {
  kalam_host host{};
  host.struct_size = sizeof host;
  host.abi_major = KALAM_ABI_VERSION_MAJOR;
  host.abi_max_minor = KALAM_ABI_VERSION_MINOR;
  host.log = &host_log;
  host.log_ctx = const_cast<std::string*>(log_name);
  *info = kalam_plugin_info{};
  info->struct_size = sizeof *info;
  StatusBuffer status;
  const int rc = entry(&host, info, status.get());
  if (rc != KALAM_OK) {
    return Status(
        rc == KALAM_ABI_MISMATCH ? Code::kAbiMismatch : Code::kInvalidArgument,
        "plugin " + file.string() +
            " refused to load: " + status.message_or(kalam_code_name(rc)));
  }
  auto mismatch = [&](const std::string& why) {
    return Status::AbiMismatch("plugin " + file.string() + ": " + why);
  };
  const std::string host_version = std::to_string(KALAM_ABI_VERSION_MAJOR) +
                                   "." +
                                   std::to_string(KALAM_ABI_VERSION_MINOR);
  const std::string plugin_version =
      std::to_string(info->abi_major) + "." + std::to_string(info->abi_minor);
  if (info->abi_major != KALAM_ABI_VERSION_MAJOR) {
    return mismatch("built for ABI " + plugin_version +
                    ", but this engine speaks ABI major " +
                    std::to_string(KALAM_ABI_VERSION_MAJOR) +
                    "; rebuild the plugin against this engine's header");
  }
  if (info->abi_minor > KALAM_ABI_VERSION_MINOR) {
    return mismatch("built for ABI " + plugin_version +
                    ", newer than this engine understands (up to " +
                    host_version + "); upgrade Kalam or use an older plugin");
  }
  if (info->pointer_size != sizeof(void*) ||
      info->size_t_size != sizeof(size_t)) {
    return mismatch("built with " + std::to_string(info->pointer_size) +
                    "-byte pointers and " + std::to_string(info->size_t_size) +
                    "-byte size_t, but this engine uses " +
                    std::to_string(sizeof(void*)) + " and " +
                    std::to_string(sizeof(size_t)) +
                    "; build the plugin for this platform");
  }
  if (info->name == nullptr || info->name[0] == '\0') {
    return refuse(file, "reports no backend name");
  }
  if (!expected_name.empty() && expected_name != info->name) {
    return refuse(file, "reports backend name '" + std::string(info->name) +
                            "', but the config asks for '" +
                            std::string(expected_name) +
                            "'; rename the file or fix storage.backend");
  }
  const kalam_backend_vtable* vt = info->vtable;
  if (vt == nullptr) return refuse(file, "has no function table");
  if (vt->struct_size < KALAM_BACKEND_VTABLE_SIZE_1_0) {
    return mismatch("function table is " + std::to_string(vt->struct_size) +
                    " bytes, smaller than the " +
                    std::to_string(KALAM_BACKEND_VTABLE_SIZE_1_0) +
                    " bytes of ABI 1.0");
  }
  // Every pointer before the OPTIONAL group is required.
  const std::pair<const void*, const char*> required[] = {
      {reinterpret_cast<const void*>(vt->open), "open"},
      {reinterpret_cast<const void*>(vt->close), "close"},
      {reinterpret_cast<const void*>(vt->flush), "flush"},
      {reinterpret_cast<const void*>(vt->cf_open), "cf_open"},
      {reinterpret_cast<const void*>(vt->cf_drop), "cf_drop"},
      {reinterpret_cast<const void*>(vt->cf_list), "cf_list"},
      {reinterpret_cast<const void*>(vt->get), "get"},
      {reinterpret_cast<const void*>(vt->get_into), "get_into"},
      {reinterpret_cast<const void*>(vt->multi_get), "multi_get"},
      {reinterpret_cast<const void*>(vt->write), "write"},
      {reinterpret_cast<const void*>(vt->snapshot_create), "snapshot_create"},
      {reinterpret_cast<const void*>(vt->snapshot_release), "snapshot_release"},
      {reinterpret_cast<const void*>(vt->iter_create), "iter_create"},
      {reinterpret_cast<const void*>(vt->iter_destroy), "iter_destroy"},
      {reinterpret_cast<const void*>(vt->iter_seek_first), "iter_seek_first"},
      {reinterpret_cast<const void*>(vt->iter_seek_last), "iter_seek_last"},
      {reinterpret_cast<const void*>(vt->iter_seek), "iter_seek"},
      {reinterpret_cast<const void*>(vt->iter_seek_for_prev),
       "iter_seek_for_prev"},
      {reinterpret_cast<const void*>(vt->iter_next), "iter_next"},
      {reinterpret_cast<const void*>(vt->iter_prev), "iter_prev"},
      {reinterpret_cast<const void*>(vt->iter_valid), "iter_valid"},
      {reinterpret_cast<const void*>(vt->iter_entry), "iter_entry"},
      {reinterpret_cast<const void*>(vt->iter_status), "iter_status"},
      {reinterpret_cast<const void*>(vt->iter_next_batch), "iter_next_batch"},
  };
  for (const auto& [fn, fn_name] : required) {
    if (fn == nullptr) {
      return refuse(file, std::string("function table entry '") + fn_name +
                              "' is NULL, but ABI 1.0 requires it");
    }
  }
  const std::pair<uint64_t, const void*> optional[] = {
      {KALAM_CAP_COMPACT_RANGE,
       reinterpret_cast<const void*>(vt->compact_range)},
      {KALAM_CAP_PROPERTIES, reinterpret_cast<const void*>(vt->get_property)},
      {KALAM_CAP_CHECKPOINT, reinterpret_cast<const void*>(vt->checkpoint)},
  };
  for (const auto& [cap, fn] : optional) {
    if ((info->capabilities & cap) && fn == nullptr) {
      return refuse(file, "declares capability '" + capability_names(cap)[0] +
                              "' but its function table entry is NULL");
    }
  }
  if (speaks_1_2(*info)) {
    const std::pair<uint64_t, const void*> optional_1_2[] = {
        {KALAM_CAP_CONDITIONAL_WRITE,
         reinterpret_cast<const void*>(vt->write_conditional)},
        {KALAM_CAP_READ_MODIFY_WRITE,
         reinterpret_cast<const void*>(vt->read_modify_write)},
    };
    for (const auto& [cap, fn] : optional_1_2) {
      if ((info->capabilities & cap) && fn == nullptr) {
        return refuse(file, "declares capability '" + capability_names(cap)[0] +
                                "' but its function table entry is NULL");
      }
    }
  } else if (info->abi_minor >= 2) {
    return mismatch("reports ABI " + plugin_version + " but its function " +
                    "table is " + std::to_string(vt->struct_size) +
                    " bytes, smaller than the " +
                    std::to_string(KALAM_BACKEND_VTABLE_SIZE_1_2) +
                    " bytes of ABI 1.2; rebuild it against this header");
  }
  return Status::OK();
}

bool is_loaded(const fs::path& canonical) {
  LoadedLibraries& registry = loaded();
  std::lock_guard lock(registry.mu);
  return registry.libraries.count(canonical) > 0;
}

}  // namespace

namespace detail {
void log(LogLevel level, std::string_view message) {
  log_line(level, "kalam", message);
}
}  // namespace detail

std::filesystem::path default_plugin_dir() {
  // Installed plugins sit in <libdir>/kalam/plugins, beside libkalam.so; in
  // the build tree, libkalam.so sits in <build>/engine and the tree's own
  // plugins in <build>/plugins.
  const fs::path library_dir = boost::dll::this_line_location().parent_path();
  std::error_code ec;
  if (fs::equivalent(library_dir, KALAM_ENGINE_BUILD_DIR, ec)) {
    return KALAM_BUILD_PLUGIN_DIR;
  }
  return library_dir / KALAM_PLUGIN_SUBDIR;
}

std::string_view plugin_dir_origin_name(PluginDirOrigin origin) {
  switch (origin) {
    case PluginDirOrigin::kEnvironment:
      return kPluginPathVariable;
    case PluginDirOrigin::kConfig:
      return "storage.plugin_path";
    case PluginDirOrigin::kDefault:
      return "default";
  }
  return "?";
}

std::vector<PluginDir> plugin_search_path(
    const std::vector<fs::path>& configured) {
  std::vector<PluginDir> out;
  if (const char* variable = std::getenv(kPluginPathVariable)) {
    std::string_view rest = variable;
    while (!rest.empty()) {
      const size_t colon = rest.find(':');
      const std::string_view dir = rest.substr(0, colon);
      if (!dir.empty()) {
        out.push_back({fs::path(dir), PluginDirOrigin::kEnvironment});
      }
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
  const fs::path fallback = default_plugin_dir();
  if (configured.empty()) {
    out.push_back({fallback, PluginDirOrigin::kDefault});
  }
  for (const fs::path& dir : configured) {
    out.push_back({dir, dir == fallback ? PluginDirOrigin::kDefault
                                        : PluginDirOrigin::kConfig});
  }
  return out;
}

std::vector<fs::path> plugin_dirs(const std::vector<PluginDir>& search_path) {
  std::vector<fs::path> out;
  out.reserve(search_path.size());
  for (const PluginDir& entry : search_path) out.push_back(entry.dir);
  return out;
}

void set_log_sink(LogSink sink) {
  std::lock_guard lock(log_mutex());
  log_sink() = std::move(sink);
}

StatusOr<std::shared_ptr<const Plugin>> load_plugin_file(
    const fs::path& file, std::string_view expected_name) {
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    return Status::NotFound("plugin " + file.string() + ": file not found");
  }
  const fs::path canonical = fs::canonical(file, ec);
  if (ec) return refuse(file, "cannot resolve path: " + ec.message());
  KALAM_RETURN_IF_ERROR(check_file_permissions(canonical));

  LoadedLibraries& registry = loaded();
  std::lock_guard lock(registry.mu);
  if (auto it = registry.plugins.find(canonical);
      it != registry.plugins.end()) {
    if (!expected_name.empty() && it->second->name() != expected_name) {
      return refuse(canonical, "reports backend name '" + it->second->name() +
                                   "', but the config asks for '" +
                                   std::string(expected_name) + "'");
    }
    return it->second;
  }

  auto lib_it = registry.libraries.find(canonical);
  if (lib_it == registry.libraries.end()) {
    boost::dll::shared_library library;
    try {
      library.load(canonical, boost::dll::load_mode::rtld_now |
                                  boost::dll::load_mode::rtld_local);
    } catch (const std::exception& e) {
      return refuse(canonical, "cannot be loaded as a shared library: " +
                                   dlerror_text(e.what()));
    }
    lib_it = registry.libraries.emplace(canonical, std::move(library)).first;
  }
  boost::dll::shared_library& library = lib_it->second;
  if (!library.has(KALAM_PLUGIN_ENTRY_SYMBOL)) {
    return refuse(canonical, "is not a Kalam plugin: it does not export " +
                                 std::string(KALAM_PLUGIN_ENTRY_SYMBOL));
  }
  auto entry =
      &library.get<int(const kalam_host*, kalam_plugin_info*, kalam_status*)>(
          KALAM_PLUGIN_ENTRY_SYMBOL);
  if (!is_function_symbol(reinterpret_cast<const void*>(entry))) {
    return refuse(canonical, "is not a Kalam plugin: it exports " +
                                 std::string(KALAM_PLUGIN_ENTRY_SYMBOL) +
                                 " as a data object, not a function");
  }

  registry.log_names.push_back(
      std::make_unique<std::string>(canonical.stem().string()));
  kalam_plugin_info info{};
  KALAM_RETURN_IF_ERROR(negotiate(canonical, entry, expected_name, &info,
                                  registry.log_names.back().get()));
  *registry.log_names.back() = info.name;
  auto plugin =
      std::make_shared<const Plugin>(Plugin::Token{}, canonical, info);
  registry.plugins.emplace(canonical, plugin);
  return std::shared_ptr<const Plugin>(plugin);
}

StatusOr<std::shared_ptr<const Plugin>> load_plugin(
    std::string_view name, const std::vector<fs::path>& plugin_path) {
  KALAM_RETURN_IF_ERROR(check_backend_name(name));
  const std::string file_name = "kalam_" + std::string(name) + ".so";
  std::string looked;
  for (const fs::path& dir : plugin_path) {
    const fs::path candidate = dir / file_name;
    looked += (looked.empty() ? "" : ", ") + candidate.string();
    std::error_code ec;
    if (!fs::exists(candidate, ec)) continue;
    const fs::path real_dir = fs::canonical(dir, ec);
    const fs::path real_file = fs::canonical(candidate, ec);
    if (ec) return refuse(candidate, "cannot resolve path: " + ec.message());
    if (real_file.parent_path() != real_dir) {
      return refuse(candidate, "resolves to " + real_file.string() +
                                   ", outside the plugin directory " +
                                   real_dir.string() +
                                   "; install the plugin file itself there");
    }
    return load_plugin_file(real_file, name);
  }
  std::string available;
  for (const auto& found : discover_plugins(plugin_path)) {
    if (found.plugin) {
      available += (available.empty() ? "" : ", ") + found.plugin->name();
    }
  }
  return Status::NotFound(
      "no plugin for backend '" + std::string(name) + "': looked for " +
      (looked.empty() ? std::string("it in an empty storage.plugin_path")
                      : looked) +
      (available.empty() ? std::string("; no plugins found there")
                         : "; available: " + available));
}

std::vector<PluginCandidate> discover_plugins(
    const std::vector<fs::path>& plugin_path) {
  std::vector<PluginCandidate> out;
  for (const fs::path& dir : plugin_path) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const std::string file_name = entry.path().filename().string();
      if (file_name.rfind("kalam_", 0) != 0 ||
          entry.path().extension() != ".so") {
        continue;
      }
      const std::string name = file_name.substr(6, file_name.size() - 6 - 3);
      PluginCandidate candidate{entry.path(), nullptr, Status::OK()};
      // A file not loaded yet is loaded in a probe process first: a plugin
      // that crashes or hangs in its initialisation is reported, not run.
      std::error_code canonical_ec;
      const fs::path real_file = fs::canonical(entry.path(), canonical_ec);
      if (!canonical_ec && !is_loaded(real_file) &&
          check_file_permissions(real_file).ok()) {
        Status probed = probe_in_child(real_file);
        if (!probed.ok()) {
          candidate.status = std::move(probed);
          out.push_back(std::move(candidate));
          continue;
        }
      }
      auto plugin = load_plugin(name, {dir});
      if (plugin.ok()) {
        candidate.plugin = *plugin;
      } else {
        candidate.status = plugin.status();
      }
      out.push_back(std::move(candidate));
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.file.filename() < b.file.filename();
  });
  return out;
}

}  // namespace kalam
