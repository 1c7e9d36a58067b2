// What migrate, dump, load and check share about the cold tier (the
// segments flushes wrote; kalam/tables/cold_tier.h): describing a verified
// cold tier table by table, and refusing to copy into one that holds
// segments already.
#pragma once

#include <kalam/config.h>
#include <kalam/tables/cold_tier.h>

#include <string>
#include <string_view>
#include <vector>

namespace kalam::cli {

// One line per table of `report`: "cold app.notes: 2 users, 4 segments,
// 23 rows, 2 deletions, crc32 0x..." (the CRC chains the partitions'
// digests, in order).
std::vector<std::string> describe_cold_tables(
    const tables::ColdTierReport& report);

// Throws (exit 1, "nothing was written") when `store`, the cold tier of the
// database `config` describes, holds segments: `command` copies a cold tier
// only into an empty one.
void require_empty_cold_tier(tables::ColdStore& store,
                             const EngineConfig& config,
                             std::string_view command);

}  // namespace kalam::cli
