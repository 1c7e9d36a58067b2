// kalam-bench: the benchmark driver of issue 7.
//
// The parent process plans the runs, starts each one as a child process of
// this same binary (fork + exec with the hidden --child-job flag), so every
// run has its own address space and its own peak RSS, collects what each
// child reports, and writes the result set (report.h). A child runs exactly
// one job: one workload on one backend in one mode, or one settings check.
#include <fcntl.h>
#include <kalam/plugin.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "config.h"
#include "machine.h"
#include "measure.h"
#include "modes.h"
#include "report.h"
#include "store.h"

namespace kalam_bench {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string item;
  while (std::getline(in, item, sep)) out.push_back(item);
  return out;
}

// The LMDB map must hold the data: the plugin's default of 1 GiB is kept
// unless a generous estimate (B+tree pages about half full, plus the pages
// copy-on-write keeps) exceeds it. Every mode gets the same value; the
// entry size allows for the tables mode's longer keys and JSON rows.
uint64_t lmdb_map_size(const Config& c) {
  const uint64_t entry = 2 * c.key_size + c.value_size + 64;
  const uint64_t keys = c.num + c.effective_ycsb_e_ops();
  const uint64_t estimate = keys * entry * 3 + (uint64_t{64} << 20);
  if (estimate <= (uint64_t{1} << 30)) return 0;
  const uint64_t gib = uint64_t{1} << 30;
  return (estimate + gib - 1) / gib * gib;
}

StoreOptions store_options(const Config& c, const std::string& backend,
                           bool sync) {
  StoreOptions o;
  o.backend = backend;
  o.sync = sync;
  o.lmdb_map_size = lmdb_map_size(c);
  o.plugin_dir = c.plugin_dir;
  o.scan_batch = c.scan_batch;
  return o;
}

// --- The child: one job ------------------------------------------------------

int run_child(const Config& c) {
  const std::vector<std::string> parts = split(c.child_job, ',');
  if (parts.size() != 5) die("bad --child-job '" + c.child_job + "'");
  Job job;
  job.backend = parts[0];
  job.mode = parts[1];
  job.sync = parts[3] == "1";
  job.rep = std::stoi(parts[4]);
  RunResult r;
  const StoreOptions options = store_options(c, job.backend, job.sync);
  if (parts[2] == "settings") {
    SettingsFn check = settings_check(job.backend);
    if (check == nullptr) die("no settings check for " + job.backend);
    const SettingsCheck s = check(options, c.child_dir);
    r.ok = s.ok;
    r.note = s.details;
    if (!s.ok) r.error = "settings differ: " + s.details;
  } else {
    const auto catalog = workload_catalog(c.batch_sizes);
    const Workload* w = find_workload(catalog, parts[2]);
    if (parts[2] == "load") {
      job.workload = load_workload();
    } else if (w != nullptr) {
      job.workload = *w;
    } else {
      die("unknown workload '" + parts[2] + "'");
    }
    RunFn run = nullptr;
    for (const auto& t : all_targets()) {
      if (t.mode == job.mode && t.backend == job.backend) run = t.run;
    }
    if (run == nullptr) die("no target " + job.mode + "/" + job.backend);
    r = run(c, job, options, c.child_dir);
  }
  std::ofstream out(c.child_result);
  out << r.serialize();
  out.close();
  if (!out) die("cannot write " + c.child_result.string());
  return r.ok ? 0 : 1;
}

// --- The parent: plan, spawn, collect, report
// ---------------------------------

std::string self_path() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) die("cannot find this program (/proc/self/exe): " + ec.message());
  return p.string();
}

RunResult spawn(const std::string& self, const Config& c, const Job& job,
                const fs::path& dir, const fs::path& result_file) {
  std::vector<std::string> args = c.argv;
  args[0] = self;
  for (const std::string& extra :
       {std::string("--plugin-dir"), c.plugin_dir.string(),
        std::string("--value-size"), std::to_string(c.value_size),
        std::string("--child-job"), job.spec(), std::string("--child-result"),
        result_file.string(), std::string("--child-dir"), dir.string()}) {
    args.push_back(extra);
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  fs::remove(result_file);
  const pid_t pid = fork();
  if (pid < 0) die("fork failed");
  if (pid == 0) {
    execv(self.c_str(), argv.data());
    std::perror("kalam-bench: execv");
    _exit(127);
  }
  int status = 0;
  struct rusage usage {};
  if (wait4(pid, &status, 0, &usage) < 0) die("wait4 failed");
  std::ifstream in(result_file);
  std::stringstream text;
  text << in.rdbuf();
  RunResult r = RunResult::parse(text.str());
  r.child_maxrss_kib = static_cast<uint64_t>(usage.ru_maxrss);
  r.child_cpu_seconds =
      double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
      double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  const bool clean_exit = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (!clean_exit && r.ok) r.ok = false;
  if (!clean_exit && r.error.empty()) r.error = "no result";
  if (!clean_exit) {
    r.error += WIFEXITED(status) ? " (child exited with status " +
                                       std::to_string(WEXITSTATUS(status)) + ")"
                                 : " (child killed by signal " +
                                       std::to_string(WTERMSIG(status)) + ")";
  }
  return r;
}

// fsync()s every file under `dir`, and `dir` itself.
void sync_tree(const fs::path& dir) {
  std::error_code ec;
  std::vector<fs::path> paths{dir};
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    paths.push_back(it->path());
  }
  for (const auto& path : paths) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ::fsync(fd);
    ::close(fd);
  }
}

