#include "report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <tuple>

#include "measure.h"

namespace kalam_bench {
namespace {

namespace fs = std::filesystem;

constexpr double kRatioTarget = 0.97;
constexpr double kOpenTargetMs = 5.0;
constexpr double kRssTargetMiB = 5.0;
// Issue 7: user-table inserts >= 60% of the raw plugin put rate; user-scoped
// scans >= 60% of a raw prefix scan.
constexpr double kTablesTarget = 0.60;

// The table-layer target that applies to workload `w` in tables mode, or 0:
// inserts (the fills, single rows and put_many batches) against the plugin's
// puts, and the user-scoped scan against the raw prefix scan (scanprefix: the
// like-for-like, views against views; scanprefix-decoded, which parses every
// row, is reported for information).
double tables_target(const Workload& w) {
  if (w.kind == WorkloadKind::kFillSeq || w.kind == WorkloadKind::kFillRandom ||
      (w.kind == WorkloadKind::kScanPrefix && !w.decoded)) {
    return kTablesTarget;
  }
  return 0;
}

// The mode a mode's throughput is compared against: plugin against native,
// tables against plugin. "" for native.
std::string baseline_of(const std::string& mode) {
  if (mode == kModePlugin) return kModeNative;
  if (mode == kModeTables) return kModePlugin;
  return "";
}

using Key = std::tuple<std::string, std::string, std::string, bool>;

struct Aggregate {
  std::vector<const RunRecord*> ok_runs;
  std::vector<const RunRecord*> failed_runs;
  Summary ops_s, ns_op, p50, p99, write_bytes, wchar, db_bytes, rss, open_ns,
      load_plugin_ns;
  uint64_t ops = 0;
  bool io_ok = true;
  bool rss_reset = true;
};

std::string fixed(double v, int digits) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", digits, v);
  return text;
}

// 3 significant digits with an SI suffix: 1.23M, 456k, 12.3.
std::string rate(double v) {
  const char* suffix = "";
  if (v >= 1e9) {
    v /= 1e9;
    suffix = "G";
  } else if (v >= 1e6) {
    v /= 1e6;
    suffix = "M";
  } else if (v >= 1e3) {
    v /= 1e3;
    suffix = "k";
  }
  const int digits = v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return fixed(v, digits) + suffix;
}

std::string duration(double ns) {
  if (ns <= 0) return "-";
  if (ns < 1e3) return fixed(ns, 0) + " ns";
  if (ns < 1e6) return fixed(ns / 1e3, ns < 1e4 ? 2 : 1) + " µs";
  if (ns < 1e9) return fixed(ns / 1e6, ns < 1e7 ? 2 : 1) + " ms";
  return fixed(ns / 1e9, 2) + " s";
}

std::string bytes(double b) {
  if (b < 1024) return fixed(b, 0) + " B";
  if (b < 1024.0 * 1024) return fixed(b / 1024, 1) + " KiB";
  if (b < 1024.0 * 1024 * 1024) return fixed(b / 1024 / 1024, 1) + " MiB";
  return fixed(b / 1024 / 1024 / 1024, 2) + " GiB";
}

std::string label(const std::string& workload, bool sync) {
  return sync ? workload + " (sync)" : workload;
}

std::string csv_escape(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c == '\n' ? ' ' : c;
  }
  return out + "\"";
}

class Aggregates {
 public:
  explicit Aggregates(const Report& report) {
    for (const auto& run : report.runs) {
      if (run.job.settings_check) continue;
      if (run.job.workload.kind == WorkloadKind::kLoad) continue;
      Aggregate& a = map_[key_of(run.job)];
      (run.result.ok ? a.ok_runs : a.failed_runs).push_back(&run);
    }
    for (auto& [key, a] : map_) {
      std::vector<double> ops_s, ns_op, p50, p99, wb, wc, db, rss, open, load;
      for (const RunRecord* r : a.ok_runs) {
        const RunResult& x = r->result;
        const double per_s = x.seconds > 0 ? double(x.ops) / x.seconds : 0;
        ops_s.push_back(per_s);
        ns_op.push_back(x.ops > 0 ? x.seconds * 1e9 / double(x.ops) : 0);
        p50.push_back(x.p50_ns);
        p99.push_back(x.p99_ns);
        wb.push_back(double(x.write_bytes));
        wc.push_back(double(x.wchar));
        db.push_back(double(x.db_bytes));
        rss.push_back(double(x.peak_rss_kib));
        open.push_back(double(x.open_ns));
        load.push_back(double(x.load_plugin_ns));
        a.ops = x.ops;
        a.io_ok = a.io_ok && x.io_ok;
        a.rss_reset = a.rss_reset && x.rss_reset;
      }
      a.ops_s = summarize(ops_s);
      a.ns_op = summarize(ns_op);
      a.p50 = summarize(p50);
      a.p99 = summarize(p99);
      a.write_bytes = summarize(wb);
      a.wchar = summarize(wc);
      a.db_bytes = summarize(db);
      a.rss = summarize(rss);
      a.open_ns = summarize(open);
      a.load_plugin_ns = summarize(load);
    }
  }

  const Aggregate* find(const std::string& backend, const std::string& mode,
                        const std::string& workload, bool sync) const {
    auto it = map_.find({backend, mode, workload, sync});
    return it == map_.end() ? nullptr : &it->second;
  }

