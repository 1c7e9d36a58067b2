#include "cold_tier_support.h"

#include <tuple>

#include "cli_error.h"
#include "digest.h"
#include "open_database.h"

namespace kalam::cli {

std::vector<std::string> describe_cold_tables(
    const tables::ColdTierReport& report) {
  std::vector<std::string> out;
  const auto& parts = report.partitions;
  for (size_t i = 0; i < parts.size();) {
    const tables::ColdPartition& first = parts[i].partition;
    uint64_t users = 0, segments = 0, rows = 0, deletions = 0;
    uint32_t crc = 0;
    size_t j = i;
    for (; j < parts.size() &&
           std::tie(parts[j].partition.ns, parts[j].partition.table,
                    parts[j].partition.table_id) ==
               std::tie(first.ns, first.table, first.table_id);
         ++j) {
      if (parts[j].partition.user) ++users;
      segments += parts[j].segments;
      rows += parts[j].rows;
      deletions += parts[j].deletions;
      std::string digest;
      append_u32(&digest, parts[j].crc32);
      crc = crc32_update(crc, digest);
    }
    std::string line = "cold " + first.ns + "." + first.table + ": ";
    if (users > 0) {
      line += std::to_string(users) + (users == 1 ? " user, " : " users, ");
    }
    line += std::to_string(segments) +
            (segments == 1 ? " segment, " : " segments, ") +
            std::to_string(rows) + (rows == 1 ? " row, " : " rows, ") +
            std::to_string(deletions) +
            (deletions == 1 ? " deletion" : " deletions") + ", crc32 " +
            crc32_hex(crc);
    out.push_back(std::move(line));
    i = j;
  }
  return out;
}

void require_empty_cold_tier(tables::ColdStore& store,
                             const EngineConfig& config,
                             std::string_view command) {
  const bool empty = value_or_throw(
      store.empty(), "cannot read the cold tier " + cold_path(config).string());
  if (!empty) {
    throw CliError::Failure(
        std::string(command) + ": the cold tier of " +
        describe_location(config) + " (" + cold_path(config).string() +
        ", tables.cold_path) already holds segments; the cold tier is "
        "copied only into an empty one. Nothing was written");
  }
}

}  // namespace kalam::cli
