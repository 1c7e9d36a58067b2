#include "cli_error.h"

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

void throw_if_error(const Status& status, std::string_view doing) {
  if (!status.ok()) throw CliError::FromStatus(doing, status);
}

}  // namespace kalam::cli