  // The throughput of `mode` over that of its baseline (plugin / native,
  // tables / plugin): the ratio of the medians, and the range of the ratios
  // of paired repetitions (rep i against rep i).
  bool ratio(const std::string& backend, const std::string& workload, bool sync,
             double* median, Summary* paired,
             const std::string& mode = kModePlugin) const {
    const std::string base = baseline_of(mode);
    if (base.empty()) return false;
    const Aggregate* n = find(backend, base, workload, sync);
    const Aggregate* p = find(backend, mode, workload, sync);
    if (n == nullptr || p == nullptr || n->ok_runs.empty() ||
        p->ok_runs.empty() || n->ops_s.median <= 0) {
      return false;
    }
    *median = p->ops_s.median / n->ops_s.median;
    std::vector<double> pairs;
    for (const RunRecord* pr : p->ok_runs) {
      for (const RunRecord* nr : n->ok_runs) {
        if (nr->job.rep != pr->job.rep) continue;
        const double a = double(pr->result.ops) / pr->result.seconds;
        const double b = double(nr->result.ops) / nr->result.seconds;
        if (b > 0) pairs.push_back(a / b);
      }
    }
    *paired = summarize(pairs);
    return true;
  }

  // A paired difference of `mode` against its baseline in `field` (peak
  // RSS, open time): the difference of the medians, and the range of the
  // differences of paired repetitions.
  bool difference(const std::string& backend, const std::string& workload,
                  bool sync, const std::string& mode,
                  double (*field)(const RunResult&), double* median,
                  Summary* paired) const {
    const Aggregate* n = find(backend, baseline_of(mode), workload, sync);
    const Aggregate* p = find(backend, mode, workload, sync);
    if (n == nullptr || p == nullptr || n->ok_runs.empty() ||
        p->ok_runs.empty()) {
      return false;
    }
    std::vector<double> a, b, pairs;
    for (const RunRecord* r : p->ok_runs) a.push_back(field(r->result));
    for (const RunRecord* r : n->ok_runs) b.push_back(field(r->result));
    *median = summarize(a).median - summarize(b).median;
    for (const RunRecord* pr : p->ok_runs) {
      for (const RunRecord* nr : n->ok_runs) {
        if (nr->job.rep == pr->job.rep) {
          pairs.push_back(field(pr->result) - field(nr->result));
        }
      }
    }
    *paired = summarize(pairs);
    return true;
  }

 private:
  static Key key_of(const Job& j) {
    return {j.backend, j.mode, j.workload.name, j.sync};
  }
  std::map<Key, Aggregate> map_;
};

// Bytes on disk per record of the store the load job of `backend` in `mode`
// filled (closed, so the WAL is checkpointed where the store does that), or
// 0 when there was no such load (no workload that needs data ran).
double load_bytes_per_record(const Report& report, const std::string& backend,
                             const std::string& mode) {
  for (const auto& run : report.runs) {
    const Job& j = run.job;
    if (j.workload.kind == WorkloadKind::kLoad && !j.sync &&
        j.backend == backend && j.mode == mode && run.result.ok &&
        run.result.ops > 0) {
      return double(run.result.db_bytes) / double(run.result.ops);
    }
  }
  return 0;
}

// The "bytes on disk per record" table of `report`: one row per backend, a
// column per mode, and plugin / native.
std::string bytes_per_record_table(const Report& report) {
  std::ostringstream md;
  md << "| backend |";
  for (const auto& m : report.modes) md << ' ' << m << " |";
  md << " plugin / native |\n| --- |";
  for (size_t i = 0; i <= report.modes.size(); ++i) md << " ---: |";
  md << '\n';
  bool any = false;
  for (const auto& b : report.backends) {
    std::ostringstream row;
    row << "| " << b << " |";
    bool row_any = false;
    for (const auto& m : report.modes) {
      const double v = load_bytes_per_record(report, b, m);
      row_any = row_any || v > 0;
      row << ' ' << (v > 0 ? fixed(v, 0) : "-") << " |";
    }
    const double n = load_bytes_per_record(report, b, kModeNative);
    const double p = load_bytes_per_record(report, b, kModePlugin);
    row << ' ' << (n > 0 && p > 0 ? fixed(p / n, 2) : "-") << " |\n";
    if (row_any) md << row.str();
    any = any || row_any;
  }
  return any ? md.str() : "";
}

std::vector<bool> sync_variants(const Config& c) {
  std::vector<bool> out;
  if (c.sync_off) out.push_back(false);
  if (c.sync_on) out.push_back(true);
  return out;
}

bool has_native(const Report& r, const std::string& backend) {
  for (const auto& run : r.runs) {
    if (run.job.backend == backend && run.job.mode == kModeNative) return true;
  }
  return false;
}

void write_file(const fs::path& file, const std::string& text) {
  std::ofstream out(file);
  out << text;
  if (!out) die("cannot write " + file.string());
}

