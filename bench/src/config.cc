#include "config.h"

#include <charconv>
#include <cstdlib>
#include <functional>
#include <map>
#include <sstream>

namespace kalam_bench {
namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, sep)) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

bool parse_u64(const std::string& text, uint64_t* out) {
  // Accepts plain digits and k/m suffixes (powers of 1000): 2000, 10k, 1m.
  uint64_t multiplier = 1;
  std::string digits = text;
  if (!digits.empty() && (digits.back() == 'k' || digits.back() == 'K')) {
    multiplier = 1000;
    digits.pop_back();
  } else if (!digits.empty() &&
             (digits.back() == 'm' || digits.back() == 'M')) {
    multiplier = 1000000;
    digits.pop_back();
  }
  uint64_t value = 0;
  auto [end, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size() ||
      digits.empty()) {
    return false;
  }
  *out = value * multiplier;
  return true;
}

}  // namespace

std::vector<Workload> workload_catalog(const std::vector<size_t>& batch_sizes) {
  std::vector<Workload> w;
  auto add = [&](std::string name, WorkloadKind kind, std::string op_unit) {
    Workload x;
    x.name = std::move(name);
    x.kind = kind;
    x.op_unit = std::move(op_unit);
    w.push_back(x);
    return &w.back();
  };
  add("fillseq", WorkloadKind::kFillSeq, "put of one key")->has_sync_variant =
      true;
  add("fillrandom", WorkloadKind::kFillRandom, "put of one key")
      ->has_sync_variant = true;
  for (size_t b : batch_sizes) {
    if (b <= 1) continue;
    Workload* x =
        add("fillrandom-batch" + std::to_string(b), WorkloadKind::kFillRandom,
            "one key, written in batches of " + std::to_string(b) +
                " (latency: per batch)");
    x->batch = b;
    x->has_sync_variant = true;
    x->time_every_op = true;
  }
  Workload* x = add("overwrite", WorkloadKind::kOverwrite, "put of one key");
  x->needs_load = true;
  x->has_sync_variant = true;
  add("readrandom", WorkloadKind::kReadRandom, "get of a present key")
      ->needs_load = true;
  add("readmissing", WorkloadKind::kReadMissing, "get of an absent key")
      ->needs_load = true;
  add("readseq", WorkloadKind::kReadSeq,
      "one entry of a full scan (latency: per entry, from timed chunks)")
      ->needs_load = true;
  add("scanprefix", WorkloadKind::kScanPrefix,
      "one entry of a scan of every key under one prefix (tables: of one "
      "user's rows, as views of row id and row text; latency: per entry, "
      "from timed chunks)")
      ->needs_load = true;
  x = add("scanprefix-decoded", WorkloadKind::kScanPrefix,
          "scanprefix, but the tables mode parses every row into a JSON DOM "
          "(Row); plugin: the same raw prefix scan as scanprefix");
  x->needs_load = true;
  x->decoded = true;
  x = add("seekrandom", WorkloadKind::kSeekRandom,
          "seek to a present key + read the next entries");
  x->needs_load = true;
  x->time_every_op = true;
  x = add("deleterandom", WorkloadKind::kDeleteRandom, "delete of one key");
  x->needs_load = true;
  x->has_sync_variant = true;
  add("ycsb-a", WorkloadKind::kYcsbA, "one YCSB operation")->needs_load = true;
  add("ycsb-b", WorkloadKind::kYcsbB, "one YCSB operation")->needs_load = true;
  add("ycsb-c", WorkloadKind::kYcsbC, "one YCSB operation")->needs_load = true;
  add("ycsb-d", WorkloadKind::kYcsbD,
      "one YCSB operation (read of a recent key or insert of a new one)")
      ->needs_load = true;
  x = add("ycsb-e", WorkloadKind::kYcsbE,
          "one YCSB operation (scan or insert)");
  x->needs_load = true;
  x->time_every_op = true;
  add("ycsb-f", WorkloadKind::kYcsbF, "one YCSB operation")->needs_load = true;
  add("open", WorkloadKind::kOpen, "open of an empty store")->time_every_op =
      true;
  return w;
}

Workload load_workload() {
  Workload w;
  w.name = "load";
  w.kind = WorkloadKind::kLoad;
  w.op_unit = "put of one key, in batches (unmeasured preparation)";
  return w;
}

bool mode_runs(const std::string& mode, const Workload& w) {
  if (mode == kModeNative) return w.kind != WorkloadKind::kScanPrefix;
  if (mode == kModeTables) {
    return w.kind != WorkloadKind::kSeekRandom &&
           w.kind != WorkloadKind::kYcsbE && w.kind != WorkloadKind::kOpen;
  }
  return true;
}

const Workload* find_workload(const std::vector<Workload>& catalog,
                              const std::string& name) {
  for (const auto& w : catalog) {
    if (w.name == name) return &w;
  }
  return nullptr;
}

