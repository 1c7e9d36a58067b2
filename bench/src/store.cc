#include "store.h"

#include <cinttypes>
#include <sstream>

#include "runner.h"

namespace kalam_bench {
namespace {

std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

}  // namespace

namespace runner_detail {

void check(RunResult* r, bool condition, const std::string& what) {
  if (condition) return;
  r->ok = false;
  if (!r->error.empty()) r->error += "; ";
  r->error += "check failed: " + what;
}

}  // namespace runner_detail

std::string RunResult::serialize() const {
  std::ostringstream out;
  out.precision(17);
  out << "ok=" << (ok ? 1 : 0) << "\n"
      << "error=" << one_line(error) << "\n"
      << "ops=" << ops << "\n"
      << "seconds=" << seconds << "\n"
      << "p50_ns=" << p50_ns << "\n"
      << "p99_ns=" << p99_ns << "\n"
      << "latency_samples=" << latency_samples << "\n"
      << "io_ok=" << (io_ok ? 1 : 0) << "\n"
      << "write_bytes=" << write_bytes << "\n"
      << "wchar=" << wchar << "\n"
      << "db_bytes=" << db_bytes << "\n"
      << "peak_rss_kib=" << peak_rss_kib << "\n"
      << "start_rss_kib=" << start_rss_kib << "\n"
      << "rss_reset=" << (rss_reset ? 1 : 0) << "\n"
      << "found=" << found << "\n"
      << "entries=" << entries << "\n"
      << "checksum=" << checksum << "\n"
      << "open_ns=" << open_ns << "\n"
      << "load_plugin_ns=" << load_plugin_ns << "\n"
      << "note=" << one_line(note) << "\n";
  return out.str();
}

RunResult RunResult::parse(const std::string& text) {
  RunResult r;
  r.ok = false;
  r.error = "the child wrote no result";
  std::istringstream in(text);
  std::string line;
  bool any = false;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq);
    const std::string value = line.substr(eq + 1);
    auto u64 = [&] { return std::strtoull(value.c_str(), nullptr, 10); };
    auto dbl = [&] { return std::strtod(value.c_str(), nullptr); };
    any = true;
    if (key == "ok")
      r.ok = value == "1";
    else if (key == "error")
      r.error = value;
    else if (key == "ops")
      r.ops = u64();
    else if (key == "seconds")
      r.seconds = dbl();
    else if (key == "p50_ns")
      r.p50_ns = dbl();
    else if (key == "p99_ns")
      r.p99_ns = dbl();
    else if (key == "latency_samples")
      r.latency_samples = u64();
    else if (key == "io_ok")
      r.io_ok = value == "1";
    else if (key == "write_bytes")
      r.write_bytes = u64();
    else if (key == "wchar")
      r.wchar = u64();
    else if (key == "db_bytes")
      r.db_bytes = u64();
    else if (key == "peak_rss_kib")
      r.peak_rss_kib = u64();
    else if (key == "start_rss_kib")
      r.start_rss_kib = u64();
    else if (key == "rss_reset")
      r.rss_reset = value == "1";
    else if (key == "found")
      r.found = u64();
    else if (key == "entries")
      r.entries = u64();
    else if (key == "checksum")
      r.checksum = u64();
    else if (key == "open_ns")
      r.open_ns = u64();
    else if (key == "load_plugin_ns")
      r.load_plugin_ns = u64();
    else if (key == "note")
      r.note = value;
  }
  if (!any) {
    r.ok = false;
    r.error = "the child wrote no result";
  }
  return r;
}

}  // namespace kalam_bench
