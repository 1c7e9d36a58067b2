#include "table_support.h"

#include <kalam/tables/json_input.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <ctime>

#include "cli_error.h"
#include "encoding.h"
#include "families.h"

namespace kalam::cli {
namespace {

using nlohmann::json;
using tables::ColumnType;

std::optional<int64_t> parse_int64(std::string_view text) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

std::optional<double> parse_double(std::string_view text) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) {
    return std::nullopt;
  }
  const std::string copy(text);
  char* end = nullptr;
  const double value = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

bool has_table_layer(OpenedDatabase& opened) {
  const std::vector<std::string> names = list_families(opened);
  auto has = [&names](std::string_view name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  return has(tables::kSystemFamily) && has(tables::kTablesFamily);
}

std::shared_ptr<tables::ColdStore> cold_store_of(const EngineConfig& config) {
  return tables::json_lines_cold_store(cold_path(config));
}

std::unique_ptr<tables::Tables> open_table_layer(
    OpenedDatabase& opened, std::shared_ptr<tables::ColdStore> cold) {
  // No background worker: it would flush and evict on its own, and a
  // command does exactly what it says (a read never writes).
  return value_or_throw(
      tables::Tables::open(
          *opened.db,
          {.cold_store =
               cold != nullptr ? std::move(cold) : cold_store_of(opened.config),
           .background = false}),
      "cannot open the table catalog of " + describe_location(opened.config));
}

OpenedTables open_tables(const CommonOptions& common, Access access,
                         std::string_view command, bool create_layer) {
  OpenedTables out;
  out.opened = open_database(common, access, command);
  if (!create_layer && !has_table_layer(out.opened)) return out;
  out.tables = open_table_layer(out.opened);
  return out;
}

void require_tables(const OpenedTables& opened, std::string_view what) {
  if (opened.tables != nullptr) return;
  throw CliError::Failure(
      std::string(what) +
      " does not exist: " + describe_location(opened.opened.config) +
      " has no tables yet; create a namespace with 'kalam ns create NAME' "
      "first");
}

void close_tables(OpenedTables* opened) {
  opened->tables.reset();
  close_database(&opened->opened);
}

tables::QualifiedName parse_table_name(std::string_view text) {
  auto name = tables::parse_qualified_name(text);
  if (!name.ok()) {
    throw CliError::Usage("bad table name '" + std::string(text) +
                          "': " + name.status().message());
  }
  return *name;
}

std::string parse_namespace_name(std::string_view text, bool to_change) {
  const Status valid = tables::validate_name("namespace", text);
  if (!valid.ok()) throw CliError::Usage(valid.message());
  if (to_change && text == tables::kSystemNamespace) {
    throw CliError::Usage(
        "namespace 'system' is reserved: it holds the catalog's read-only "
        "tables system.namespaces and system.tables");
  }
  return std::string(text);
}

tables::Column parse_column_spec(std::string_view text) {
  const std::string spec(text);
  auto bad = [&spec](const std::string& why) {
    return CliError::Usage("bad --column '" + spec + "': " + why +
                           "; write NAME:TYPE or NAME:TYPE:nullable, e.g. "
                           "--column title:string");
  };
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t colon = spec.find(':', start);
    parts.push_back(spec.substr(start, colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  if (parts.size() < 2 || parts.size() > 3) {
    throw bad("expected 2 or 3 parts separated by ':', got " +
              std::to_string(parts.size()));
  }
  const Status name_ok = tables::validate_name("column", parts[0]);
  if (!name_ok.ok()) throw bad(name_ok.message());
  auto type = tables::parse_column_type(parts[1]);
  if (!type.ok()) throw bad(type.status().message());
  tables::Column column{.name = parts[0], .type = *type, .nullable = false};
  if (parts.size() == 3) {
    if (parts[2] != "nullable") {
      throw bad("the third part may only be 'nullable', not '" + parts[2] +
                "'");
    }
    column.nullable = true;
  }
  return column;
}

std::chrono::milliseconds parse_duration(std::string_view text,
                                         std::string_view option) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    ++digits;
  }
  const std::string_view unit = text.substr(digits);
  struct Unit {
    std::string_view name;
    int64_t ms;
  };
  static constexpr Unit kUnits[] = {{"ms", 1},
                                    {"s", 1000},
                                    {"m", 60'000},
                                    {"h", 3'600'000},
                                    {"d", 86'400'000}};
  const auto bad = [&](const std::string& why) {
    return CliError::Usage("bad " + std::string(option) + " '" +
                           std::string(text) + "': " + why +
                           "; write a positive whole number and a unit (ms, "
                           "s, m, h, d), e.g. 10s or 5m");
  };
  uint64_t count = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + digits, count);
  if (digits == 0 || ec != std::errc()) throw bad("no number");
  if (count == 0) throw bad("it must be positive");
  for (const Unit& u : kUnits) {
    if (unit != u.name) continue;
    if (count > static_cast<uint64_t>(INT64_MAX / u.ms)) throw bad("too long");
    return std::chrono::milliseconds(static_cast<int64_t>(count) * u.ms);
  }
  throw bad(unit.empty() ? "no unit"
                         : "unknown unit '" + std::string(unit) + "'");
}

std::string format_duration(std::chrono::milliseconds ms) {
  const int64_t count = ms.count();
  for (const auto& [unit, size] :
       {std::pair<const char*, int64_t>{"d", 86'400'000},
        {"h", 3'600'000},
        {"m", 60'000},
        {"s", 1000}}) {
    if (count != 0 && count % size == 0) {
      return std::to_string(count / size) + unit;
    }
  }
  return std::to_string(count) + "ms";
}

std::string format_timestamp_ms(int64_t ms) {
  int64_t seconds = ms / 1000;
  int64_t millis = ms % 1000;
  if (millis < 0) {
    millis += 1000;
    --seconds;
  }
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return std::to_string(ms) + " ms";
  char buffer[64];
  const size_t n =
      std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &tm);
  char fraction[8];
  std::snprintf(fraction, sizeof fraction, ".%03dZ", static_cast<int>(millis));
  return std::string(buffer, n) + fraction;
}

std::pair<std::string, std::string> split_filter(std::string_view text) {
  const size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    throw CliError::Usage("bad --where '" + std::string(text) +
                          "': write COLUMN=VALUE, e.g. --where done=false");
  }
  return {std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
}

std::vector<RowFilter> resolve_filters(
    const tables::TableInfo& info,
    const std::vector<std::pair<std::string, std::string>>& filters) {
  std::vector<RowFilter> out;
  for (const auto& [name, text] : filters) {
    const tables::Column* column = info.schema.find(name);
    if (column == nullptr) {
      std::vector<std::string> names;
      for (const auto& c : info.schema.columns) names.push_back(c.name);
      throw CliError::Failure(
          "--where " + name + "=" + text + ": unknown column '" + name +
          "' in " + info.qualified_name() + "; the columns are " + join(names));
    }
    const auto bad = [&](const std::string& expects) {
      return CliError::Failure(
          "--where " + name + "=" + text + ": column '" + name + "' of " +
          info.qualified_name() + " is " +
          std::string(tables::column_type_name(column->type)) + ", and '" +
          text + "' is not " + expects);
    };
    json value;
    switch (column->type) {
      case ColumnType::kInt64: {
        auto v = parse_int64(text);
        if (!v) throw bad("an integer in [-2^63, 2^63)");
        value = *v;
        break;
      }
      case ColumnType::kFloat64: {
        auto v = parse_double(text);
        if (!v) throw bad("a finite number");
        value = *v;
        break;
      }
      case ColumnType::kBool:
        if (text != "true" && text != "false") throw bad("true or false");
        value = text == "true";
        break;
      case ColumnType::kString:
        if (!is_valid_utf8(text)) throw bad("valid UTF-8");
        value = text;
        break;
      case ColumnType::kBytes: {
        auto decoded = tables::base64_decode(text);
        if (!decoded.ok()) {
          throw bad("canonical base64 (" + decoded.status().message() + ")");
        }
        value = text;
        break;
      }
      case ColumnType::kTimestamp: {
        if (auto v = parse_int64(text)) {
          value = *v;
          break;
        }
        auto parsed = tables::parse_rfc3339_ms(text);
        if (!parsed.ok()) {
          throw bad(
              "milliseconds since the epoch or an RFC 3339 time such "
              "as 2024-05-01T12:30:00Z");
        }
        value = *parsed;
        break;
      }
      case ColumnType::kJson: {
        auto parsed = tables::parse_json(text);
        if (!parsed.ok()) {
          throw bad("a JSON value (quote a string: --where " + name +
                    "='\"text\"'); " + parsed.status().message());
        }
        value = std::move(*parsed);
        break;
      }
    }
    out.push_back({name, std::move(value)});
  }
  return out;
}

bool matches(const json& row, const std::vector<RowFilter>& filters) {
  for (const RowFilter& filter : filters) {
    auto it = row.find(filter.column);
    if (it == row.end() || *it != filter.value) return false;
  }
  return true;
}

void add_table_format_options(CLI::App* app, OutputFormat* format,
                              const std::string& json_help) {
  CLI::Option* format_option = add_format_option(app, format, json_help);
  CLI::Option* json_flag = app->add_flag_callback(
      "--json", [format] { *format = OutputFormat::kJson; },
      "The same as --format json");
  json_flag->excludes(format_option);
}

std::string json_safe(std::string_view bytes, std::string_view what) {
  if (!is_valid_utf8(bytes)) {
    throw CliError::Failure(std::string(what) + " " + describe_bytes(bytes) +
                            " is not valid UTF-8, which JSON output needs; "
                            "use --format text");
  }
  return std::string(bytes);
}

}  // namespace kalam::cli