std::string Job::spec() const {
  return backend + "," + mode + "," +
         (settings_check ? "settings" : workload.name) + "," +
         (sync ? "1" : "0") + "," + std::to_string(rep);
}

std::string usage() {
  return R"(kalam-bench: the Kalam benchmark driver (issue 7).

Runs db_bench/YCSB-style workloads against each storage library called
directly ("native"), through the engine's C++ API -> C ABI -> plugin
("plugin") and, for the row workloads, through the table layer's
UserTableStore ("tables"), each measurement in its own child process, and
writes CSV, Markdown, gnuplot charts and the machine description to --out.

Usage: kalam-bench [flags]

Workload shape
  --num N              keys loaded / written (default 1000000; 10k, 1m work)
  --key-size N         bytes per key, >= 8 (default 16)
  --value-size N       bytes per value (default 100)
  --value-sizes LIST   run everything once per value size (e.g.
                       100,1000,4096,65536), each into <out>/value-<N>/,
                       and summarise the sizes side by side in
                       <out>/sizes.md (ratios, bytes on disk per record)
  --reads N            gets of readrandom / readmissing (default: num)
  --seeks N            seeks of seekrandom (default: num/10)
  --seek-nexts N       entries read after each seek (default 100)
  --ycsb-ops N         operations of YCSB A, B, C, F (default: num)
  --ycsb-e-ops N       operations of YCSB E (default: num/10)
  --ycsb-max-scan N    longest YCSB E scan, uniform 1..N (default 100)
  --zipf-theta X       zipfian constant of the YCSB key chooser (default 0.99)
  --batch-sizes LIST   fillrandom batch sizes besides 1 (default 100,1000)
  --load-batch N       batch size of the unmeasured load phase (default 1000)
  --scan-batch N       entries per Iterator::next_batch call (default 256)
  --seed N             random seed (default 301)

What to run
  --workloads LIST     workload names, or prefixes for groups (fill, read,
                       ycsb) (default: all; see --list)
  --backends LIST      memory,rocksdb,lmdb,sqlite (default: all built)
  --modes LIST         native,plugin,tables (default: all three)
  --repetitions N      runs per figure; figures are medians (default 3)
  --open-repetitions N runs of the open workload (default: max(reps, 5))
  --sync off|on|both   durability of writes (default off); "on" runs the
                       write workloads with sync writes and --sync-num keys
  --sync-num N         num of the sync variant (default 10000)
  --no-verify          skip the post-run correctness checks
  --no-check-settings  skip the native/plugin settings parity check

Measurement
  --latency-sample N   time every Nth op of cheap workloads (default 16)

Output
  --out DIR            results directory (default:
                       <source>/bench/results/<date>-<host>)
  --data-dir DIR       stores are created in DIR/kalam-bench-<pid>/ (default
                       DIR: $TMPDIR or /tmp); removed at the end
  --plugin-dir DIR     where kalam_<backend>.so are (default: this build's)
  --label TEXT         note printed in the report header
  --keep-data          keep the stores and template stores
  --no-chart           do not run gnuplot
  --list               print the workloads and exit
  --help               this text
)";
}

