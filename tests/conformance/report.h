// The runner's --report file: one entry per case, written by the runner
// itself (not by gtest) so that it is complete even when a case crashed or
// hung in its child process.
#pragma once

#include <string>
#include <vector>

#include "case_process.h"

namespace kalam::conformance {

// What the report says about the plugin.
struct ReportHeader {
  std::string plugin;   // backend name
  std::string version;  // the plugin's version string
  std::string file;     // the plugin file
};

// Writes `rows` to `path`: JSON when it ends in ".json", else JUnit XML.
// Returns an error message, or "" on success.
std::string write_report(const std::string& path, const ReportHeader& header,
                         const std::vector<CaseResult>& rows);

}  // namespace kalam::conformance
