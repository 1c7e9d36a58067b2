// Column-family helpers shared by the subcommands: resolving a name with a
// helpful error, listing, emptiness, and numeric properties.
#pragma once

#include <kalam/database.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "open_database.h"

namespace kalam::cli {

// The family `name` of `opened`. An unknown name is an error that says how
// to list and create families.
ColumnFamily open_family(OpenedDatabase& opened, const std::string& name);

// Every family name, "default" included, sorted.
std::vector<std::string> list_families(OpenedDatabase& opened);

// `requested` after checking that each exists, or every family when it is
// empty.
std::vector<std::string> select_families(
    OpenedDatabase& opened, const std::vector<std::string>& requested);

// True when `cf` holds no key.
bool family_is_empty(Database& db, const ColumnFamily& cf,
                     const std::string& name);

// The families of `opened` that hold at least one key.
std::vector<std::string> non_empty_families(OpenedDatabase& opened);

// Throws a CliError (exit 1) when a family of `destination` holds data,
// unless `allow_non_empty`: load and migrate write into empty databases
// only, unless asked to merge.
void refuse_non_empty(OpenedDatabase& destination, bool allow_non_empty,
                      std::string_view command);

// A decimal property (kalam.estimate-num-keys, ...), or nullopt when the
// backend does not provide it.
std::optional<uint64_t> numeric_property(Database& db, const ColumnFamily& cf,
                                         const std::string& name);

// The sum of kalam.estimate-num-keys over `families`, or nullopt when any
// is unknown. For progress percentages only.
std::optional<uint64_t> estimate_entries(
    OpenedDatabase& opened, const std::vector<std::string>& families);

// Calls `visit` with every entry of `cf` (family `name`) in key order, as of
// `snapshot` (null: the latest data), fetching entries in batches of up to
// 256, or of `fetch_size()` when given (clamped to 1..256). The views are
// valid only during `visit`, which must not call into `db` (it runs inside
// the backend's batch call); `after_batch`, when given, runs between batches
// and may. Throws CliError on a read error.
void for_each_entry(Database& db, const ColumnFamily& cf,
                    const std::string& name, const Snapshot* snapshot,
                    const std::function<void(std::string_view key,
                                             std::string_view value)>& visit,
                    const std::function<void()>& after_batch = nullptr,
                    const std::function<size_t()>& fetch_size = nullptr);

// "'a', 'b'" for messages.
std::string quote_list(const std::vector<std::string>& names);

}  // namespace kalam::cli
