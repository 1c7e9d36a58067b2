// The machine description recorded with every result set.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "config.h"

namespace kalam_bench {

using Facts = std::vector<std::pair<std::string, std::string>>;

// CPU, cores, memory, the disk and file system under `data_dir`, kernel,
// OS, compiler and build, library and plugin versions, source revision.
Facts describe_machine(const Config& config,
                       const std::filesystem::path& data_dir);

// /proc/loadavg's first three fields.
std::string load_average();

// "2024-05-01T12:34:56Z" (UTC) and "2024-05-01" (local date).
std::string utc_timestamp();
std::string local_date();
std::string host_name();

}  // namespace kalam_bench
