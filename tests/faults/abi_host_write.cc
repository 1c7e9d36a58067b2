// A minimal host of the raw backend ABI that speaks a chosen ABI minor: the
// I/O-fault tests run it under io_fault_shim.c to see which code a plugin
// gives a host of that minor for a write whose commit failed (an ABI 1.1
// host never gets the 1.2 codes, KALAM_OUTCOME_UNKNOWN among them).
//
//   abi_host_write <plugin.so> <data dir> <abi_max_minor> <key> <value bytes>
//                  [arm-before-close]
//
// Opens the database (created if missing), writes one batch of two puts
// (<key> and <key>.2, each <value bytes> bytes, not synced) and closes it.
// With arm-before-close, calls the shim's kalam_iofault_arm() just before
// the close (KALAM_IOFAULT_ARM=manual: faults hit the close only). Prints
//   write <CODE_NAME>
//   message <the status message, or nothing>
//   close <CODE_NAME>
// and exits 0; exits 2, with the reason on stderr, when the plugin cannot
// be loaded or the database cannot be opened.
#include <dlfcn.h>
#include <kalam/backend_api.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

kalam_status fresh_status() {
  kalam_status status;
  std::memset(&status, 0, sizeof status);
  status.struct_size = sizeof status;
  return status;
}

int usage() {
  std::fprintf(stderr,
               "usage: abi_host_write <plugin.so> <data dir> <abi_max_minor> "
               "<key> <value bytes> [arm-before-close]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6 &&
      !(argc == 7 && std::strcmp(argv[6], "arm-before-close") == 0)) {
    return usage();
  }
  const bool arm_before_close = argc == 7;
  const char* plugin = argv[1];
  const char* dir = argv[2];
  const unsigned long minor = std::strtoul(argv[3], nullptr, 10);
  const std::string key = argv[4];
  const std::string key2 = key + ".2";
  const std::string value(std::strtoul(argv[5], nullptr, 10), 'v');

  void* lib = dlopen(plugin, RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    std::fprintf(stderr, "cannot load %s: %s\n", plugin, dlerror());
    return 2;
  }
  auto entry = reinterpret_cast<kalam_plugin_entry_fn>(
      dlsym(lib, KALAM_PLUGIN_ENTRY_SYMBOL));
  if (entry == nullptr) {
    std::fprintf(stderr, "%s has no %s\n", plugin, KALAM_PLUGIN_ENTRY_SYMBOL);
    return 2;
  }
  kalam_host host;
  std::memset(&host, 0, sizeof host);
  host.struct_size = sizeof host;
  host.abi_major = KALAM_ABI_VERSION_MAJOR;
  host.abi_max_minor = static_cast<uint32_t>(minor);
  kalam_plugin_info info;
  std::memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  kalam_status status = fresh_status();
  if (entry(&host, &info, &status) != KALAM_OK || info.vtable == nullptr) {
    std::fprintf(stderr, "%s refused the host: %s\n", plugin, status.message);
    return 2;
  }
  if (info.abi_minor > minor) {
    std::fprintf(stderr, "%s agreed to ABI minor %u, above the host's %lu\n",
                 plugin, static_cast<unsigned>(info.abi_minor), minor);
    return 2;
  }
  const kalam_backend_vtable& vt = *info.vtable;

  kalam_open_params params;
  std::memset(&params, 0, sizeof params);
  params.struct_size = sizeof params;
  params.flags = KALAM_OPEN_CREATE_IF_MISSING;
  params.path = dir;
  kalam_db* db = nullptr;
  status = fresh_status();
  if (vt.open(&params, &db, &status) != KALAM_OK) {
    std::fprintf(stderr, "cannot open %s: %s\n", dir, status.message);
    return 2;
  }

  kalam_write_op ops[2];
  std::memset(ops, 0, sizeof ops);
  ops[0].type = ops[1].type = KALAM_OP_PUT;
  ops[0].key = key.data();
  ops[0].key_len = key.size();
  ops[1].key = key2.data();
  ops[1].key_len = key2.size();
  ops[0].value = ops[1].value = value.data();
  ops[0].value_len = ops[1].value_len = value.size();
  kalam_write_options options;
  std::memset(&options, 0, sizeof options);
  options.struct_size = sizeof options;
  options.op_stride = sizeof(kalam_write_op);
  status = fresh_status();
  const int rc = vt.write(db, &options, ops, 2, &status);
  std::printf("write %s\nmessage %s\n", kalam_code_name(rc),
              rc == KALAM_OK ? "" : status.message);
  std::fflush(stdout);
  if (arm_before_close) {
    auto arm =
        reinterpret_cast<void (*)()>(dlsym(RTLD_DEFAULT, "kalam_iofault_arm"));
    if (arm != nullptr) arm();
  }
  status = fresh_status();
  const int closed = vt.close(db, &status);
  std::printf("close %s\nclose-message %s\n", kalam_code_name(closed),
              closed == KALAM_OK ? "" : status.message);
  return 0;
}
