// Names, column types, schemas, table records and row validation.
#include <kalam/tables/schema.h>

#include <kalam/tables/json_input.h>

#include <cmath>
#include <limits>
#include <set>

namespace kalam::tables {

using nlohmann::json;

namespace {

constexpr std::string_view kNameRule =
    "names are 1 to 64 characters of a-z, 0-9 and _, not starting with a "
    "digit";

// A short, printable rendering of a JSON value for error messages: never
// more than a few dozen characters, whatever the value's size or depth.
std::string describe_value(const json& value) { return describe_json(value); }

// A name from the input (a column of a row) quoted for a message: at most
// 64 bytes of it.
std::string quoted_name(const std::string& name) {
  if (name.size() <= 64) return "'" + name + "'";
  return "'" + name.substr(0, 61) + "...' (" + std::to_string(name.size()) +
         " bytes)";
}

std::string expected(ColumnType type) {
  switch (type) {
    case ColumnType::kInt64:
      return "int64";
    case ColumnType::kFloat64:
      return "float64";
    case ColumnType::kBool:
      return "bool";
    case ColumnType::kString:
      return "string";
    case ColumnType::kBytes:
      return "bytes (a base64 string)";
    case ColumnType::kTimestamp:
      return "timestamp (int64 milliseconds since the epoch, or an RFC 3339 "
             "string)";
    case ColumnType::kJson:
      return "json";
  }
  return "?";
}

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t extra;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;
    for (size_t k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates, beyond U+10FFFF.
    if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) ||
        (extra == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

// The canonical stored form of a non-null `value` for `column`.
StatusOr<json> canonical_value(const Column& column, const json& value) {
  auto wrong = [&]() {
    return Status::InvalidArgument("column '" + column.name + "' expects " +
                                   expected(column.type) + ", got " +
                                   describe_value(value));
  };
  switch (column.type) {
    case ColumnType::kInt64:
      if (value.is_number_unsigned()) {
        if (value.get<uint64_t>() >
            static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          return Status::InvalidArgument(
              "column '" + column.name + "' expects int64, got " +
              describe_value(value) + ", which is out of the int64 range");
        }
        return json(value.get<int64_t>());
      }
      if (value.is_number_integer()) return json(value.get<int64_t>());
      return wrong();
    case ColumnType::kFloat64: {
      if (!value.is_number()) return wrong();
      const double d = value.get<double>();
      if (!std::isfinite(d)) {
        return Status::InvalidArgument("column '" + column.name +
                                       "' expects a finite float64");
      }
      return json(d);
    }
    case ColumnType::kBool:
      if (!value.is_boolean()) return wrong();
      return value;
    case ColumnType::kString:
      if (!value.is_string()) return wrong();
      if (!valid_utf8(value.get_ref<const std::string&>())) {
        return Status::InvalidArgument("column '" + column.name +
                                       "' expects string, got bytes that are "
                                       "not valid UTF-8 (use a bytes column)");
      }
      return value;
    case ColumnType::kBytes: {
      if (!value.is_string()) return wrong();
      auto decoded = base64_decode(value.get_ref<const std::string&>());
      if (!decoded.ok()) {
        return Status::InvalidArgument(
            "column '" + column.name +
            "' expects bytes (a base64 string): " + decoded.status().message());
      }
      return value;
    }
    case ColumnType::kTimestamp: {
      if (value.is_number_unsigned()) {
        if (value.get<uint64_t>() >
            static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          return wrong();
        }
        return json(value.get<int64_t>());
      }
      if (value.is_number_integer()) return json(value.get<int64_t>());
      if (!value.is_string()) return wrong();
      auto ms = parse_rfc3339_ms(value.get_ref<const std::string&>());
      if (!ms.ok()) {
        return Status::InvalidArgument("column '" + column.name + "' expects " +
                                       expected(column.type) + ": " +
                                       ms.status().message());
      }
      return json(*ms);
    }
    case ColumnType::kJson:
      // Before anything recurses into the value (dump, copy, compare).
      if (!check_json_depth(value, kMaxJsonDepth - 1).ok()) {
        return Status::InvalidArgument(
            "column '" + column.name + "' holds JSON nested more than " +
            std::to_string(kMaxJsonDepth - 1) +
            " levels deep; a row may nest arrays and objects at most " +
            std::to_string(kMaxJsonDepth) +
            " levels deep (the row object is level 1)");
      }
      try {
        (void)value.dump();
      } catch (const json::exception&) {
        return Status::InvalidArgument(
            "column '" + column.name +
            "' expects json, got a value holding a string that is not valid "
            "UTF-8");
      }
      return value;
  }
  return wrong();
}

std::string column_list(const Schema& schema) {
  std::string out;
  for (const Column& c : schema.columns) {
    if (!out.empty()) out += ", ";
    out += c.name;
  }
  return out;
}

// For from_json(): refuses members other than `allowed`.
Status only_members(const json& object,
                    std::initializer_list<const char*> allowed,
                    std::string_view where) {
  for (const auto& [key, value] : object.items()) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || key == a;
    if (!ok) {
      std::string list;
      for (const char* a : allowed) {
        if (!list.empty()) list += ", ";
        list += a;
      }
      return Status::InvalidArgument("unknown member " + quoted_name(key) +
                                     " in " + std::string(where) +
                                     "; allowed: " + list);
    }
  }
  return Status::OK();
}

StatusOr<uint64_t> positive_integer(const json& value, std::string_view what) {
  if (value.is_number_unsigned() && value.get<uint64_t>() > 0 &&
      value.get<uint64_t>() <=
          static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return value.get<uint64_t>();
  }
  if (value.is_number_integer() && value.get<int64_t>() > 0) {
    return static_cast<uint64_t>(value.get<int64_t>());
  }
  return Status::InvalidArgument(std::string(what) +
                                 " must be a positive integer (at most 2^63 - "
                                 "1), got " +
                                 describe_value(value));
}

}  // namespace

// --- Names -------------------------------------------------------------------

Status validate_name(std::string_view what, std::string_view name) {
  if (name.empty()) {
    return Status::InvalidArgument("invalid " + std::string(what) +
                                   " name: it is empty; " +
                                   std::string(kNameRule));
  }
  if (name.size() > kMaxNameLength) {
    return Status::InvalidArgument(
        "invalid " + std::string(what) + " name '" +
        std::string(name.substr(0, 20)) + "...': it is " +
        std::to_string(name.size()) + " characters long; " +
        std::string(kNameRule));
  }
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool lower = c >= 'a' && c <= 'z';
    const bool digit = c >= '0' && c <= '9';
    if (lower || c == '_' || (digit && i > 0)) continue;
    const auto b = static_cast<unsigned char>(c);
    std::string shown = (b >= 0x20 && b < 0x7F)
                            ? "'" + std::string(1, c) + "'"
                            : "byte 0x" +
                                  std::string(1, "0123456789abcdef"[b >> 4]) +
                                  std::string(1, "0123456789abcdef"[b & 0xF]);
    return Status::InvalidArgument(
        "invalid " + std::string(what) + " name '" + std::string(name) +
        "': " + shown + " at position " + std::to_string(i) +
        " is not allowed; " + std::string(kNameRule));
  }
  return Status::OK();
}