std::string runs_csv(const Report& report) {
  std::ostringstream out;
  out << "backend,mode,workload,sync,rep,ok,ops,seconds,ops_per_s,ns_per_op,"
         "p50_ns,p99_ns,latency_samples,write_bytes,wchar,db_bytes,"
         "peak_rss_kib,start_rss_kib,rss_scope,child_maxrss_kib,child_cpu_s,"
         "found,"
         "entries,checksum,open_ns,load_plugin_ns,error\n";
  for (const auto& run : report.runs) {
    if (run.job.settings_check) continue;
    if (run.job.workload.kind == WorkloadKind::kLoad) continue;
    const RunResult& x = run.result;
    const double per_s = x.seconds > 0 ? double(x.ops) / x.seconds : 0;
    out << run.job.backend << ',' << run.job.mode << ','
        << run.job.workload.name << ',' << (run.job.sync ? 1 : 0) << ','
        << run.job.rep << ',' << (x.ok ? 1 : 0) << ',' << x.ops << ','
        << fixed(x.seconds, 6) << ',' << fixed(per_s, 1) << ','
        << fixed(x.ops ? x.seconds * 1e9 / double(x.ops) : 0, 1) << ','
        << fixed(x.p50_ns, 0) << ',' << fixed(x.p99_ns, 0) << ','
        << x.latency_samples << ','
        << (x.io_ok ? std::to_string(x.write_bytes) : "") << ','
        << (x.io_ok ? std::to_string(x.wchar) : "") << ',' << x.db_bytes << ','
        << x.peak_rss_kib << ',' << x.start_rss_kib << ','
        << (x.rss_reset ? "workload" : "process") << ',' << x.child_maxrss_kib
        << ',' << fixed(x.child_cpu_seconds, 3) << ',' << x.found << ','
        << x.entries << ',' << x.checksum << ',' << x.open_ns << ','
        << x.load_plugin_ns << ',' << csv_escape(x.error) << '\n';
  }
  return out.str();
}

// One row per (backend, mode, workload, sync): every figure as median, min
// and max over the repetitions; the ratio to the mode's baseline with the
// range of the paired ratios.
std::string results_csv(const Report& report, const Aggregates& agg) {
  std::ostringstream out;
  auto triple = [&out](const std::string& name) {
    out << ',' << name << "_median," << name << "_min," << name << "_max";
  };
  out << "backend,mode,workload,sync,num,runs,failed_runs,ops";
  for (const char* name :
       {"ops_per_s", "ns_per_op", "p50_ns", "p99_ns", "bytes_written", "wchar",
        "db_bytes", "peak_rss_kib", "open_ns", "load_plugin_ns"}) {
    triple(name);
  }
  out << ",plugin_native_ratio,plugin_native_ratio_min,"
         "plugin_native_ratio_max,tables_plugin_ratio,tables_plugin_ratio_min,"
         "tables_plugin_ratio_max\n";
  const Config& c = *report.config;
  auto put = [&out](const Summary& x, int digits, bool present = true) {
    if (!present) {
      out << ",,,";
      return;
    }
    out << ',' << fixed(x.median, digits) << ',' << fixed(x.min, digits) << ','
        << fixed(x.max, digits);
  };
  for (const auto& backend : report.backends) {
    for (const auto& w : report.workloads) {
      for (bool sync : sync_variants(c)) {
        for (const auto& mode : report.modes) {
          const Aggregate* a = agg.find(backend, mode, w.name, sync);
          if (a == nullptr) continue;
          out << backend << ',' << mode << ',' << w.name << ','
              << (sync ? 1 : 0) << ','
              << (sync ? std::min(c.num, c.sync_num) : c.num) << ','
              << a->ok_runs.size() << ',' << a->failed_runs.size() << ','
              << a->ops;
          put(a->ops_s, 1);
          put(a->ns_op, 1);
          put(a->p50, 0);
          put(a->p99, 0);
          put(a->write_bytes, 0, a->io_ok);
          put(a->wchar, 0, a->io_ok);
          put(a->db_bytes, 0);
          put(a->rss, 0);
          const bool open = w.kind == WorkloadKind::kOpen;
          put(a->open_ns, 0, open);
          put(a->load_plugin_ns, 0, open && mode == kModePlugin);
          for (const std::string& m :
               {std::string(kModePlugin), std::string(kModeTables)}) {
            double ratio = 0;
            Summary paired;
            const bool has =
                mode == m && !open &&
                agg.ratio(backend, w.name, sync, &ratio, &paired, mode);
            out << ',' << (has ? fixed(ratio, 4) : "") << ','
                << (has ? fixed(paired.min, 4) : "") << ','
                << (has ? fixed(paired.max, 4) : "");
          }
          out << '\n';
        }
      }
    }
  }
  return out.str();
}

// The ratios issue 7 sets targets for, one row each: plugin / native per
// workload, tables / plugin per row workload (a target only for inserts and
// the user-scoped scan).
std::string ratios_csv(const Report& report, const Aggregates& agg) {
  std::ostringstream out;
  out << "backend,ratio,workload,sync,median,min,max,target,meets_target\n";
  const Config& c = *report.config;
  for (const auto& backend : report.backends) {
    for (const std::string& mode :
         {std::string(kModePlugin), std::string(kModeTables)}) {
      for (const auto& w : report.workloads) {
        if (w.kind == WorkloadKind::kOpen) continue;
        for (bool sync : sync_variants(c)) {
          double ratio = 0;
          Summary paired;
          if (!agg.ratio(backend, w.name, sync, &ratio, &paired, mode)) {
            continue;
          }
          const double target =
              mode == kModePlugin ? kRatioTarget : tables_target(w);
          out << backend << ',' << mode << '/' << baseline_of(mode) << ','
              << w.name << ',' << (sync ? 1 : 0) << ',' << fixed(ratio, 4)
              << ',' << fixed(paired.min, 4) << ',' << fixed(paired.max, 4)
              << ',' << (target > 0 ? fixed(target, 2) : "") << ','
              << (target > 0 ? (ratio >= target ? "yes" : "no") : "") << '\n';
        }
      }
    }
  }
  return out.str();
}

