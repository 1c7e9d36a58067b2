// The interface every measured target implements, and what one run reports.
//
// A Store is one way of reaching a key/value store: the library's own API
// (native_*.cc), the engine's C++ API -> C ABI -> plugin (plugin_store.cc),
// or the table layer's UserTableStore on top of it (tables_store.h).
// The workload loop (runner.h) is a template over the Store type, so every
// call is a direct call: the driver adds no indirection of its own to either
// side of a comparison. A Store type provides:
//
//   static std::unique_ptr<S> open(const StoreOptions&, const fs::path& dir);
//   bool persistent() const;          // data survives close() + open()
//   void put(std::string_view key, std::string_view value, bool sync);
//   void del(std::string_view key, bool sync);
//   // n puts as one atomic write
//   void write_batch(const std::string_view* keys,
//                    const std::string_view* values, size_t n, bool sync);
//   bool get(std::string_view key, Sink& sink);  // true = found
//   Cursor cursor();                  // a movable forward cursor:
//     void seek_first();  void seek(std::string_view target);
//     size_t read(size_t n, Sink&);   // visit up to n entries from the
//                                     // current one and move past them
//   // Optional (the scanprefix workload): a cursor over the keys that start
//   // with `prefix`, positioned at the first of them. The tables mode
//   // returns its user-scoped scan (the user holds exactly those rows).
//   Cursor prefix_cursor(std::string_view prefix);
//   // Optional (scanprefix-decoded): the same scan, each entry decoded the
//   // way an application that wants the parsed row would (tables: Rows).
//   Cursor decoded_prefix_cursor(std::string_view prefix);
//   void flush();                     // make everything durable
//   void close();
//
// Every method dies (exits the child process with a message) on an error:
// a benchmark has nothing sensible to do after one.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

namespace kalam_bench {

// What a Store needs to know besides the directory.
struct StoreOptions {
  std::string backend;  // memory, rocksdb, lmdb, sqlite
  // The sync variant: stores whose durability is an open-time setting (LMDB)
  // open for synchronous commits.
  bool sync = false;
  // LMDB map size in bytes; 0 keeps the plugin's default (1 GiB).
  uint64_t lmdb_map_size = 0;
  // Entries per batched iterator step (--scan-batch); the tables mode sets
  // its RowCursor's batch size to it.
  size_t scan_batch = 256;
  std::filesystem::path plugin_dir;
};

[[noreturn]] inline void die(const std::string& message) {
  std::fprintf(stderr, "kalam-bench: %s\n", message.c_str());
  std::fflush(stderr);
  std::_Exit(2);
}

// The outcome of one run, as written by the child and read by the parent.
struct RunResult {
  bool ok = true;
  std::string error;
  uint64_t ops = 0;    // operations done (see Workload::op_unit)
  double seconds = 0;  // wall time of the timed loop
  double p50_ns = 0;   // latency quantiles of the sampled ops
  double p99_ns = 0;
  uint64_t latency_samples = 0;
  bool io_ok = false;
  uint64_t write_bytes = 0;  // /proc/self/io delta, workload + flush + close
  uint64_t wchar = 0;
  uint64_t db_bytes = 0;      // disk usage of the store after close
  uint64_t peak_rss_kib = 0;  // VmHWM during the timed loop (see rss_reset)
  uint64_t start_rss_kib = 0;
  bool rss_reset = false;         // false: VmHWM of the whole child process
  uint64_t child_maxrss_kib = 0;  // wait4() ru_maxrss, filled by the parent
  double child_cpu_seconds = 0;   // wait4() user + system time, ditto
  uint64_t found = 0;             // point reads that found their key
  uint64_t entries = 0;           // entries visited by scans
  uint64_t checksum = 0;
  uint64_t open_ns = 0;         // open workload: the open
  uint64_t load_plugin_ns = 0;  // open workload, plugin mode: load_plugin()
  std::string note;

  // "key=value" lines.
  std::string serialize() const;
  static RunResult parse(const std::string& text);
};

}  // namespace kalam_bench