StatusOr<QualifiedName> parse_qualified_name(std::string_view text) {
  const size_t dot = text.find('.');
  if (dot == std::string_view::npos) {
    return Status::InvalidArgument("'" + std::string(text) +
                                   "' is not a qualified table name: write "
                                   "namespace.table");
  }
  QualifiedName q{std::string(text.substr(0, dot)),
                  std::string(text.substr(dot + 1))};
  KALAM_RETURN_IF_ERROR(validate_name("namespace", q.ns));
  KALAM_RETURN_IF_ERROR(validate_name("table", q.name));
  return q;
}

// --- Columns -----------------------------------------------------------------

std::string_view column_type_name(ColumnType type) {
  switch (type) {
    case ColumnType::kInt64:
      return "int64";
    case ColumnType::kFloat64:
      return "float64";
    case ColumnType::kBool:
      return "bool";
    case ColumnType::kString:
      return "string";
    case ColumnType::kBytes:
      return "bytes";
    case ColumnType::kTimestamp:
      return "timestamp";
    case ColumnType::kJson:
      return "json";
  }
  return "?";
}

StatusOr<ColumnType> parse_column_type(std::string_view name) {
  for (ColumnType t :
       {ColumnType::kInt64, ColumnType::kFloat64, ColumnType::kBool,
        ColumnType::kString, ColumnType::kBytes, ColumnType::kTimestamp,
        ColumnType::kJson}) {
    if (column_type_name(t) == name) return t;
  }
  return Status::InvalidArgument(
      "unknown column type '" + std::string(name) +
      "'; the types are int64, float64, bool, string, bytes, timestamp, json");
}

// --- Schema ------------------------------------------------------------------