std::string markdown(const Report& report, const Aggregates& agg) {
  const Config& c = *report.config;
  std::ostringstream md;
  std::string date, host;
  for (const auto& [k, v] : report.machine) {
    if (k == "Date (UTC)") date = v;
    if (k == "Host") host = v;
  }
  md << "# Kalam benchmark: " << date << " on " << host << "\n\n";
  if (!c.label.empty()) md << "> **" << c.label << "**\n\n";
  md << "Command: `" << report.command_line << "`  \n"
     << "Modes: ";
  for (size_t i = 0; i < report.modes.size(); ++i) {
    md << (i ? ", " : "") << report.modes[i];
  }
  md << ". Keys: " << c.num << " of " << c.key_size << " bytes, values of "
     << c.value_size << " bytes";
  if (c.sync_on) {
    md << " (the sync variant: " << std::min(c.num, c.sync_num) << " keys"
       << (c.sync_off ? "" : "; only the sync variant ran") << ")";
  }
  md << "; " << c.repetitions
     << " repetition(s) per figure (open: " << c.effective_open_repetitions()
     << "); each run in its own process.  \n"
     << "Wall time " << fixed(report.wall_seconds, 0) << " s. ";
  for (const auto& [k, v] : report.machine) {
    if (k == "Load average at start") md << "Load average at start " << v;
  }
  md << ", at end " << report.load_at_end << ".\n\n"
     << "Every figure is the median of the runs, with [min–max]; a ratio is "
        "the ratio of the medians, with the range of the ratios of paired "
        "repetitions (rep i against rep i); a difference likewise. ops/s "
        "counts "
        "the operation each workload defines (bench/README.md); latency "
        "quantiles come from per-op timing (sampled 1 in "
     << c.latency_sample
     << " for sub-microsecond workloads). Bytes written: /proc/self/io "
        "write_bytes from the start of the timed loop to after flush and "
        "close. Peak RSS: VmHWM, reset just before the timed loop.\n\n";

  // The headline: the ratio per workload and backend.
  std::vector<std::string> ratio_backends;
  for (const auto& b : report.backends) {
    if (has_native(report, b)) ratio_backends.push_back(b);
  }
  if (!ratio_backends.empty() &&
      std::count(report.modes.begin(), report.modes.end(), kModePlugin) > 0) {
    md << "## Plugin / native throughput\n\n"
       << "Median plugin ops/s over median native ops/s (target ≥ "
       << fixed(kRatioTarget, 2)
       << "; ✗ marks a miss). In brackets: the range of the ratios of "
          "paired repetitions.\n\n| workload |";
    for (const auto& b : ratio_backends) md << ' ' << b << " |";
    md << "\n| --- |";
    for (size_t i = 0; i < ratio_backends.size(); ++i) md << " ---: |";
    md << '\n';
    for (const auto& w : report.workloads) {
      if (w.kind == WorkloadKind::kOpen || !mode_runs(kModeNative, w)) continue;
      for (bool sync : sync_variants(c)) {
        if (sync && !w.has_sync_variant) continue;
        md << "| " << label(w.name, sync) << " |";
        for (const auto& b : ratio_backends) {
          double ratio = 0;
          Summary paired;
          if (agg.ratio(b, w.name, sync, &ratio, &paired)) {
            md << ' ' << fixed(ratio, 3) << (ratio < kRatioTarget ? " ✗" : "")
               << " [" << fixed(paired.min, 2) << "–" << fixed(paired.max, 2)
               << "] |";
          } else {
            md << " - |";
          }
        }
        md << '\n';
      }
    }
    md << '\n';
  }

  // Bytes on disk per record, after the load (the template stores).
  if (const std::string table = bytes_per_record_table(report);
      !table.empty()) {
    md << "## Bytes on disk per record\n\n"
       << "The store the load job filled (" << c.num << " records of "
       << c.key_size << " + " << c.value_size
       << " bytes, in random order, batches of " << c.load_batch
       << "), after flush and close: the disk usage of its directory over "
          "the number of records.\n\n"
       << table << '\n';
  }

  // The table layer: tables / plugin.
  if (std::count(report.modes.begin(), report.modes.end(), kModeTables) > 0 &&
      std::count(report.modes.begin(), report.modes.end(), kModePlugin) > 0) {
    std::vector<std::string> tb;
    for (const auto& b : report.backends) {
      for (const auto& w : report.workloads) {
        if (agg.find(b, kModeTables, w.name, false) ||
            agg.find(b, kModeTables, w.name, true)) {
          tb.push_back(b);
          break;
        }
      }
    }
    auto cell = [&](const std::string& b, const Workload& w, bool sync,
                    bool mark) {
      double ratio = 0;
      Summary paired;
      if (!agg.ratio(b, w.name, sync, &ratio, &paired, kModeTables)) {
        return std::string("-");
      }
      const double target = tables_target(w);
      return fixed(ratio, 3) +
             (mark && target > 0 && ratio < target ? " ✗" : "") + " [" +
             fixed(paired.min, 2) + "–" + fixed(paired.max, 2) + "]";
    };
    const Workload* insert = nullptr;
    const Workload* scan = nullptr;
    const Workload* decoded_scan = nullptr;
    for (const auto& w : report.workloads) {
      if (w.kind == WorkloadKind::kFillRandom && w.batch <= 1) insert = &w;
      if (w.kind == WorkloadKind::kScanPrefix) {
        (w.decoded ? decoded_scan : scan) = &w;
      }
    }
    if (!tb.empty()) {
      md << "## Table layer / raw plugin throughput\n\n"
         << "The `tables` mode does the same operations as rows of a user "
            "table through `UserTableStore` (JSON rows validated, dumped and "
            "parsed; keys encoded as table id | user | primary key; a catalog "
            "lookup per call), on the same plugin with the same options. "
            "Issue 7's targets (≥ "
         << fixed(kTablesTarget, 2)
         << "; ✗ marks a miss):\n\n| ratio | workloads |";
      for (const auto& b : tb) md << ' ' << b << " |";
      md << "\n| --- | --- |";
      for (size_t i = 0; i < tb.size(); ++i) md << " ---: |";
      md << '\n';
      if (insert != nullptr) {
        md << "| user-table inserts / raw plugin puts | tables `"
           << insert->name << "` / plugin `" << insert->name << "` |";
        for (const auto& b : tb)
          md << ' ' << cell(b, *insert, false, true) << " |";
        md << '\n';
      }
      if (scan != nullptr) {
        md << "| user-scoped scan / raw prefix scan | tables `" << scan->name
           << "` (iter(ns, table, user), RowView: row id and row text "
              "views) / plugin `"
           << scan->name << "` (Iterator with a prefix: key and value views) |";
        for (const auto& b : tb)
          md << ' ' << cell(b, *scan, false, true) << " |";
        md << '\n';
      }
      if (decoded_scan != nullptr) {
        md << "| (information) the same scan, rows decoded / raw prefix scan "
              "| tables `"
           << decoded_scan->name
           << "` (RowCursor::next: every row parsed into a JSON DOM) / "
              "plugin `"
           << decoded_scan->name << "` (the raw prefix scan again) |";
        for (const auto& b : tb)
          md << ' ' << cell(b, *decoded_scan, false, true) << " |";
        md << '\n';
      }
      md << "\nEvery workload the tables mode runs, tables ops/s over plugin "
            "ops/s (the target applies to the inserts and the user-scoped "
            "scan; the rest are for information):\n\n| workload |";
      for (const auto& b : tb) md << ' ' << b << " |";
      md << "\n| --- |";
      for (size_t i = 0; i < tb.size(); ++i) md << " ---: |";
      md << '\n';
      for (const auto& w : report.workloads) {
        if (!mode_runs(kModeTables, w)) continue;
        for (bool sync : sync_variants(c)) {
          if (sync && !w.has_sync_variant) continue;
          md << "| " << label(w.name, sync) << " |";
          for (const auto& b : tb) md << ' ' << cell(b, w, sync, true) << " |";
          md << '\n';
        }
      }
      md << '\n';
    }
  }

  // Open time.
  bool any_open = false;
  for (const auto& w : report.workloads) {
    any_open = any_open || w.kind == WorkloadKind::kOpen;
  }
  if (any_open) {
    md << "## Open time (empty store)\n\n"
       << "Native: the library's open. Engine: `load_plugin()` (dlopen + "
          "negotiation) + `Database::open()` (manifest + the plugin's open), "
          "in a fresh process each run. Target: engine ≤ native + "
       << fixed(kOpenTargetMs, 0)
       << " ms. The driver links the storage libraries, so they are already "
          "mapped in both cases (see bench/README.md).\n\n"
       << "| backend | native open | engine open | of which load_plugin | "
          "extra |\n| --- | ---: | ---: | ---: | ---: |\n";
    for (const auto& b : report.backends) {
      const Aggregate* n = agg.find(b, kModeNative, "open", false);
      const Aggregate* p = agg.find(b, kModePlugin, "open", false);
      if (n == nullptr && p == nullptr) continue;
      auto cell = [](const Aggregate* a, const Summary Aggregate::*s) {
        if (a == nullptr || a->ok_runs.empty()) return std::string("-");
        const Summary& x = a->*s;
        return duration(x.median) + " [" + duration(x.min) + "–" +
               duration(x.max) + "]";
      };
      md << "| " << b << " | " << cell(n, &Aggregate::open_ns) << " | "
         << cell(p, &Aggregate::open_ns) << " | "
         << cell(p, &Aggregate::load_plugin_ns) << " | ";
      double extra = 0;
      Summary paired;
      if (agg.difference(
              b, "open", false, kModePlugin,
              [](const RunResult& x) { return double(x.open_ns); }, &extra,
              &paired)) {
        const double extra_ms = extra / 1e6;
        md << fixed(extra_ms, 2) << " ms"
           << (extra_ms > kOpenTargetMs ? " ✗" : "") << " ["
           << fixed(paired.min / 1e6, 2) << "–" << fixed(paired.max / 1e6, 2)
           << " ms]";
      } else {
        md << "-";
      }
      md << " |\n";
    }
    md << '\n';
  }

  // One table per backend.
  auto range = [](const Summary& x, std::string (*f)(double)) {
    return f(x.median) + " [" + f(x.min) + "–" + f(x.max) + "]";
  };
  auto ns0 = [](double v) { return fixed(v, 0); };
  auto kib = [](double v) { return bytes(v * 1024); };
  for (const auto& b : report.backends) {
    bool any = false;
    std::ostringstream t;
    t << "## " << b << "\n\n"
      << "| workload | mode | ops/s | ns/op | p50 | p99 | bytes written | "
         "peak RSS (Δ baseline, MiB) | ratio to baseline |\n"
      << "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
    for (const auto& w : report.workloads) {
      if (w.kind == WorkloadKind::kOpen) continue;
      for (bool sync : sync_variants(c)) {
        for (const auto& mode : report.modes) {
          const Aggregate* a = agg.find(b, mode, w.name, sync);
          if (a == nullptr) continue;
          any = true;
          t << "| " << label(w.name, sync) << " | " << mode << " | ";
          if (a->ok_runs.empty()) {
            t << "FAILED (" << a->failed_runs.size()
              << " run(s)) | | | | | | |\n";
            continue;
          }
          t << range(a->ops_s, rate) << " | " << range(a->ns_op, ns0) << " | "
            << range(a->p50, duration) << " | " << range(a->p99, duration)
            << " | " << (a->io_ok ? range(a->write_bytes, bytes) : "n/a")
            << " | " << range(a->rss, kib);
          double delta = 0;
          Summary paired;
          if (agg.difference(
                  b, w.name, sync, mode,
                  [](const RunResult& x) { return double(x.peak_rss_kib); },
                  &delta, &paired)) {
            const double mib = delta / 1024;
            auto sign = [](double v) {
              std::string out(v >= 0 ? "+" : "");
              out += fixed(v, 1);
              return out;
            };
            t << " (" << sign(mib)
              << (mode == kModePlugin && std::fabs(mib) > kRssTargetMiB ? " ✗"
                                                                        : "")
              << " [" << sign(paired.min / 1024) << "–"
              << sign(paired.max / 1024) << "])";
          }
          t << " | ";
          double ratio = 0;
          if (agg.ratio(b, w.name, sync, &ratio, &paired, mode)) {
            const double target =
                mode == kModePlugin ? kRatioTarget : tables_target(w);
            t << baseline_of(mode) << ": " << fixed(ratio, 3)
              << (target > 0 && ratio < target ? " ✗" : "") << " ["
              << fixed(paired.min, 2) << "–" << fixed(paired.max, 2) << "]";
          }
          t << " |";
          if (!a->failed_runs.empty()) {
            t << " (" << a->failed_runs.size() << " run(s) failed)";
          }
          t << '\n';
        }
      }
    }
    if (any) md << t.str() << '\n';
  }
  md << "Baselines: plugin rows are compared with native (throughput target ≥ "
     << fixed(kRatioTarget, 2) << ", peak RSS within "
     << fixed(kRssTargetMiB, 0) << " MiB), tables rows with plugin (target ≥ "
     << fixed(kTablesTarget, 2)
     << " for the inserts and the user-scoped scan `scanprefix`, read as "
        "row views; `scanprefix-decoded`, the same scan with every row "
        "parsed, is for information). The native mode does not run the "
        "prefix scans; the tables mode does not run "
        "`seekrandom` or `ycsb-e` (a RowCursor cannot seek).\n\n";

  // Settings.
  md << "## Settings\n\n"
     << "The native runs use the settings each plugin uses by default "
        "(bench/README.md has the mapping). Plugin options passed by the "
        "driver: LMDB `sync_mode: nosync` in the unsynchronised variant "
        "(native: `MDB_NOSYNC`)"
     << ", nothing else unless `map_size` must grow for --num.\n\n";
  for (const auto& b : report.backends) {
    for (bool sync : sync_variants(c)) {
      const std::string s = native_settings(b, sync);
      if (!s.empty()) {
        md << "- " << b << (sync ? " (sync)" : "") << ": " << s << "\n";
      }
    }
  }
  if (!report.settings.empty()) {
    md << "\nSettings parity check (an empty store opened both ways, then "
          "compared on disk):\n\n";
    for (const auto& [b, s] : report.settings) {
      md << "- " << b << ": " << (s.ok ? "OK — " : "MISMATCH — ") << s.details
         << "\n";
    }
  }
  md << '\n';

  // Failures.
  bool any_failed = false;
  for (const auto& run : report.runs) {
    if (run.result.ok) continue;
    if (!any_failed) md << "## Failed runs\n\n";
    any_failed = true;
    md << "- " << run.job.spec() << ": " << run.result.error << "\n";
  }
  if (any_failed) md << '\n';

  md << "## Machine\n\n| | |\n| --- | --- |\n";
  for (const auto& [k, v] : report.machine)
    md << "| " << k << " | " << v << " |\n";
  md << "| Load average at end | " << report.load_at_end << " |\n\n";
  md << "Charts: `ratio.png` (plugin/native throughput), `tables-ratio.png` "
        "(tables/plugin throughput), `throughput.png` (ops/s, log scale). "
        "Raw runs: `runs.csv`; median/min/max of every figure: "
        "`results.csv`; every ratio with its target: `ratios.csv`.\n";
  return md.str();
}