std::string progress_line(size_t i, size_t n, const Job& job,
                          const RunResult& r, double seconds) {
  char head[160];
  std::snprintf(
      head, sizeof head, "[%3zu/%zu] %-7s %-6s %-22s rep %d: ", i, n,
      job.backend.c_str(), job.mode.c_str(),
      (job.settings_check ? std::string("settings check")
                          : job.workload.name + (job.sync ? " (sync)" : ""))
          .c_str(),
      job.rep);
  std::ostringstream out;
  out << head;
  if (!r.ok) {
    out << "FAILED: " << r.error;
  } else if (job.settings_check) {
    out << "OK";
  } else if (job.workload.kind == WorkloadKind::kLoad) {
    char text[96];
    std::snprintf(text, sizeof text, "template store: %llu keys in %.1f s",
                  static_cast<unsigned long long>(r.ops), r.seconds);
    out << text;
  } else if (job.workload.kind == WorkloadKind::kOpen) {
    out << "open " << double(r.open_ns) / 1e6 << " ms";
  } else {
    const double per_s = r.seconds > 0 ? double(r.ops) / r.seconds : 0;
    char text[160];
    std::snprintf(text, sizeof text, "%10.0f ops/s  p50 %8.0f ns  p99 %9.0f ns",
                  per_s, r.p50_ns, r.p99_ns);
    out << text;
  }
  char tail[32];
  std::snprintf(tail, sizeof tail, "  (%.1f s)", seconds);
  out << tail;
  return out.str();
}

// Workload names: exact names, or a prefix ("ycsb", "fill") for a group.
std::vector<Workload> select_workloads(const Config& c) {
  const auto catalog = workload_catalog(c.batch_sizes);
  if (c.workloads.empty() ||
      (c.workloads.size() == 1 && c.workloads[0] == "all")) {
    return catalog;
  }
  std::set<std::string> chosen;
  for (const auto& name : c.workloads) {
    if (find_workload(catalog, name) != nullptr) {
      chosen.insert(name);
      continue;
    }
    bool any = false;
    for (const auto& w : catalog) {
      if (w.name.rfind(name, 0) == 0) {
        chosen.insert(w.name);
        any = true;
      }
    }
    if (!any) die("unknown workload '" + name + "' (see --list)");
  }
  std::vector<Workload> out;
  for (const auto& w : catalog) {
    if (chosen.count(w.name)) out.push_back(w);
  }
  return out;
}

fs::path default_out_dir() {
  return fs::path(KALAM_BENCH_RESULTS_DIR) / (local_date() + "-" + host_name());
}

