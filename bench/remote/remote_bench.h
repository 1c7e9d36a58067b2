// remote_bench.h - what the benches of the server plugins (bench/etcd,
// bench/postgres) share: the keys and values, the multi-threaded driver and
// the workload loop. Each bench supplies a native Store (the store's own
// client issuing the plugin's requests) and uses PluginStore
// (remote_plugin_store.h) for the plugin side, so both sides run the same
// loop and print the same columns.
//
// A Store has: void write(const std::vector<std::string>& keys) (one
// batch), bool get(const std::string& key) (found?), and uint64_t scan()
// (entries in [kScanLower, kScanUpper)).
#pragma once

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace kalam_bench {

using Clock = std::chrono::steady_clock;

// Which program is talking (set by main), for die()'s messages.
inline const char* g_program = "kalam-bench";

[[noreturn]] inline void die(const std::string& message) {
  std::fprintf(stderr, "%s: %s\n", g_program, message.c_str());
  std::exit(2);
}

inline std::string key_of(int thread, uint64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "t%02d-k%010llu", thread,
                static_cast<unsigned long long>(i));
  return buf;  // 16 bytes
}

inline const std::string kValue(100, 'v');
// The scan workload reads the loaded set ("thread" 99's keys) only, so its
// size does not grow with the write workloads.
inline const std::string kScanLower = "t99-";
inline const std::string kScanUpper = "t99.";

struct Result {
  double ops_per_s = 0;
  double p50_us = 0;
  double p99_us = 0;
  // CPU time (user + system) of this process per unit: what the client
  // side costs, much less disturbed than wall time by other load on the
  // machine (the server's CPU is not in it).
  double cpu_us_per_unit = 0;
  uint64_t units = 0;  // keys written or read, entries scanned
};

inline double process_cpu_us() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e6 +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

inline double quantile(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * v.size()));
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(i), v.end());
  return v[i];
}

// Runs `op(thread, i)` (returning the units it did) on `threads` threads for
// `seconds`; latency per op.
template <class Op>
Result run(int threads, double seconds, Op op) {
  std::vector<std::vector<double>> latencies(threads);
  std::vector<uint64_t> units(threads, 0);
  std::vector<std::thread> pool;
  const double cpu_start = process_cpu_us();
  const auto start = Clock::now();
  const auto stop = start + std::chrono::duration<double>(seconds);
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      // Bounded by time and by count.
      for (uint64_t i = 0; i < 100000000 && Clock::now() < stop; ++i) {
        const auto t0 = Clock::now();
        units[t] += op(t, i);
        latencies[t].push_back(
            std::chrono::duration<double, std::micro>(Clock::now() - t0)
                .count());
      }
    });
  }
  for (auto& th : pool) th.join();
  const double cpu = process_cpu_us() - cpu_start;
  const double took =
      std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  uint64_t total = 0;
  for (int t = 0; t < threads; ++t) {
    all.insert(all.end(), latencies[t].begin(), latencies[t].end());
    total += units[t];
  }
  Result r;
  r.ops_per_s = static_cast<double>(total) / took;
  r.p50_us = quantile(all, 0.50);
  r.p99_us = quantile(all, 0.99);
  r.cpu_us_per_unit = total > 0 ? cpu / static_cast<double>(total) : 0;
  r.units = total;
  return r;
}

// The command line both benches take besides their server flag.
struct WorkloadOptions {
  double seconds = 3;
  uint64_t keys = 10000;
  std::vector<int> thread_counts = {1, 4, 16};
  std::string workloads = ",put,batch100,get,scan,";

  // Takes `flag value` when it is one of --seconds, --keys, --workloads,
  // --threads; false for any other flag.
  bool take(const std::string& flag, const std::string& value) {
    if (flag == "--seconds") {
      seconds = std::stod(value);
    } else if (flag == "--keys") {
      keys = std::stoull(value);
      if (keys == 0) die("--keys must be at least 1");
    } else if (flag == "--workloads") {
      workloads = "," + value + ",";
    } else if (flag == "--threads") {
      thread_counts.clear();
      std::stringstream in(value);
      std::string n;
      while (std::getline(in, n, ',')) thread_counts.push_back(std::stoi(n));
      if (thread_counts.empty()) die("--threads needs at least one count");
    } else {
      return false;
    }
    return true;
  }
  int max_threads() const {
    return *std::max_element(thread_counts.begin(), thread_counts.end());
  }
};

// Loads `options.keys` keys ("thread" 99's, in batches of 100), then runs
// each selected workload at each thread count and prints one tab-separated
// line per run: mode, workload, threads, ops/s, p50 and p99 latency (µs),
// client CPU µs per unit, units.
template <class Store>
void run_workloads(Store& store, const char* mode,
                   const WorkloadOptions& options) {
  const uint64_t keys = options.keys;
  for (uint64_t i = 0; i < keys; i += 100) {
    std::vector<std::string> batch;
    for (uint64_t j = i; j < std::min(keys, i + 100); ++j) {
      batch.push_back(key_of(99, j));
    }
    store.write(batch);
  }
  std::printf(
      "mode\tworkload\tthreads\tops_per_s\tp50_us\tp99_us\tcpu_us_per_"
      "unit\tunits\n");
  for (int threads : options.thread_counts) {
    std::vector<std::mt19937_64> rngs;
    for (int t = 0; t < threads; ++t) rngs.emplace_back(1234 + t);
    const auto wanted = [&](const char* workload) {
      return options.workloads.find("," + std::string(workload) + ",") !=
             std::string::npos;
    };
    const auto print = [&](const char* workload, const Result& r) {
      std::printf("%s\t%s\t%d\t%.0f\t%.0f\t%.0f\t%.3f\t%llu\n", mode, workload,
                  threads, r.ops_per_s, r.p50_us, r.p99_us, r.cpu_us_per_unit,
                  static_cast<unsigned long long>(r.units));
      std::fflush(stdout);
    };
    const double seconds = options.seconds;
    if (wanted("put"))
      print("put", run(threads, seconds, [&](int t, uint64_t i) {
              store.write({key_of(t, 1000000 + i)});
              return 1;
            }));
    if (wanted("batch100"))
      print("batch100", run(threads, seconds, [&](int t, uint64_t i) {
              std::vector<std::string> batch;
              for (uint64_t j = 0; j < 100; ++j) {
                batch.push_back(key_of(t, 2000000 + i * 100 + j));
              }
              store.write(batch);
              return 100;
            }));
    if (wanted("get"))
      print("get", run(threads, seconds, [&](int t, uint64_t) {
              if (!store.get(key_of(99, rngs[t]() % keys))) die("get: missing");
              return 1;
            }));
    // scan: entries per second over the loaded set.
    if (wanted("scan"))
      print("scan", run(threads, seconds, [&](int, uint64_t) {
              const uint64_t n = store.scan();
              if (n != keys) die("scan: " + std::to_string(n) + " entries");
              return static_cast<int>(n);
            }));
  }
}

}  // namespace kalam_bench
