// How a kalam subcommand fails: a CliError carries the exit code and the one
// line printed on stderr ("kalam: <message>"), plus detail shown only with
// --verbose. main() catches it; nothing else does, except to add context.
#pragma once

#include <kalam/status.h>

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kalam::cli {

inline constexpr int kExitOk = 0;
// The operation failed: an engine error, a missing key, a failed check.
inline constexpr int kExitFailure = 1;
// The command line was wrong: unknown subcommand or option, a malformed
// argument, a --config file that does not exist.
inline constexpr int kExitUsage = 2;

class CliError : public std::runtime_error {
 public:
  CliError(int exit_code, std::string message, std::string detail = {})
      : std::runtime_error(std::move(message)),
        exit_code_(exit_code),
        detail_(std::move(detail)) {}

  // A usage error (exit 2): `message` says what was wrong and what to do.
  static CliError Usage(std::string message) {
    return CliError(kExitUsage, std::move(message));
  }
  // An operational error (exit 1) with no engine status behind it.
  static CliError Failure(std::string message, std::string detail = {}) {
    return CliError(kExitFailure, std::move(message), std::move(detail));
  }
  // An engine call failed: "<doing>: <status message>"; the status code
  // goes into the detail.
  static CliError FromStatus(std::string_view doing, const Status& status);

  int exit_code() const { return exit_code_; }
  const std::string& detail() const { return detail_; }

 private:
  int exit_code_;
  std::string detail_;
};

// An error met while already failing (e.g. closing the database after the
// subcommand failed): kept, and printed after the main error with --verbose,
// so the main error stays the one line on stderr.
void note_secondary_error(std::string message);
// The notes kept so far, oldest first; clears them.
std::vector<std::string> take_secondary_errors();

// Throws CliError::FromStatus(doing, status) unless `status` is OK.
void throw_if_error(const Status& status, std::string_view doing);

// The value of `result`, or throws CliError::FromStatus(doing, ...).
template <typename T>
T value_or_throw(StatusOr<T> result, std::string_view doing) {
  throw_if_error(result.status(), doing);
  return std::move(result).value();
}

}  // namespace kalam::cli