std::string parse_flags(int argc, char** argv, Config* c) {
  for (int i = 0; i < argc; ++i) c->argv.emplace_back(argv[i]);
  std::map<std::string, std::function<std::string(const std::string&)>> with;
  auto u64 = [](uint64_t* out) {
    return [out](const std::string& v) -> std::string {
      return parse_u64(v, out) ? "" : "expected a number, got '" + v + "'";
    };
  };
  auto size = [](size_t* out) {
    return [out](const std::string& v) -> std::string {
      uint64_t x = 0;
      if (!parse_u64(v, &x)) return "expected a number, got '" + v + "'";
      *out = static_cast<size_t>(x);
      return "";
    };
  };
  auto integer = [](int* out) {
    return [out](const std::string& v) -> std::string {
      uint64_t x = 0;
      if (!parse_u64(v, &x) || x > 1000000) {
        return "expected a number, got '" + v + "'";
      }
      *out = static_cast<int>(x);
      return "";
    };
  };
  auto list = [](std::vector<std::string>* out) {
    return [out](const std::string& v) -> std::string {
      *out = split(v, ',');
      return "";
    };
  };
  auto path = [](std::filesystem::path* out) {
    return [out](const std::string& v) -> std::string {
      *out = v;
      return "";
    };
  };
  with["num"] = u64(&c->num);
  with["key-size"] = size(&c->key_size);
  with["value-size"] = size(&c->value_size);
  with["reads"] = u64(&c->reads);
  with["seeks"] = u64(&c->seeks);
  with["seek-nexts"] = size(&c->seek_nexts);
  with["ycsb-ops"] = u64(&c->ycsb_ops);
  with["ycsb-e-ops"] = u64(&c->ycsb_e_ops);
  with["ycsb-max-scan"] = size(&c->ycsb_max_scan);
  with["zipf-theta"] = [c](const std::string& v) -> std::string {
    char* end = nullptr;
    c->zipf_theta = std::strtod(v.c_str(), &end);
    if (end == v.c_str() || *end != '\0' || c->zipf_theta <= 0 ||
        c->zipf_theta >= 1) {
      return "expected a number in (0, 1), got '" + v + "'";
    }
    return "";
  };
  with["batch-sizes"] = [c](const std::string& v) -> std::string {
    c->batch_sizes.clear();
    for (const auto& item : split(v, ',')) {
      uint64_t x = 0;
      if (!parse_u64(item, &x) || x == 0) {
        return "expected a list of numbers, got '" + v + "'";
      }
      c->batch_sizes.push_back(static_cast<size_t>(x));
    }
    return "";
  };
  with["value-sizes"] = [c](const std::string& v) -> std::string {
    c->value_sizes.clear();
    for (const auto& item : split(v, ',')) {
      uint64_t x = 0;
      if (!parse_u64(item, &x) || x == 0) {
        return "expected a list of sizes in bytes, got '" + v + "'";
      }
      c->value_sizes.push_back(static_cast<size_t>(x));
    }
    return "";
  };
  with["load-batch"] = size(&c->load_batch);
  with["scan-batch"] = size(&c->scan_batch);
  with["seed"] = u64(&c->seed);
  with["workloads"] = list(&c->workloads);
  with["backends"] = list(&c->backends);
  with["modes"] = list(&c->modes);
  with["repetitions"] = integer(&c->repetitions);
  with["open-repetitions"] = integer(&c->open_repetitions);
  with["sync"] = [c](const std::string& v) -> std::string {
    if (v == "off") {
      c->sync_off = true;
      c->sync_on = false;
    } else if (v == "on") {
      c->sync_off = false;
      c->sync_on = true;
    } else if (v == "both") {
      c->sync_off = c->sync_on = true;
    } else {
      return "expected off, on or both, got '" + v + "'";
    }
    return "";
  };
  with["sync-num"] = u64(&c->sync_num);
  with["latency-sample"] = u64(&c->latency_sample);
  with["out"] = path(&c->out_dir);
  with["data-dir"] = path(&c->data_dir);
  with["plugin-dir"] = path(&c->plugin_dir);
  with["label"] = [c](const std::string& v) -> std::string {
    c->label = v;
    return "";
  };
  with["child-job"] = [c](const std::string& v) -> std::string {
    c->child_job = v;
    return "";
  };
  with["child-result"] = path(&c->child_result);
  with["child-dir"] = path(&c->child_dir);

  const std::map<std::string, bool*> switches = {{"keep-data", &c->keep_data},
                                                 {"list", &c->list}};
  const std::map<std::string, bool*> negations = {
      {"no-chart", &c->chart},
      {"no-verify", &c->verify},
      {"no-check-settings", &c->check_settings}};

  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") return "help";
    if (arg.rfind("--", 0) != 0) {
      return "unexpected argument '" + arg + "' (flags start with --)";
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (auto s = switches.find(name); s != switches.end()) {
      *s->second = true;
      continue;
    }
    if (auto s = negations.find(name); s != negations.end()) {
      *s->second = false;
      continue;
    }
    auto f = with.find(name);
    if (f == with.end()) {
      return "unknown flag --" + name + " (see --help)";
    }
    if (!has_value) {
      if (i + 1 >= argc) return "flag --" + name + " needs a value";
      value = argv[++i];
    }
    std::string error = f->second(value);
    if (!error.empty()) return "--" + name + ": " + error;
  }
  if (c->num == 0) return "--num must be at least 1";
  if (c->key_size < 8) return "--key-size must be at least 8";
  if (c->repetitions < 1) return "--repetitions must be at least 1";
  if (c->load_batch == 0 || c->scan_batch == 0 || c->latency_sample == 0) {
    return "--load-batch, --scan-batch and --latency-sample must be >= 1";
  }
  if (c->seek_nexts == 0 || c->ycsb_max_scan == 0) {
    return "--seek-nexts and --ycsb-max-scan must be >= 1";
  }
  // Key numbers are 2*i (+1 for absent keys); they must fit the key.
  if (c->key_size < 20) {
    uint64_t limit = 1;
    for (size_t d = 0; d < c->key_size; ++d) limit *= 10;
    if (2 * (c->num + c->effective_ycsb_e_ops() + c->effective_ycsb_ops()) +
            1 >=
        limit) {
      return "--key-size " + std::to_string(c->key_size) +
             " is too small for --num " + std::to_string(c->num);
    }
  }
  return "";
}

}  // namespace kalam_bench
