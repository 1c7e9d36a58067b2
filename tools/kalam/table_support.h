// What the table subcommands (ns, table, insert, select, flush) share:
// opening the table layer without writing from a read subcommand, parsing
// NS.NAME, column specs, durations and --where filters, and reading rows
// given as JSON.
#pragma once

#include <kalam/tables/tables.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "open_database.h"
#include "output.h"

namespace kalam::cli {

// A database with its table layer open. The Tables object is destroyed
// before the database is closed.
struct OpenedTables {
  OpenedDatabase opened;
  std::unique_ptr<tables::Tables> tables;  // null: the database has none

  tables::Catalog& catalog() { return tables->catalog(); }
};

// Whether the database has a table catalog (its two column families).
bool has_table_layer(OpenedDatabase& opened);

// The cold tier of the database `config` describes: the JSON Lines store at
// kalam::cold_path(config) (tables.cold_path, default <storage.path>/cold).
std::shared_ptr<tables::ColdStore> cold_store_of(const EngineConfig& config);

// The table layer of `opened` on `cold` (default: cold_store_of its config),
// without the background worker. Throws CliError when it cannot be opened.
std::unique_ptr<tables::Tables> open_table_layer(
    OpenedDatabase& opened, std::shared_ptr<tables::ColdStore> cold = nullptr);

// Opens the database of --config for `access` and its table layer.
// A read (Access::kRead) never writes: when the database has no table
// catalog yet (its two column families are absent), `tables` stays null
// instead of creating them. A write subcommand other than `ns create`
// (`create_layer` false) does the same, so that a command that is bound to
// fail (no namespace, no table) writes nothing either.
OpenedTables open_tables(const CommonOptions& common, Access access,
                         std::string_view command, bool create_layer = false);

// Throws the "no table catalog" error (exit 1) when `opened.tables` is null:
// the database has no namespaces, so `what` ("table app.notes") is not
// there.
void require_tables(const OpenedTables& opened, std::string_view what);

// Destroys the table layer, then closes the database (see close_database).
void close_tables(OpenedTables* opened);

// "app.notes" -> {"app", "notes"}; a usage error (exit 2) otherwise.
tables::QualifiedName parse_table_name(std::string_view text);

// A namespace name given on the command line; a usage error when invalid,
// or when it is the reserved "system" and `to_change` (create, drop).
std::string parse_namespace_name(std::string_view text, bool to_change);

// `--column name:type[:nullable]`: a usage error naming the spec when it is
// malformed or the type unknown. Without ":nullable" the column is NOT NULL.
tables::Column parse_column_spec(std::string_view text);

// "500ms", "10s", "5m", "2h", "7d" -> milliseconds; a usage error naming
// `option` otherwise. The value must be positive.
std::chrono::milliseconds parse_duration(std::string_view text,
                                         std::string_view option);

// "10s" etc.: the largest unit that divides `ms` exactly.
std::string format_duration(std::chrono::milliseconds ms);

// Milliseconds since the epoch as RFC 3339 UTC with milliseconds.
std::string format_timestamp_ms(int64_t ms);

// One `--where COLUMN=VALUE`: the column and the value converted to the
// column's stored form, so that it compares equal to what the row holds.
struct RowFilter {
  std::string column;
  nlohmann::json value;
};

// "col=value" split at the first '='; a usage error without one or with an
// empty column name.
std::pair<std::string, std::string> split_filter(std::string_view text);

// Converts each split --where against `info`'s schema. An unknown column or
// a value that is not of the column's type is an error (exit 1) naming it.
std::vector<RowFilter> resolve_filters(
    const tables::TableInfo& info,
    const std::vector<std::pair<std::string, std::string>>& filters);

// True when every filter's column of `row` equals its value.
bool matches(const nlohmann::json& row, const std::vector<RowFilter>& filters);

// Adds `--format text|json` and `--json` (the same as --format json).
void add_table_format_options(CLI::App* app, OutputFormat* format,
                              const std::string& json_help);

// `bytes` for a JSON string: an error (exit 1) naming `what` when they are
// not valid UTF-8, which JSON needs.
std::string json_safe(std::string_view bytes, std::string_view what);

}  // namespace kalam::cli
