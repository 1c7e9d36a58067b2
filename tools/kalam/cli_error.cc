#include "cli_error.h"

#include <utility>

namespace kalam::cli {

CliError CliError::FromStatus(std::string_view doing, const Status& status) {
  std::string message(doing);
  if (!status.message().empty()) {
    message += message.empty() ? "" : ": ";
    message += status.message();
  }
  return CliError(kExitFailure, std::move(message),
                  "engine status: " + std::string(code_name(status.code())));
}

namespace {
std::vector<std::string>& secondary_errors() {
  static std::vector<std::string> notes;
  return notes;
}
}  // namespace

void note_secondary_error(std::string message) {
  secondary_errors().push_back(std::move(message));
}

std::vector<std::string> take_secondary_errors() {
  return std::exchange(secondary_errors(), {});
}

void throw_if_error(const Status& status, std::string_view doing) {
  if (!status.ok()) throw CliError::FromStatus(doing, status);
}

}  // namespace kalam::cli
