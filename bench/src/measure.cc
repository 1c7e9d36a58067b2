#include "measure.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

namespace kalam_bench {
namespace {

// The value of "Key:" in a /proc file of "Key: value" lines.
bool proc_field(const char* file, const std::string& key, uint64_t* out) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, key.size(), key) == 0 && line.size() > key.size() &&
        line[key.size()] == ':') {
      std::istringstream value(line.substr(key.size() + 1));
      return static_cast<bool>(value >> *out);
    }
  }
  return false;
}

}  // namespace

double LatencyRecorder::quantile(double q) {
  if (samples_.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(q * double(samples_.size())));
  rank = std::clamp<size_t>(rank, 1, samples_.size()) - 1;
  std::nth_element(samples_.begin(), samples_.begin() + rank, samples_.end());
  return double(samples_[rank]);
}

IoCounters read_io() {
  IoCounters io;
  io.ok = proc_field("/proc/self/io", "write_bytes", &io.write_bytes) &&
          proc_field("/proc/self/io", "wchar", &io.wchar);
  return io;
}

bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  if (!out) return false;
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

uint64_t peak_rss_kib() {
  uint64_t kib = 0;
  proc_field("/proc/self/status", "VmHWM", &kib);
  return kib;
}

uint64_t current_rss_kib() {
  uint64_t kib = 0;
  proc_field("/proc/self/status", "VmRSS", &kib);
  return kib;
}

uint64_t disk_usage(const std::filesystem::path& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (std::filesystem::recursive_directory_iterator it(dir, ec), end;
       !ec && it != end; it.increment(ec)) {
    struct stat st;
    if (lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      total += static_cast<uint64_t>(st.st_blocks) * 512;
    }
  }
  return total;
}

Summary summarize(std::vector<double> values) {
  Summary s;
  s.n = values.size();
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  s.min = values.front();
  s.max = values.back();
  const size_t mid = values.size() / 2;
  s.median = values.size() % 2 == 1 ? values[mid]
                                    : (values[mid - 1] + values[mid]) / 2;
  return s;
}

}  // namespace kalam_bench
