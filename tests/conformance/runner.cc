// kalam-conformance: runs the conformance suite against any plugin file and
// prints a matrix of what passed, what was skipped because the plugin does
// not declare it, and what failed. Exits 0 only when nothing failed.
//
//   kalam-conformance ./kalam_mystore.so --option cache_size=8MiB
//       --filter 'Iterator_*' --report conformance.json   (one line)
//
// Each case runs in its own child process (unless --in-process), with a
// per-case timeout: a plugin that crashes or hangs fails that case, named
// with the signal or the timeout, and the runner goes on; the matrix and the
// report always cover every selected case.
#include <fnmatch.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <iostream>

#include "case_process.h"
#include "conformance.h"
#include "report.h"

namespace kalam::conformance {
namespace {

INSTANTIATE_TEST_SUITE_P(Plugin, Conformance, ::testing::ValuesIn(backends()),
                         backend_label);

// Collects one row per case for the matrix (--in-process runs).
class MatrixListener : public ::testing::EmptyTestEventListener {
 public:
  void OnTestEnd(const ::testing::TestInfo& info) override {
    rows.push_back(result_of(info));
  }
  std::vector<CaseResult> rows;
};

int print_matrix(const std::vector<CaseResult>& rows, const Plugin& plugin) {
  size_t width = 4;
  for (const auto& row : rows) width = std::max(width, row.name.size());
  int passed = 0, skipped = 0, failed = 0;
  std::cout << "\nConformance of '" << plugin.name() << "' " << plugin.version()
            << " (" << plugin.file().string() << ")\n";
  for (const auto& row : rows) {
    std::cout << "  " << row.name
              << std::string(width - row.name.size() + 2, ' ') << row.result;
    if (row.result != "passed" && !row.detail.empty()) {
      std::cout << " — " << row.detail;
    }
    std::cout << "\n";
    passed += row.result == "passed";
    skipped += row.result == "skipped";
    failed += row.result == "failed";
  }
  std::cout << "\nconformance: " << passed << " passed, " << failed
            << " failed, " << skipped << " skipped\n";
  return failed == 0 ? 0 : 1;
}

// Whether `case_name` matches one of the ':'-separated patterns of --filter
// (every case when the filter is empty).
bool selected(const std::string& case_name, const std::string& filter) {
  if (filter.empty()) return true;
  size_t start = 0;
  while (start <= filter.size()) {
    size_t end = filter.find(':', start);
    if (end == std::string::npos) end = filter.size();
    const std::string pattern = filter.substr(start, end - start);
    if (!pattern.empty() &&
        fnmatch(pattern.c_str(), case_name.c_str(), 0) == 0) {
      return true;
    }
    start = end + 1;
  }
  return false;
}

// The selected cases: {"Plugin/Conformance.<case>/<label>", "<case>"}.
std::vector<std::pair<std::string, std::string>> selected_cases(
    const std::string& filter) {
  std::vector<std::pair<std::string, std::string>> out;
  auto* unit = ::testing::UnitTest::GetInstance();
  for (int i = 0; i < unit->total_test_suite_count(); ++i) {
    const ::testing::TestSuite* suite = unit->GetTestSuite(i);
    for (int j = 0; j < suite->total_test_count(); ++j) {
      const ::testing::TestInfo* info = suite->GetTestInfo(j);
      const std::string name = info->name();
      const std::string case_name = name.substr(0, name.find('/'));
      if (selected(case_name, filter)) {
        out.emplace_back(std::string(suite->name()) + "." + name, case_name);
      }
    }
  }
  return out;
}

}  // namespace
}  // namespace kalam::conformance

