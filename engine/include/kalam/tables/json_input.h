// Limits on the JSON that comes in as rows, and the one way to parse and
// quote it.
//
// Rows are nlohmann::json values, and most of what can be done with one
// (dump(), copy, compare) recurses once per level of nesting: a value nested
// 100,000 levels deep overflows the stack. So the table layer refuses, with
// INVALID_ARGUMENT naming kMaxJsonDepth, every row (or update) nested deeper
// than that before it touches the value recursively, and parse_json()
// refuses such text while parsing, before a DOM exists. Error messages quote
// a value only through describe_json(), which never prints (or walks) more
// than a few dozen characters of it.
#pragma once

#include <kalam/status.h>

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace kalam::tables {

// The deepest nesting of arrays and objects a row may have: the row object
// itself is level 1, so a json column's value may be nested
// kMaxJsonDepth - 1 levels. A scalar is level 0.
inline constexpr size_t kMaxJsonDepth = 128;

// The JSON text `text` as a value. INVALID_ARGUMENT, with the parser's
// position and reason, for text that is not one JSON value, that nests
// arrays and objects deeper than `max_depth` (the message names the limit),
// or that holds a number out of the float64 range (1e999). Never throws, and
// never recurses per level of nesting.
StatusOr<nlohmann::json> parse_json(std::string_view text,
                                    size_t max_depth = kMaxJsonDepth);

// OK when `value` nests arrays and objects at most `max_depth` levels deep,
// else INVALID_ARGUMENT naming the limit. Iterative: safe on any value, and
// it stops at the first level too deep.
Status check_json_depth(const nlohmann::json& value,
                        size_t max_depth = kMaxJsonDepth);

// At most `max_chars` characters of `value`'s JSON text ("..." where cut),
// bytes that are not UTF-8 replaced: what error messages quote. Costs time
// in `max_chars`, whatever the value's size or depth.
std::string truncated_json(const nlohmann::json& value, size_t max_chars = 40);

// truncated_json() after the value's type: "string \"abc\"",
// "array [[[[...", "integer 7".
std::string describe_json(const nlohmann::json& value, size_t max_chars = 40);

}  // namespace kalam::tables
