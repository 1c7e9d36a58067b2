// The engine's own log lines, through the sink set with set_log_sink()
// (kalam/plugin.h). Internal.
#pragma once

#include <kalam/plugin.h>

#include <string_view>

namespace kalam::detail {

// Logs `message` with source "kalam".
void log(LogLevel level, std::string_view message);

}  // namespace kalam::detail