int main(int argc, char** argv) {
  using namespace kalam::conformance;
  CLI::App app{
      "Runs the Kalam conformance suite against a storage plugin file.\n"
      "Example: kalam-conformance ./kalam_mystore.so --option "
      "cache_size=8MiB --report out.json"};
  std::string file;
  std::vector<std::string> options;
  std::string filter;
  std::string report;
  std::string seed;
  unsigned timeout = 300;
  bool in_process = false;
  app.add_option("plugin", file, "the plugin file (kalam_<name>.so)")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--option,-o", options,
                 "a backend option for every database the suite opens, "
                 "key=value (repeatable)");
  app.add_option("--filter", filter,
                 "only these cases: gtest patterns on case names, ':'-"
                 "separated, e.g. 'Iterator_*:Batch_*'");
  app.add_option("--report", report,
                 "also write the results as JUnit XML (*.xml) or JSON "
                 "(*.json), one entry per case, crashed ones included");
  app.add_option("--seed", seed,
                 "replay the model test with this seed (printed on failure)");
  app.add_option("--timeout", timeout,
                 "seconds one case may take before it counts as hung and "
                 "its process is killed (default 300)")
      ->check(CLI::Range(1u, 86400u));
  app.add_flag("--in-process", in_process,
               "run every case in this process (for a debugger): a crash "
               "or hang of the plugin then ends the run");
  CLI11_PARSE(app, argc, argv);

  auto plugin = kalam::load_plugin_file(file);
  if (!plugin.ok()) {
    std::cerr << "kalam-conformance: " << plugin.status().message() << "\n";
    return 1;
  }
  BackendUnderTest backend{(*plugin)->name(), (*plugin)->file(), {}};
  for (const auto& option : options) {
    const size_t eq = option.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "kalam-conformance: --option '" << option
                << "' must be key=value\n";
      return 2;
    }
    backend.options[option.substr(0, eq)] = option.substr(eq + 1);
  }
  backends().push_back(backend);
  if (!seed.empty()) setenv("KALAM_CONFORMANCE_SEED", seed.c_str(), 1);

  std::cout << "Plugin '" << (*plugin)->name() << "' " << (*plugin)->version()
            << ", ABI " << (*plugin)->abi_major() << "."
            << (*plugin)->abi_minor() << ", declares: ";
  const auto caps = kalam::capability_names((*plugin)->capabilities());
  for (size_t i = 0; i < caps.size(); ++i) {
    std::cout << (i ? ", " : "") << caps[i];
  }
  std::cout << (caps.empty() ? "nothing optional" : "") << "\n";

  std::vector<std::string> gtest_args = {argv[0]};
  std::vector<char*> gtest_argv;
  for (auto& arg : gtest_args) gtest_argv.push_back(arg.data());
  int gtest_argc = static_cast<int>(gtest_argv.size());
  ::testing::InitGoogleTest(&gtest_argc, gtest_argv.data());

  const auto cases = selected_cases(filter);
  if (cases.empty()) {
    std::cerr << "kalam-conformance: no case matched --filter '" << filter
              << "'\n";
    return 2;
  }
  std::vector<CaseResult> rows;
  int gtest_rc = 0;
  if (in_process) {
    std::string names;
    for (const auto& [full, name] : cases) {
      names += (names.empty() ? "" : ":") + full;
    }
    GTEST_FLAG_SET(filter, names);
    auto* matrix = new MatrixListener();  // owned by gtest
    ::testing::UnitTest::GetInstance()->listeners().Append(matrix);
    gtest_rc = RUN_ALL_TESTS();
    rows = matrix->rows;
  } else {
    for (const auto& [full, name] : cases) {
      rows.push_back(
          run_case_in_child(full, name, std::chrono::seconds(timeout)));
    }
  }
  int rc = print_matrix(rows, **plugin) | gtest_rc;
  if (!report.empty()) {
    const std::string error = write_report(
        report,
        {(*plugin)->name(), (*plugin)->version(), (*plugin)->file().string()},
        rows);
    if (!error.empty()) {
      std::cerr << "kalam-conformance: " << error << "\n";
      rc = 1;
    }
  }
  return rc;
}
