#include "machine.h"

#include <kalam/plugin.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

#include "modes.h"

namespace kalam_bench {
namespace {

namespace fs = std::filesystem;

std::string read_first_line(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

// The value of the first "key : value" line of /proc/cpuinfo-like files.
std::string field(const char* file, const std::string& key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, key.size(), key) != 0) continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    return value;
  }
  return "";
}

std::string command_output(const std::string& command) {
  std::string out;
  if (FILE* p = popen(command.c_str(), "r")) {
    char buffer[256];
    while (fgets(buffer, sizeof buffer, p) != nullptr) out += buffer;
    pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) {
    out.pop_back();
  }
  return out;
}

// The mount and block device holding `dir`.
std::string describe_disk(const fs::path& dir) {
  struct stat st;
  fs::path probe = dir;
  while (!probe.empty() && stat(probe.c_str(), &st) != 0) {
    probe = probe.parent_path();
  }
  if (probe.empty()) return "unknown";
  const unsigned maj = major(st.st_dev), min = minor(st.st_dev);
  std::string mount, fstype, source;
  std::ifstream info("/proc/self/mountinfo");
  std::string line;
  const std::string devno = std::to_string(maj) + ":" + std::to_string(min);
  while (std::getline(info, line)) {
    std::istringstream in(line);
    std::string id, parent, dev, root, point;
    in >> id >> parent >> dev >> root >> point;
    if (dev != devno) continue;
    std::string word;
    while (in >> word && word != "-") {
    }
    in >> fstype >> source;
    mount = point;
  }
  std::string out = source.empty() ? devno : source;
  if (!fstype.empty()) out += " (" + fstype + " on " + mount + ")";
  // Whole-disk facts live on the device or, for a partition, its parent.
  fs::path sys = fs::path("/sys/dev/block") / devno;
  std::error_code ec;
  fs::path real = fs::canonical(sys, ec);
  if (!ec) {
    fs::path disk = fs::exists(real / "partition") ? real.parent_path() : real;
    const std::string rotational = read_first_line(disk / "queue/rotational");
    const std::string model = read_first_line(disk / "device/model");
    const std::string size = read_first_line(disk / "size");
    out += ", device " + disk.filename().string();
    if (!model.empty()) out += " model '" + model + "'";
    if (!rotational.empty()) {
      out += rotational == "1" ? ", rotational" : ", non-rotational";
    }
    if (!size.empty()) {
      out += ", " + std::to_string(std::stoull(size) * 512 / (1ull << 30)) +
             " GiB";
    }
  }
  return out;
}

}  // namespace

std::string load_average() {
  std::istringstream in(read_first_line("/proc/loadavg"));
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c + " (1, 5, 15 min)";
}

std::string utc_timestamp() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::string local_date() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char text[16];
  std::strftime(text, sizeof text, "%Y-%m-%d", &tm);
  return text;
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "unknown-host";
  return name;
}

Facts describe_machine(const Config& config, const fs::path& data_dir) {
  Facts f;
  f.emplace_back("Date (UTC)", utc_timestamp());
  f.emplace_back("Host", host_name());
  std::string cpu = field("/proc/cpuinfo", "model name");
  const std::string mhz = field("/proc/cpuinfo", "cpu MHz");
  if (!mhz.empty()) cpu += " @ " + mhz + " MHz";
  f.emplace_back("CPU", cpu.empty() ? "unknown" : cpu);
  std::string cores = std::to_string(sysconf(_SC_NPROCESSORS_ONLN)) + " online";
  const std::string l3 =
      read_first_line("/sys/devices/system/cpu/cpu0/cache/index3/size");
  if (!l3.empty()) cores += ", L3 " + l3;
  const std::string hypervisor =
      field("/proc/cpuinfo", "flags").find("hypervisor") != std::string::npos
          ? ", virtual machine"
          : "";
  f.emplace_back("Cores", cores + hypervisor);
  f.emplace_back("Memory", field("/proc/meminfo", "MemTotal"));
  f.emplace_back("Disk (data dir)", describe_disk(data_dir));
  struct utsname u;
  if (uname(&u) == 0) {
    f.emplace_back("Kernel", std::string(u.sysname) + " " + u.release + " " +
                                 u.version + " " + u.machine);
  }
  std::string os = field("/etc/os-release", "PRETTY_NAME");
  if (os.empty()) {
    std::ifstream in("/etc/os-release");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("PRETTY_NAME=", 0) == 0) os = line.substr(12);
    }
  }
  f.emplace_back("OS", os);
  f.emplace_back(
      "Clock source",
      read_first_line(
          "/sys/devices/system/clocksource/clocksource0/current_clocksource"));
  const std::string governor =
      read_first_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
  if (!governor.empty()) f.emplace_back("CPU governor", governor);
  f.emplace_back("Compiler", std::string("g++/clang ") + __VERSION__);
  f.emplace_back("Build type", KALAM_BENCH_BUILD_TYPE);
  for (const auto& [name, version] : library_versions()) {
    f.emplace_back(name, version);
  }
  for (const auto& backend : built_plugins()) {
    auto plugin = kalam::load_plugin(backend, {config.plugin_dir});
    f.emplace_back("Plugin " + backend,
                   plugin.ok() ? (*plugin)->version() + " (" +
                                     (*plugin)->file().string() + ")"
                               : plugin.status().to_string());
  }
  std::string revision =
      command_output("git -C '" KALAM_BENCH_SOURCE_DIR
                     "' describe --always --dirty --abbrev=12 2>/dev/null");
  f.emplace_back("Kalam",
                 std::string(KALAM_BENCH_VERSION) +
                     (revision.empty() ? "" : " (git " + revision + ")"));
  f.emplace_back("Load average at start", load_average());
  return f;
}

}  // namespace kalam_bench
