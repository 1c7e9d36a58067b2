// What a run measures besides time: latency samples, the process's I/O
// counters, its peak RSS and the size of a store directory.
#pragma once

#include <time.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace kalam_bench {

// Monotonic nanoseconds (clock_gettime through the vDSO: ~20 ns a call).
inline uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u +
         static_cast<uint64_t>(ts.tv_nsec);
}

// Latency samples in nanoseconds. Reserve before the timed loop so that
// recording never allocates.
class LatencyRecorder {
 public:
  void reserve(size_t n) { samples_.reserve(n); }
  void add(uint64_t ns) {
    if (samples_.size() < samples_.capacity()) samples_.push_back(ns);
  }
  size_t count() const { return samples_.size(); }
  // The q-quantile (0..1) by the nearest-rank method; 0 without samples.
  double quantile(double q);

 private:
  std::vector<uint64_t> samples_;
};

// /proc/self/io: bytes this process (all its threads) caused to be written.
// write_bytes counts page-cache pages dirtied for storage (buffered writes
// and writes through a shared mapping), wchar the bytes passed to write(2)
// and friends. `ok` is false when the kernel has no I/O accounting.
struct IoCounters {
  bool ok = false;
  uint64_t write_bytes = 0;
  uint64_t wchar = 0;
};
IoCounters read_io();

// Resets the peak RSS ("VmHWM") to the current RSS through
// /proc/self/clear_refs (Linux >= 4.0). False when that is not allowed; the
// peak then covers the whole process.
bool reset_peak_rss();
// VmHWM of /proc/self/status, in KiB (0 when unreadable).
uint64_t peak_rss_kib();
// VmRSS, in KiB.
uint64_t current_rss_kib();

// Bytes allocated on disk (st_blocks * 512) under `dir`, recursively.
uint64_t disk_usage(const std::filesystem::path& dir);

// Median, minimum and maximum of `values` (empty: all 0).
struct Summary {
  double median = 0, min = 0, max = 0;
  size_t n = 0;
};
Summary summarize(std::vector<double> values);

}  // namespace kalam_bench