// A colour per backend: light for native, dark for plugin, darkest for
// tables.
std::string color(const std::string& backend, const std::string& mode) {
  const int shade = mode == kModeNative ? 0 : mode == kModePlugin ? 1 : 2;
  auto pick = [shade](const char* a, const char* b, const char* c) {
    return std::string(shade == 0 ? a : shade == 1 ? b : c);
  };
  if (backend == "rocksdb") return pick("#b39ddb", "#5e35b1", "#311b92");
  if (backend == "lmdb") return pick("#80cbc4", "#00796b", "#004d40");
  if (backend == "sqlite") return pick("#90caf9", "#1565c0", "#0d47a1");
  if (backend == "memory") return pick("#ef9a9a", "#c62828", "#7f0000");
  return pick("#bdbdbd", "#424242", "#212121");
}

// Writes the chart data and script; runs gnuplot when it is installed.
std::vector<std::string> charts(const Report& report, const Aggregates& agg,
                                const fs::path& out) {
  const Config& c = *report.config;
  std::vector<std::string> written;
  std::vector<std::string> ratio_backends;
  for (const auto& b : report.backends) {
    if (has_native(report, b)) ratio_backends.push_back(b);
  }
  std::vector<std::pair<std::string, std::string>> series;  // backend, mode
  for (const auto& b : report.backends) {
    for (const auto& m : report.modes) {
      for (const auto& w : report.workloads) {
        if (agg.find(b, m, w.name, false) || agg.find(b, m, w.name, true)) {
          series.emplace_back(b, m);
          break;
        }
      }
    }
  }
  std::vector<std::string> tables_backends;
  for (const auto& b : report.backends) {
    for (const auto& w : report.workloads) {
      double r = 0;
      Summary paired;
      if (agg.ratio(b, w.name, false, &r, &paired, kModeTables)) {
        tables_backends.push_back(b);
        break;
      }
    }
  }
  std::ostringstream tables_ratio;
  tables_ratio << "workload";
  for (const auto& b : tables_backends) tables_ratio << '\t' << b;
  tables_ratio << '\n';
  for (const auto& w : report.workloads) {
    if (tables_backends.empty() || !mode_runs(kModeTables, w)) continue;
    tables_ratio << w.name;
    for (const auto& b : tables_backends) {
      double r = 0;
      Summary paired;
      tables_ratio << '\t'
                   << (agg.ratio(b, w.name, false, &r, &paired, kModeTables)
                           ? fixed(r, 4)
                           : "?");
    }
    tables_ratio << '\n';
  }
  std::ostringstream ratio, tput;
  ratio << "workload";
  for (const auto& b : ratio_backends) ratio << '\t' << b;
  ratio << '\n';
  tput << "workload";
  for (const auto& [b, m] : series) tput << '\t' << b << "-" << m;
  tput << '\n';
  size_t rows = 0;
  double lowest = 1e18;
  for (const auto& w : report.workloads) {
    if (w.kind == WorkloadKind::kOpen) continue;
    for (bool sync : sync_variants(c)) {
      if (sync && !w.has_sync_variant) continue;
      ++rows;
      ratio << label(w.name, sync);
      for (const auto& b : ratio_backends) {
        double r = 0;
        Summary paired;
        ratio << '\t'
              << (agg.ratio(b, w.name, sync, &r, &paired) ? fixed(r, 4) : "?");
      }
      ratio << '\n';
      tput << label(w.name, sync);
      for (const auto& [b, m] : series) {
        const Aggregate* a = agg.find(b, m, w.name, sync);
        tput << '\t'
             << (a && !a->ok_runs.empty() ? fixed(a->ops_s.median, 1) : "?");
        if (a && !a->ok_runs.empty() && a->ops_s.median > 0) {
          lowest = std::min(lowest, a->ops_s.median);
        }
      }
      tput << '\n';
    }
  }
  // The log axis starts at the decade below the slowest figure.
  const double floor_decade =
      lowest < 1e18 ? std::pow(10.0, std::floor(std::log10(lowest))) : 1;
  write_file(out / "chart-ratio.dat", ratio.str());
  write_file(out / "chart-throughput.dat", tput.str());
  if (!tables_backends.empty()) {
    write_file(out / "chart-tables-ratio.dat", tables_ratio.str());
  }
  const size_t width = std::max<size_t>(900, 120 + rows * 70);
  std::ostringstream gp;
  gp << "# gnuplot chart.gp (run in this directory) redraws the charts.\n"
     << "set terminal pngcairo size " << width
     << ",640 noenhanced font \"sans,10\"\n"
     << "set datafile separator \"\\t\"\nset datafile missing \"?\"\n"
     << "set style data histograms\nset style histogram clustered gap 1\n"
     << "set style fill solid 0.85 border -1\nset boxwidth 0.9\n"
     << "set xtics rotate by -40 scale 0\nset key outside top center "
        "horizontal\nset grid ytics\nset bmargin 9\n";
  if (!ratio_backends.empty()) {
    gp << "set output \"ratio.png\"\n"
       << "set title \"Kalam: plugin / native throughput (median of "
       << c.repetitions << " runs; target >= " << fixed(kRatioTarget, 2)
       << ")\"\nset yrange [0:1.3]\nplot ";
    for (size_t i = 0; i < ratio_backends.size(); ++i) {
      gp << (i ? ", " : "") << "\"chart-ratio.dat\" using " << i + 2
         << (i == 0 ? ":xtic(1)" : "") << " title columnheader(" << i + 2
         << ") linecolor rgb \"" << color(ratio_backends[i], kModePlugin)
         << "\"";
    }
    gp << ", 1 with lines dashtype 3 linecolor rgb \"gray40\" notitle, "
       << fixed(kRatioTarget, 2)
       << " with lines dashtype 2 linecolor rgb \"red\" title \"target\"\n";
  }
  if (!tables_backends.empty()) {
    gp << "set output \"tables-ratio.png\"\n"
       << "set title \"Kalam: tables (UserTableStore) / plugin throughput "
          "(median of "
       << c.repetitions << " runs; target >= " << fixed(kTablesTarget, 2)
       << " for inserts and scanprefix)\"\nset yrange [0:1.3]\nplot ";
    for (size_t i = 0; i < tables_backends.size(); ++i) {
      gp << (i ? ", " : "") << "\"chart-tables-ratio.dat\" using " << i + 2
         << (i == 0 ? ":xtic(1)" : "") << " title columnheader(" << i + 2
         << ") linecolor rgb \"" << color(tables_backends[i], kModeTables)
         << "\"";
    }
    gp << ", 1 with lines dashtype 3 linecolor rgb \"gray40\" notitle, "
       << fixed(kTablesTarget, 2)
       << " with lines dashtype 2 linecolor rgb \"red\" title \"target\"\n";
  }
  if (!series.empty()) {
    gp << "set output \"throughput.png\"\n"
       << "set title \"Kalam: throughput, ops/s (median; log scale)\"\n"
       << "set logscale y\nset yrange [" << floor_decade << ":*]\nplot ";
    for (size_t i = 0; i < series.size(); ++i) {
      gp << (i ? ", " : "") << "\"chart-throughput.dat\" using " << i + 2
         << (i == 0 ? ":xtic(1)" : "") << " title columnheader(" << i + 2
         << ") linecolor rgb \"" << color(series[i].first, series[i].second)
         << "\"";
    }
    gp << "\n";
  }
  write_file(out / "chart.gp", gp.str());
  written.insert(written.end(),
                 {"chart-ratio.dat", "chart-throughput.dat", "chart.gp"});
  if (!tables_backends.empty()) written.push_back("chart-tables-ratio.dat");
  if (!c.chart) return written;
  const std::string command =
      "cd '" + out.string() + "' && gnuplot chart.gp 2> gnuplot.log";
  const int rc = std::system(command.c_str());
  if (rc != 0) {
    std::fprintf(stderr,
                 "kalam-bench: gnuplot failed or is not installed (exit %d; "
                 "see %s/gnuplot.log); the chart data and chart.gp are "
                 "written. Install gnuplot-nox to draw the charts.\n",
                 rc, out.c_str());
  } else {
    fs::remove(out / "gnuplot.log");
    if (!ratio_backends.empty()) written.push_back("ratio.png");
    if (!tables_backends.empty()) written.push_back("tables-ratio.png");
    if (!series.empty()) written.push_back("throughput.png");
  }
  return written;
}

}  // namespace