// Runs the whole selection at c.value_size and writes its result set into
// c.out_dir; *report keeps the runs (and points at `c`).
int run_set(Config& c, Report* report_out) {
  const auto targets = all_targets();
  std::vector<std::string> backends = c.backends;
  if (backends.empty()) {
    for (const auto& b : {"rocksdb", "lmdb", "sqlite", "memory"}) {
      for (const auto& t : targets) {
        if (t.backend == b) {
          backends.push_back(b);
          break;
        }
      }
    }
  }
  std::vector<std::string> modes = c.modes;
  if (modes.empty()) modes = {kModeNative, kModePlugin, kModeTables};
  auto have = [&](const std::string& mode, const std::string& backend) {
    for (const auto& t : targets) {
      if (t.mode == mode && t.backend == backend) return true;
    }
    return false;
  };
  for (const auto& b : backends) {
    bool any = false;
    for (const auto& m : modes) any = any || have(m, b);
    if (!any) die("backend '" + b + "' is not built in any selected mode");
  }
  for (const auto& m : modes) {
    if (m != kModeNative && m != kModePlugin && m != kModeTables) {
      die("unknown mode '" + m + "' (native, plugin, tables)");
    }
  }
  const std::vector<Workload> workloads = select_workloads(c);

  if (c.plugin_dir.empty()) c.plugin_dir = KALAM_BENCH_PLUGIN_DIR;
  c.plugin_dir = fs::absolute(c.plugin_dir);
  if (c.out_dir.empty()) c.out_dir = default_out_dir();
  c.out_dir = fs::absolute(c.out_dir);
  // Stores go to a directory of this run's own inside --data-dir (removed at
  // the end), never to --data-dir itself.
  fs::path data_parent = c.data_dir;
  if (data_parent.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    data_parent = tmp && *tmp ? tmp : "/tmp";
  }
  const fs::path data_root =
      fs::absolute(data_parent) / ("kalam-bench-" + std::to_string(getpid()));
  std::error_code ec;
  fs::create_directories(data_root, ec);
  if (ec) die("cannot create " + data_root.string() + ": " + ec.message());

  Report& report = *report_out;
  report.config = &c;
  report.workloads = workloads;
  report.backends = backends;
  report.modes = modes;
  for (size_t i = 0; i < c.argv.size(); ++i) {
    report.command_line += (i ? " " : "") + c.argv[i];
  }
  report.machine = describe_machine(c, data_root);

  // Plugins without durable sync skip the sync variant; stores that do not
  // persist cannot be copied from a template and load in place.
  std::set<std::string> durable, volatile_plugins;
  for (const auto& b : backends) {
    auto plugin = kalam::load_plugin(b, {c.plugin_dir});
    if (!plugin.ok() || (*plugin)->has(KALAM_CAP_DURABLE_SYNC)) {
      durable.insert(b);
    }
    if (plugin.ok() && !(*plugin)->has(KALAM_CAP_PERSISTENT)) {
      volatile_plugins.insert(b);
    }
  }
  auto template_key = [&](const Job& j) {
    return j.backend + "-" + j.mode + (j.sync ? "-sync" : "");
  };
  auto uses_template = [&](const Job& j) {
    return j.workload.needs_load &&
           !(j.mode != kModeNative && volatile_plugins.count(j.backend));
  };

  // The plan. Repetitions are the outer loop and the order of the modes
  // alternates between them, so slow drift of the machine hits both sides.
  std::vector<Job> jobs;
  auto modes_for = [&](int rep) {
    std::vector<std::string> m = modes;
    if (rep % 2 == 1) std::reverse(m.begin(), m.end());
    return m;
  };
  if (c.check_settings) {
    for (const auto& b : backends) {
      if (have(kModeNative, b) && have(kModePlugin, b) && settings_check(b) &&
          std::count(modes.begin(), modes.end(), kModeNative) &&
          std::count(modes.begin(), modes.end(), kModePlugin)) {
        Job j;
        j.backend = b;
        j.mode = "both";
        j.settings_check = true;
        jobs.push_back(j);
      }
    }
  }
  const Workload* open = nullptr;
  for (const auto& w : workloads) {
    if (w.kind == WorkloadKind::kOpen) open = &w;
  }
  if (open != nullptr) {
    for (int rep = 0; rep < c.effective_open_repetitions(); ++rep) {
      for (const auto& b : backends) {
        for (const auto& m : modes_for(rep)) {
          if (have(m, b) && mode_runs(m, *open)) {
            jobs.push_back({b, m, *open, false, rep, false});
          }
        }
      }
    }
  }
  std::vector<bool> variants;
  if (c.sync_off) variants.push_back(false);
  if (c.sync_on) variants.push_back(true);
  for (int rep = 0; rep < c.repetitions; ++rep) {
    for (bool sync : variants) {
      for (const auto& b : backends) {
        if (sync && durable.count(b) == 0) continue;
        for (const auto& w : workloads) {
          if (w.kind == WorkloadKind::kOpen) continue;
          if (sync && !w.has_sync_variant) continue;
          for (const auto& m : modes_for(rep)) {
            if (have(m, b) && mode_runs(m, w)) {
              jobs.push_back({b, m, w, sync, rep, false});
            }
          }
        }
      }
    }
  }

  // One load job per template, right before the first run that copies it.
  {
    std::vector<Job> planned;
    std::set<std::string> seen;
    for (const Job& j : jobs) {
      if (uses_template(j) && seen.insert(template_key(j)).second) {
        planned.push_back(
            {j.backend, j.mode, load_workload(), j.sync, 0, false});
      }
      planned.push_back(j);
    }
    jobs.swap(planned);
  }
  std::map<std::string, fs::path> templates;  // key -> store ("" = failed)

  std::printf("kalam-bench: %zu runs; results in %s; stores in %s\n",
              jobs.size(), c.out_dir.c_str(), data_root.c_str());
  const std::string self = self_path();
  const uint64_t start = now_ns();
  size_t failed = 0;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const Job& job = jobs[i];
    std::string name = job.spec();
    std::replace(name.begin(), name.end(), ',', '-');
    const bool is_load = job.workload.kind == WorkloadKind::kLoad;
    const fs::path dir = is_load ? data_root / ("template-" + template_key(job))
                                 : data_root / name;
    fs::remove_all(dir, ec);
    const uint64_t t0 = now_ns();
    RunResult r;
    if (!is_load && uses_template(job)) {
      const fs::path& from = templates[template_key(job)];
      if (from.empty()) {
        r.ok = false;
        r.error = "the load job of its template store failed";
      } else {
        fs::copy(from, dir, fs::copy_options::recursive, ec);
        // On disk before the run starts: the copy's writeback must not
        // compete with the measured workload for the disk.
        if (!ec) sync_tree(dir);
        if (ec) {
          r.ok = false;
          r.error = "copying the template store failed: " + ec.message();
        }
      }
    }
    if (r.ok) r = spawn(self, c, job, dir, data_root / (name + ".result"));
    if (is_load) {
      if (r.ok) sync_tree(dir);
      templates[template_key(job)] = r.ok ? dir : fs::path();
    }
    const double seconds = double(now_ns() - t0) / 1e9;
    if (!r.ok) ++failed;
    std::printf("%s\n",
                progress_line(i + 1, jobs.size(), job, r, seconds).c_str());
    std::fflush(stdout);
    if (job.settings_check) {
      SettingsCheck s;
      s.ok = r.ok;
      s.details = r.ok ? r.note : r.error;
      report.settings[job.backend] = s;
    }
    report.runs.push_back({job, r});
    if (!c.keep_data && !is_load) {
      fs::remove_all(dir, ec);
      fs::remove(data_root / (name + ".result"), ec);
    }
  }
  report.wall_seconds = double(now_ns() - start) / 1e9;
  report.load_at_end = load_average();
  const auto written = write_report(report, c.out_dir);
  if (!c.keep_data) fs::remove_all(data_root, ec);
  std::printf("kalam-bench: wrote");
  for (const auto& f : written) std::printf(" %s", f.c_str());
  std::printf(" to %s\n", c.out_dir.c_str());
  if (failed > 0) {
    std::printf("kalam-bench: %zu of %zu runs FAILED (see results.md)\n",
                failed, jobs.size());
    return 1;
  }
  return 0;
}

