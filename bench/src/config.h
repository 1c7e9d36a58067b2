// kalam-bench configuration: the command-line flags, the workload catalog and
// the description of one measured run (a Job).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace kalam_bench {

// What a workload does; the names follow db_bench and YCSB.
enum class WorkloadKind {
  kFillSeq,       // put keys 0..num-1 in order into an empty store
  kFillRandom,    // put keys 0..num-1 in random order (batches of `batch`)
  kOverwrite,     // num puts of uniformly random existing keys
  kReadRandom,    // uniformly random existing keys (hits)
  kReadMissing,   // uniformly random absent keys (misses)
  kReadSeq,       // one full scan in key order
  kScanPrefix,    // one scan of every key under one prefix (a bounded
                  // iterator); tables: the user-scoped scan iter(ns, t, user)
  kSeekRandom,    // seek to a random existing key, then read `seek_nexts`
  kDeleteRandom,  // delete every key once, in random order
  kYcsbA,         // 50% read, 50% update; zipfian
  kYcsbB,         // 95% read, 5% update; zipfian
  kYcsbC,         // 100% read; zipfian
  kYcsbD,         // 95% read of the latest keys, 5% insert of a new key
  kYcsbE,         // 95% scan (1..max_scan entries), 5% insert; zipfian
  kYcsbF,         // 50% read, 50% read-modify-write; zipfian
  kOpen,          // open an empty store (engine: load plugin + open)
  kLoad,          // internal: fill a store that workloads start from a copy of
};

struct Workload {
  std::string name;  // "fillrandom-batch100"
  WorkloadKind kind;
  size_t batch = 1;  // entries per write call (fill workloads)
  // The store is filled with `num` keys (unmeasured) before the workload.
  bool needs_load = false;
  // A pure write workload: it also runs in the sync variant.
  bool has_sync_variant = false;
  // One op takes microseconds or more: every op is timed (not sampled).
  bool time_every_op = false;
  // What one op is, for the README and the Markdown table.
  std::string op_unit;
  // scanprefix-decoded: the tables mode reads each row as a Row with its
  // JSON parsed (RowCursor::next) instead of as views (RowView); the other
  // modes have nothing to decode and run the plain prefix scan.
  bool decoded = false;
};

// Every workload the flags select, in catalog order. `batch_sizes` adds one
// fillrandom-batch<N> per size (N > 1).
std::vector<Workload> workload_catalog(const std::vector<size_t>& batch_sizes);

// The three modes of issue 7. A mode is a Store type plus one entry in
// modes.cc; see README.md, "Adding a mode".
inline constexpr const char* kModeNative = "native";
inline constexpr const char* kModePlugin = "plugin";
inline constexpr const char* kModeTables = "tables";

// Whether `mode` runs workload `w`. native: everything but scanprefix (the
// baselines have no bounded iterator); plugin: everything; tables: the row
// workloads — not seekrandom, YCSB E (a RowCursor has no seek: it reads a
// partition from its start) or open.
bool mode_runs(const std::string& mode, const Workload& w);

struct Config {
  // Workload shape.
  uint64_t num = 1000000;
  size_t key_size = 16;
  size_t value_size = 100;
  // --value-sizes: the whole selection once per value size, each into
  // <out>/value-<size>/, and a summary across sizes in <out>/sizes.md.
  std::vector<size_t> value_sizes;
  uint64_t reads = 0;  // readrandom/readmissing; 0 = num
  uint64_t seeks = 0;  // seekrandom; 0 = num / 10
  size_t seek_nexts = 100;
  uint64_t ycsb_ops = 0;    // YCSB A, B, C, F; 0 = num
  uint64_t ycsb_e_ops = 0;  // YCSB E; 0 = num / 10
  size_t ycsb_max_scan = 100;
  double zipf_theta = 0.99;
  std::vector<size_t> batch_sizes{100, 1000};
  size_t load_batch = 1000;  // batch size of the unmeasured load phase
  size_t scan_batch = 256;   // entries per Iterator::next_batch / timed chunk
  uint64_t seed = 301;

  // What to run.
  std::vector<std::string> workloads;  // empty = all
  std::vector<std::string> backends;   // empty = every built one
  std::vector<std::string> modes;      // empty = native, plugin, tables
  int repetitions = 3;
  int open_repetitions = 0;  // 0 = max(repetitions, 5)
  bool sync_off = true;      // --sync off|on|both
  bool sync_on = false;
  uint64_t sync_num = 10000;  // num of the sync variant
  bool verify = true;
  bool check_settings = true;

  // Measurement.
  uint64_t latency_sample = 16;  // time every Nth op of cheap workloads

  // Where things go.
  std::filesystem::path
      out_dir;  // empty = <source>/bench/results/<date>-<host>
  std::filesystem::path data_dir;    // empty = $TMPDIR/kalam-bench-<pid>
  std::filesystem::path plugin_dir;  // empty = this build's plugins/
  bool keep_data = false;
  bool chart = true;
  std::string label;  // free text for the report header
  bool list = false;

  // Hidden: the parent runs every measurement in a child process of this
  // same binary with these set.
  std::string child_job;  // "backend,mode,workload,sync,rep"
  std::filesystem::path child_result;
  std::filesystem::path child_dir;

  // The command line as given (for the report and for the children).
  std::vector<std::string> argv;

  uint64_t effective_reads() const { return reads ? reads : num; }
  uint64_t effective_seeks() const {
    return seeks ? seeks : std::max<uint64_t>(1, num / 10);
  }
  uint64_t effective_ycsb_ops() const { return ycsb_ops ? ycsb_ops : num; }
  uint64_t effective_ycsb_e_ops() const {
    return ycsb_e_ops ? ycsb_e_ops : std::max<uint64_t>(1, num / 10);
  }
  int effective_open_repetitions() const {
    return open_repetitions ? open_repetitions : std::max(repetitions, 5);
  }
};

// One measured run: one workload on one backend in one mode.
struct Job {
  std::string backend;
  std::string mode;
  Workload workload;
  bool sync = false;
  int rep = 0;
  // The settings check (see modes.h) instead of a workload.
  bool settings_check = false;

  // "rocksdb,plugin,readrandom,0,2"
  std::string spec() const;
};

// Parses argv into *config. Returns "" or an error message for the user.
std::string parse_flags(int argc, char** argv, Config* config);
std::string usage();

// The internal "load" job: fills a template store with `num` keys (random
// order, batches of --load-batch), which the parent copies for every run of a
// workload that needs data, so those runs start from identical stores.
Workload load_workload();

// Finds a workload of the catalog by name; nullptr when unknown.
const Workload* find_workload(const std::vector<Workload>& catalog,
                              const std::string& name);

}  // namespace kalam_bench