const Column* Schema::find(std::string_view name) const {
  for (const Column& c : columns) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

Status Schema::validate() const {
  if (columns.empty()) {
    return Status::InvalidArgument("a table needs at least one column");
  }
  std::set<std::string_view> seen;
  for (const Column& c : columns) {
    KALAM_RETURN_IF_ERROR(validate_name("column", c.name));
    if (!seen.insert(c.name).second) {
      return Status::AlreadyExists("duplicate column '" + c.name +
                                   "': column names must be unique");
    }
  }
  if (!primary_key.empty()) {
    const Column* pk = find(primary_key);
    if (pk == nullptr) {
      return Status::InvalidArgument("primary key '" + primary_key +
                                     "' is not a column; the columns are " +
                                     column_list(*this));
    }
    if (pk->type != ColumnType::kInt64 && pk->type != ColumnType::kString) {
      return Status::InvalidArgument(
          "primary key column '" + primary_key + "' is " +
          std::string(column_type_name(pk->type)) +
          "; a primary key must be an int64 or string column");
    }
  }
  return Status::OK();
}

StatusOr<json> Schema::validate_row(const json& row) const {
  if (!row.is_object()) {
    return Status::InvalidArgument("a row must be a JSON object, got " +
                                   describe_value(row));
  }
  for (const auto& [key, value] : row.items()) {
    if (find(key) == nullptr) {
      return Status::InvalidArgument("unknown column " + quoted_name(key) +
                                     "; the columns are " + column_list(*this));
    }
  }
  json out = json::object();
  for (const Column& c : columns) {
    const bool nullable = c.nullable && c.name != primary_key;
    auto it = row.find(c.name);
    if (it == row.end() || it->is_null()) {
      if (!nullable) {
        return Status::InvalidArgument(
            (it == row.end() ? "missing column '" : "null in column '") +
            c.name + "', which is not nullable (expects " + expected(c.type) +
            ")");
      }
      out[c.name] = nullptr;
      continue;
    }
    KALAM_ASSIGN_OR_RETURN(out[c.name], canonical_value(c, *it));
  }
  return out;
}

json Schema::to_json() const {
  json cols = json::array();
  for (const Column& c : columns) {
    cols.push_back({{"name", c.name},
                    {"type", std::string(column_type_name(c.type))},
                    {"nullable", c.nullable}});
  }
  return {
      {"columns", std::move(cols)},
      {"primary_key", primary_key.empty() ? json(nullptr) : json(primary_key)}};
}

StatusOr<Schema> Schema::from_json(const json& j) {
  if (!j.is_object()) {
    return Status::InvalidArgument("a schema must be a JSON object, got " +
                                   describe_value(j));
  }
  KALAM_RETURN_IF_ERROR(only_members(j, {"columns", "primary_key"}, "schema"));
  Schema schema;
  auto cols = j.find("columns");
  if (cols == j.end() || !cols->is_array()) {
    return Status::InvalidArgument("a schema needs \"columns\": an array");
  }
  for (size_t i = 0; i < cols->size(); ++i) {
    const json& c = (*cols)[i];
    const std::string where = "column " + std::to_string(i + 1);
    if (!c.is_object()) {
      return Status::InvalidArgument(where + " must be a JSON object, got " +
                                     describe_value(c));
    }
    KALAM_RETURN_IF_ERROR(only_members(c, {"name", "type", "nullable"}, where));
    Column column;
    auto name = c.find("name");
    auto type = c.find("type");
    auto nullable = c.find("nullable");
    if (name == c.end() || !name->is_string()) {
      return Status::InvalidArgument(where + " needs \"name\": a string");
    }
    column.name = name->get<std::string>();
    if (type == c.end() || !type->is_string()) {
      return Status::InvalidArgument("column '" + column.name +
                                     "' needs \"type\": a string");
    }
    auto parsed = parse_column_type(type->get<std::string>());
    if (!parsed.ok()) {
      return parsed.status().with_context("column '" + column.name + "'");
    }
    column.type = *parsed;
    if (nullable != c.end()) {
      if (!nullable->is_boolean()) {
        return Status::InvalidArgument("column '" + column.name +
                                       "': \"nullable\" must be true or false");
      }
      column.nullable = nullable->get<bool>();
    }
    schema.columns.push_back(std::move(column));
  }
  if (auto pk = j.find("primary_key"); pk != j.end() && !pk->is_null()) {
    if (!pk->is_string()) {
      return Status::InvalidArgument(
          "\"primary_key\" must be a column name or null");
    }
    schema.primary_key = pk->get<std::string>();
  }
  return schema;
}

// --- Tables ------------------------------------------------------------------

std::string_view table_kind_name(TableKind kind) {
  switch (kind) {
    case TableKind::kUser:
      return "user";
    case TableKind::kShared:
      return "shared";
    case TableKind::kStream:
      return "stream";
  }
  return "?";
}

StatusOr<TableKind> parse_table_kind(std::string_view name) {
  if (name == "user") return TableKind::kUser;
  if (name == "shared") return TableKind::kShared;
  if (name == "stream") return TableKind::kStream;
  return Status::InvalidArgument("unknown table kind '" + std::string(name) +
                                 "'; the kinds are user, shared, stream");
}

json TableOptions::to_json() const {
  json out = json::object();
  json f = json::object();
  if (flush.row_count) f["row_count"] = *flush.row_count;
  if (flush.interval) f["interval_ms"] = flush.interval->count();
  if (!f.empty()) out["flush"] = std::move(f);
  if (ttl) out["ttl_ms"] = ttl->count();
  if (max_rows) out["max_rows"] = *max_rows;
  return out;
}

StatusOr<TableOptions> TableOptions::from_json(const json& j) {
  if (!j.is_object()) {
    return Status::InvalidArgument("table options must be a JSON object");
  }
  KALAM_RETURN_IF_ERROR(
      only_members(j, {"flush", "ttl_ms", "max_rows"}, "table options"));
  TableOptions options;
  if (auto f = j.find("flush"); f != j.end()) {
    if (!f->is_object()) {
      return Status::InvalidArgument("\"flush\" must be a JSON object");
    }
    KALAM_RETURN_IF_ERROR(
        only_members(*f, {"row_count", "interval_ms"}, "flush policy"));
    if (auto r = f->find("row_count"); r != f->end()) {
      KALAM_ASSIGN_OR_RETURN(options.flush.row_count,
                             positive_integer(*r, "flush.row_count"));
    }
    if (auto i = f->find("interval_ms"); i != f->end()) {
      KALAM_ASSIGN_OR_RETURN(uint64_t ms,
                             positive_integer(*i, "flush.interval_ms"));
      options.flush.interval =
          std::chrono::milliseconds(static_cast<int64_t>(ms));
    }
  }
  if (auto t = j.find("ttl_ms"); t != j.end()) {
    KALAM_ASSIGN_OR_RETURN(uint64_t ms, positive_integer(*t, "ttl_ms"));
    options.ttl = std::chrono::milliseconds(static_cast<int64_t>(ms));
  }
  if (auto m = j.find("max_rows"); m != j.end()) {
    KALAM_ASSIGN_OR_RETURN(options.max_rows, positive_integer(*m, "max_rows"));
  }
  return options;
}

json TableInfo::to_json() const {
  json schema_json = schema.to_json();
  return {{"id", id},
          {"namespace", ns},
          {"name", name},
          {"kind", std::string(table_kind_name(kind))},
          {"columns", std::move(schema_json["columns"])},
          {"primary_key", std::move(schema_json["primary_key"])},
          {"options", options.to_json()},
          {"created_at", created_at_ms}};
}

StatusOr<TableInfo> TableInfo::from_json(const json& j) {
  auto bad = [](const std::string& what) {
    return Status::Corruption("malformed system.tables row: " + what);
  };
  if (!j.is_object()) return bad("not a JSON object");
  TableInfo info;
  auto id = j.find("id");
  auto ns = j.find("namespace");
  auto name = j.find("name");
  auto kind = j.find("kind");
  auto created = j.find("created_at");
  if (id == j.end() || !id->is_number_unsigned()) return bad("no \"id\"");
  if (ns == j.end() || !ns->is_string()) return bad("no \"namespace\"");
  if (name == j.end() || !name->is_string()) return bad("no \"name\"");
  if (kind == j.end() || !kind->is_string()) return bad("no \"kind\"");
  if (created == j.end() || !created->is_number_integer()) {
    return bad("no \"created_at\"");
  }
  info.id = id->get<uint64_t>();
  info.ns = ns->get<std::string>();
  info.name = name->get<std::string>();
  info.created_at_ms = created->get<int64_t>();
  auto parsed_kind = parse_table_kind(kind->get<std::string>());
  if (!parsed_kind.ok()) return bad(parsed_kind.status().message());
  info.kind = *parsed_kind;
  json schema_json = json::object();
  if (auto c = j.find("columns"); c != j.end()) schema_json["columns"] = *c;
  if (auto p = j.find("primary_key"); p != j.end()) {
    schema_json["primary_key"] = *p;
  }
  auto schema = Schema::from_json(schema_json);
  if (!schema.ok()) return bad(schema.status().message());
  info.schema = std::move(*schema);
  if (auto o = j.find("options"); o != j.end()) {
    auto options = TableOptions::from_json(*o);
    if (!options.ok()) return bad(options.status().message());
    info.options = std::move(*options);
  }
  return info;
}

}  // namespace kalam::tables
