// Bounded JSON input: depth-limited parsing and checking, and short quotes
// of values for error messages.
#include <kalam/tables/json_input.h>

#include <utility>
#include <vector>

namespace kalam::tables {

using nlohmann::json;

namespace {

std::string depth_rule(size_t max_depth) {
  return "arrays and objects nested more than " + std::to_string(max_depth) +
         " levels deep; the limit is " + std::to_string(max_depth) +
         " (a row object is level 1)";
}

// Appends the JSON text of `value` to `out`, stopping once `out` holds more
// than `limit` characters. Each level appends at least one character before
// it recurses, so the recursion is at most `limit` deep whatever the value.
void append_prefix(const json& value, std::string& out, size_t limit) {
  if (out.size() > limit) return;
  auto append_string = [&](const std::string& s) {
    // Only the part that can be shown is dumped.
    const std::string part = s.substr(0, limit + 1);
    out += json(part).dump(-1, ' ', false, json::error_handler_t::replace);
  };
  switch (value.type()) {
    case json::value_t::object: {
      out += '{';
      bool first = true;
      for (auto it = value.begin(); it != value.end(); ++it) {
        if (out.size() > limit) return;
        if (!first) out += ',';
        first = false;
        append_string(it.key());
        out += ':';
        append_prefix(it.value(), out, limit);
      }
      out += '}';
      return;
    }
    case json::value_t::array: {
      out += '[';
      bool first = true;
      for (const json& element : value) {
        if (out.size() > limit) return;
        if (!first) out += ',';
        first = false;
        append_prefix(element, out, limit);
      }
      out += ']';
      return;
    }
    case json::value_t::string:
      append_string(value.get_ref<const std::string&>());
      return;
    default:
      out += value.dump(-1, ' ', false, json::error_handler_t::replace);
      return;
  }
}

}  // namespace

StatusOr<json> parse_json(std::string_view text, size_t max_depth) {
  // The parser itself keeps its nesting on the heap; the callback refuses
  // every container beyond the limit (its contents are then skipped, never
  // built) and remembers that it did.
  bool deep = false;
  auto bound = [&deep, max_depth](int depth, json::parse_event_t event, json&) {
    if (event != json::parse_event_t::object_start &&
        event != json::parse_event_t::array_start) {
      return true;
    }
    // `depth` counts the containers around this one.
    if (static_cast<size_t>(depth) + 1 > max_depth) {
      deep = true;
      return false;
    }
    return true;
  };
  json value;
  try {
    value = json::parse(text, bound);
  } catch (const json::out_of_range& e) {
    // 406: a number beyond the float64 range ("1e999").
    return Status::InvalidArgument(
        std::string("JSON with a number out of range (a number is at most "
                    "about 1.8e308 in magnitude): ") +
        e.what());
  } catch (const json::exception& e) {
    return Status::InvalidArgument(std::string("not valid JSON: ") + e.what());
  }
  if (deep) {
    return Status::InvalidArgument("JSON nested too deep: " +
                                   depth_rule(max_depth));
  }
  return value;
}

Status check_json_depth(const json& value, size_t max_depth) {
  if (!value.is_structured()) return Status::OK();
  std::vector<std::pair<const json*, size_t>> pending{{&value, 1}};
  while (!pending.empty()) {
    const auto [node, depth] = pending.back();
    pending.pop_back();
    if (depth > max_depth) {
      return Status::InvalidArgument("the JSON value holds " +
                                     depth_rule(max_depth));
    }
    for (const json& child : *node) {
      if (child.is_structured()) pending.emplace_back(&child, depth + 1);
    }
  }
  return Status::OK();
}

std::string truncated_json(const json& value, size_t max_chars) {
  if (max_chars < 4) max_chars = 4;
  std::string text;
  append_prefix(value, text, max_chars);
  if (text.size() > max_chars) text = text.substr(0, max_chars - 3) + "...";
  return text;
}

std::string describe_json(const json& value, size_t max_chars) {
  const std::string text = truncated_json(value, max_chars);
  const char* kind = value.type_name();
  if (value.is_number_float()) kind = "float";
  if (value.is_number_integer()) kind = "integer";
  return std::string(kind) + " " + text;
}

}  // namespace kalam::tables