// --value-sizes: one result set per size in <out>/value-<size>/, then
// <out>/sizes.md across them.
int run_parent(const Config& config) {
  if (config.value_sizes.empty()) {
    Config c = config;
    Report report;
    return run_set(c, &report);
  }
  const fs::path base =
      fs::absolute(config.out_dir.empty() ? default_out_dir() : config.out_dir);
  std::deque<Config> configs;
  std::deque<Report> reports;
  int rc = 0;
  for (size_t size : config.value_sizes) {
    Config& c = configs.emplace_back(config);
    c.value_size = size;
    c.value_sizes.clear();
    c.out_dir = base / ("value-" + std::to_string(size));
    std::printf("kalam-bench: values of %zu bytes\n", size);
    rc = std::max(rc, run_set(c, &reports.emplace_back()));
  }
  std::vector<const Report*> all;
  for (const Report& r : reports) all.push_back(&r);
  std::error_code ec;
  fs::create_directories(base, ec);
  std::ofstream out(base / "sizes.md");
  out << sizes_markdown(all);
  out.close();
  if (!out) die("cannot write " + (base / "sizes.md").string());
  std::printf("kalam-bench: wrote sizes.md to %s\n", base.c_str());
  return rc;
}

}  // namespace
}  // namespace kalam_bench

int main(int argc, char** argv) {
  using namespace kalam_bench;
  Config config;
  const std::string error = parse_flags(argc, argv, &config);
  if (error == "help") {
    std::cout << usage();
    return 0;
  }
  if (!error.empty()) {
    std::cerr << "kalam-bench: " << error << "\n";
    return 2;
  }
  if (!config.child_job.empty()) return run_child(config);
  if (config.list) {
    for (const auto& w : workload_catalog(config.batch_sizes)) {
      std::cout << w.name << (w.has_sync_variant ? " [sync variant]" : "")
                << ": " << w.op_unit << "\n";
    }
    return 0;
  }
  return run_parent(config);
}
