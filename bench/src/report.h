// Turns the runs into the result set: runs.csv (every run), results.csv and
// results.md (medians with min and max, the plugin/native ratio), the
// machine description and the gnuplot charts.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "config.h"
#include "machine.h"
#include "modes.h"
#include "store.h"

namespace kalam_bench {

struct RunRecord {
  Job job;
  RunResult result;
};

struct Report {
  const Config* config = nullptr;
  std::vector<Workload> workloads;    // selected, in catalog order
  std::vector<std::string> backends;  // selected, in order
  std::vector<std::string> modes;     // selected, in order
  std::vector<RunRecord> runs;
  std::map<std::string, SettingsCheck> settings;  // by backend
  Facts machine;
  std::string load_at_end;
  double wall_seconds = 0;
  std::string command_line;
};

// The summary of one result set per value size (--value-sizes), in the
// order given: plugin/native ratios and bytes on disk per record.
std::string sizes_markdown(const std::vector<const Report*>& reports);

// Writes every output file into `out`. Returns the names written, or dies.
std::vector<std::string> write_report(const Report& report,
                                      const std::filesystem::path& out);

}  // namespace kalam_bench
