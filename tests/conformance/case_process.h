// Running one conformance case in a child process, so that the plugin under
// test cannot take the runner down with it: a crash (a signal) or a hang (the
// per-case timeout) is a failure of that case, and the runner goes on to the
// next one and still writes its summary and report.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace kalam::conformance {

// The outcome of one case, as the matrix and the report show it.
struct CaseResult {
  std::string name;    // the case, without the plugin label ("Point_...")
  std::string result;  // passed | skipped | failed
  std::string detail;  // the first failure or skip reason, on one line
  double seconds = 0;
};

// A failure or skip reason on one line: "file:line: message | message", whole
// (the end of a message is often what explains it).
std::string one_line(const ::testing::TestPartResult& part);

// Fills a CaseResult from a finished gtest case (in-process runs).
CaseResult result_of(const ::testing::TestInfo& info);

// Runs the gtest case `full_name` ("Suite.Case/label") in a forked child.
// The child runs it with RUN_ALL_TESTS and reports its parts over a pipe;
// the parent waits at most `timeout`, then kills the child's process group.
// InitGoogleTest must have run, RUN_ALL_TESTS must not have run in this
// process yet (the child runs it once), and the caller must not have
// started threads that a forked child would need.
CaseResult run_case_in_child(const std::string& full_name,
                             const std::string& case_name,
                             std::chrono::seconds timeout);

}  // namespace kalam::conformance