std::string sizes_markdown(const std::vector<const Report*>& reports) {
  std::ostringstream md;
  if (reports.empty()) return "";
  const Report& first = *reports.front();
  md << "# Kalam benchmark across value sizes\n\n"
     << "Command: `" << first.command_line << "`  \n"
     << "Keys: " << first.config->num << " of " << first.config->key_size
     << " bytes; " << first.config->repetitions
     << " repetition(s) per figure. One full result set per value size in "
        "`value-<size>/` (results.md there has the ops/s, latencies, bytes "
        "written and the ranges of paired repetitions).\n\n"
     << "## Plugin / native throughput by value size\n\n"
     << "Median plugin ops/s over median native ops/s (target ≥ "
     << fixed(kRatioTarget, 2) << "; ✗ marks a miss).\n\n";
  for (const auto& b : first.backends) {
    if (!has_native(first, b)) continue;
    md << "### " << b << "\n\n| workload |";
    for (const Report* r : reports)
      md << ' ' << r->config->value_size << " B |";
    md << "\n| --- |";
    for (size_t i = 0; i < reports.size(); ++i) md << " ---: |";
    md << '\n';
    std::vector<Aggregates> aggs;
    for (const Report* r : reports) aggs.emplace_back(*r);
    for (const auto& w : first.workloads) {
      if (w.kind == WorkloadKind::kOpen || !mode_runs(kModeNative, w)) continue;
      md << "| " << w.name << " |";
      for (const auto& agg : aggs) {
        double ratio = 0;
        Summary paired;
        if (agg.ratio(b, w.name, false, &ratio, &paired)) {
          md << ' ' << fixed(ratio, 2) << (ratio < kRatioTarget ? " ✗" : "")
             << " |";
        } else {
          md << " - |";
        }
      }
      md << '\n';
    }
    md << '\n';
  }
  md << "## Bytes on disk per record by value size\n\n"
     << "After the load, flush and close (see each results.md).\n\n";
  for (const Report* r : reports) {
    const std::string table = bytes_per_record_table(*r);
    if (table.empty()) continue;
    md << "### " << r->config->value_size << "-byte values\n\n"
       << table << '\n';
  }
  return md.str();
}

std::vector<std::string> write_report(const Report& report,
                                      const fs::path& out) {
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) die("cannot create " + out.string() + ": " + ec.message());
  const Aggregates agg(report);
  std::vector<std::string> written;
  write_file(out / "runs.csv", runs_csv(report));
  write_file(out / "results.csv", results_csv(report, agg));
  write_file(out / "ratios.csv", ratios_csv(report, agg));
  write_file(out / "results.md", markdown(report, agg));
  std::ostringstream machine;
  for (const auto& [k, v] : report.machine) machine << k << ": " << v << "\n";
  machine << "Load average at end: " << report.load_at_end << "\n"
          << "Command: " << report.command_line << "\n";
  write_file(out / "machine.txt", machine.str());
  written.insert(written.end(), {"results.md", "results.csv", "ratios.csv",
                                 "runs.csv", "machine.txt"});
  for (auto& name : charts(report, agg, out)) written.push_back(name);
  return written;
}

}  // namespace kalam_bench
