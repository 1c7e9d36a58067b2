// kalam-conformance: runs the conformance suite against any plugin file and
// prints a matrix of what passed, what was skipped because the plugin does
// not declare it, and what failed. Exits 0 only when nothing failed.
//
//   kalam-conformance ./kalam_mystore.so --option cache_size=8MiB
//       --filter 'Iterator_*' --report conformance.json   (one line)
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <iostream>

#include "conformance.h"

namespace kalam::conformance {
namespace {

INSTANTIATE_TEST_SUITE_P(Plugin, Conformance, ::testing::ValuesIn(backends()),
                         backend_label);

struct Row {
  std::string name;
  std::string result;  // passed | skipped | failed
  std::string detail;
};

// A failure or skip reason on one line: "file:line: message | message".
std::string one_line(const ::testing::TestPartResult& part) {
  std::string text;
  if (part.failed() && part.file_name() != nullptr) {
    text = std::filesystem::path(part.file_name()).filename().string() + ":" +
           std::to_string(part.line_number()) + ": ";
  }
  for (char c : std::string(part.message())) {
    if (c == '\n') {
      text += " | ";
    } else {
      text += c;
    }
  }
  return text;  // whole: the end of a message is often what explains it
}

// Collects one row per case for the matrix.
class MatrixListener : public ::testing::EmptyTestEventListener {
 public:
  void OnTestEnd(const ::testing::TestInfo& info) override {
    std::string name = info.name();  // "<Case>/<label>"
    name = name.substr(0, name.find('/'));
    const ::testing::TestResult& result = *info.result();
    Row row{name, "passed", ""};
    if (result.Skipped()) {
      row.result = "skipped";
    } else if (result.Failed()) {
      row.result = "failed";
    }
    for (int i = 0; i < result.total_part_count(); ++i) {
      const auto& part = result.GetTestPartResult(i);
      if ((part.skipped() || part.failed()) && row.detail.empty()) {
        row.detail = one_line(part);
      }
    }
    rows.push_back(row);
  }
  std::vector<Row> rows;
};

int print_matrix(const std::vector<Row>& rows, const Plugin& plugin) {
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

// "Iterator_*:Batch_*" → gtest filter on "Plugin/Conformance.<case>/<label>".
std::string gtest_filter(const std::string& cases) {
  std::string out;
  size_t start = 0;
  while (start <= cases.size()) {
    size_t end = cases.find(':', start);
    if (end == std::string::npos) end = cases.size();
    const std::string pattern = cases.substr(start, end - start);
    if (!pattern.empty()) {
      out += (out.empty() ? "" : ":") + std::string("*Conformance.") + pattern +
             "/*";
    }
    start = end + 1;
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
                 "(*.json)");
  app.add_option("--seed", seed,
                 "replay the model test with this seed (printed on failure)");
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
  if (!filter.empty())
    gtest_args.push_back("--gtest_filter=" + gtest_filter(filter));
  if (!report.empty()) {
    const bool json =
        report.size() > 5 && report.compare(report.size() - 5, 5, ".json") == 0;
    gtest_args.push_back(std::string("--gtest_output=") +
                         (json ? "json:" : "xml:") + report);
  }
  std::vector<char*> gtest_argv;
  for (auto& arg : gtest_args) gtest_argv.push_back(arg.data());
  int gtest_argc = static_cast<int>(gtest_argv.size());
  ::testing::InitGoogleTest(&gtest_argc, gtest_argv.data());
  auto* matrix = new MatrixListener();  // owned by gtest
  ::testing::UnitTest::GetInstance()->listeners().Append(matrix);
  const int rc = RUN_ALL_TESTS();
  if (matrix->rows.empty()) {
    std::cerr << "kalam-conformance: no case matched --filter '" << filter
              << "'\n";
    return 2;
  }
  return print_matrix(matrix->rows, **plugin) | rc;
}
