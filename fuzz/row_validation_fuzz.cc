// Fuzz target: JSON row validation (kalam/tables/schema.h,
// Schema::validate_row). An input is one line naming a schema, then the
// JSON text of a row:
//
//   *id:i name:s! score:f tags:j   <- columns: name:type, '*' marks the
//   {"id": 7, "name": "x"}            primary key, '!' not nullable;
//                                     types i f b s y(bytes) t(timestamp) j
//
// Properties: parse_json (the bounded parser) accepts exactly what
// json::parse accepts within kalam::tables::kMaxJsonDepth; validate_row never
// throws or crashes, whatever the depth of the row (the corpus holds a row
// nested 100,000 levels deep); it refuses with INVALID_ARGUMENT; what it
// accepts comes back in canonical form, which
//  - has exactly the schema's columns, a non-null primary key, nulls only in
//    nullable columns;
//  - validates to itself (byte for byte, dumped), and so does its stored
//    form (dump + parse, what the table stores write and read back);
//  - keeps a string primary key and an int64 one usable as a row id.
#include <kalam/tables/json_input.h>
#include <kalam/tables/schema.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "fuzz_input.h"

namespace {

using json = nlohmann::json;
using kalam::tables::Column;
using kalam::tables::ColumnType;
using kalam::tables::Schema;

bool parse_schema(const std::string& line, Schema& schema) {
  std::istringstream words(line);
  std::string word;
  while (words >> word) {
    Column c;
    bool pk = false;
    if (word.starts_with("*")) {
      pk = true;
      word.erase(0, 1);
    }
    if (word.ends_with("!")) {
      c.nullable = false;
      word.pop_back();
    }
    const size_t colon = word.rfind(':');
    if (colon == std::string::npos || colon + 2 != word.size()) return false;
    c.name = word.substr(0, colon);
    switch (word[colon + 1]) {
      case 'i':
        c.type = ColumnType::kInt64;
        break;
      case 'f':
        c.type = ColumnType::kFloat64;
        break;
      case 'b':
        c.type = ColumnType::kBool;
        break;
      case 's':
        c.type = ColumnType::kString;
        break;
      case 'y':
        c.type = ColumnType::kBytes;
        break;
      case 't':
        c.type = ColumnType::kTimestamp;
        break;
      case 'j':
        c.type = ColumnType::kJson;
        break;
      default:
        return false;
    }
    if (pk) schema.primary_key = c.name;
    schema.columns.push_back(std::move(c));
  }
  return true;
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  if (newline == std::string::npos) return 0;
  Schema schema;
  if (!parse_schema(input.substr(0, newline), schema)) return 0;
  if (!schema.validate().ok()) return 0;
  // The schema survives its own JSON form (the catalog stores it so).
  auto schema_again = Schema::from_json(schema.to_json());
  FUZZ_CHECK(schema_again.ok() && *schema_again == schema,
             "schema does not round-trip through JSON");

  // The row text through the bounded parser (what the CLI uses), and
  // through the library's own, unbounded one (what an API caller may hand
  // to put): validate_row must refuse what is too deep without recursing.
  const std::string text = input.substr(newline + 1);
  auto bounded = kalam::tables::parse_json(text);
  FUZZ_CHECK(
      bounded.ok() || bounded.status().code() == kalam::Code::kInvalidArgument,
      "parse_json failed with %s", bounded.status().to_string().c_str());
  const json row = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (row.is_discarded()) {
    FUZZ_CHECK(!bounded.ok(), "parse_json accepted what json::parse refuses");
    return 0;
  }
  const bool shallow = kalam::tables::check_json_depth(row).ok();
  FUZZ_CHECK(bounded.ok() == shallow,
             "parse_json says %s, check_json_depth says %s",
             bounded.ok() ? "ok" : bounded.status().to_string().c_str(),
             shallow ? "shallow" : "too deep");
  // Both are within the depth limit here, so comparing them is safe.
  FUZZ_CHECK(!bounded.ok() || *bounded == row,
             "parse_json and json::parse disagree on the value");
  auto canonical = schema.validate_row(row);
  if (!canonical.ok()) {
    FUZZ_CHECK(canonical.status().code() == kalam::Code::kInvalidArgument,
               "row refused with %s", canonical.status().to_string().c_str());
    return 0;
  }
  const json& c = *canonical;
  FUZZ_CHECK(c.is_object() && c.size() == schema.columns.size(),
             "canonical row %s does not have the %zu columns", dump(c).c_str(),
             schema.columns.size());
  for (const Column& column : schema.columns) {
    auto it = c.find(column.name);
    FUZZ_CHECK(it != c.end(), "column %s missing from %s", column.name.c_str(),
               dump(c).c_str());
    const bool may_be_null =
        column.nullable && column.name != schema.primary_key;
    FUZZ_CHECK(may_be_null || !it->is_null(), "column %s is null in %s",
               column.name.c_str(), dump(c).c_str());
    if (it->is_null()) continue;
    switch (column.type) {
      case ColumnType::kInt64:
      case ColumnType::kTimestamp:
        FUZZ_CHECK(it->is_number_integer() && !it->is_number_unsigned(),
                   "%s column %s holds %s", "int64/timestamp",
                   column.name.c_str(), dump(*it).c_str());
        break;
      case ColumnType::kFloat64:
        FUZZ_CHECK(it->is_number_float(), "float64 column %s holds %s",
                   column.name.c_str(), dump(*it).c_str());
        break;
      case ColumnType::kBool:
        FUZZ_CHECK(it->is_boolean(), "bool column holds %s", dump(*it).c_str());
        break;
      case ColumnType::kString:
      case ColumnType::kBytes:
        FUZZ_CHECK(it->is_string(), "string column holds %s",
                   dump(*it).c_str());
        break;
      case ColumnType::kJson:
        break;
    }
  }
  // Idempotent: the canonical form is valid and canonical.
  auto again = schema.validate_row(c);
  FUZZ_CHECK(again.ok(), "canonical row %s is refused: %s", dump(c).c_str(),
             again.status().to_string().c_str());
  FUZZ_CHECK(dump(*again) == dump(c), "canonical row %s re-validates to %s",
             dump(c).c_str(), dump(*again).c_str());
  // The stored form (text) reads back to the same canonical row.
  std::string stored;
  try {
    stored = c.dump();
  } catch (const json::exception& e) {
    FUZZ_CHECK(false, "canonical row cannot be stored: %s", e.what());
  }
  const json read_back = json::parse(stored, nullptr, false);
  FUZZ_CHECK(!read_back.is_discarded(), "stored row %s does not parse",
             stored.c_str());
  auto from_store = schema.validate_row(read_back);
  FUZZ_CHECK(from_store.ok() && dump(*from_store) == dump(c),
             "stored row %s validates to %s, not %s", stored.c_str(),
             from_store.ok() ? dump(*from_store).c_str()
                             : from_store.status().to_string().c_str(),
             dump(c).c_str());
  return 0;
}
