// Table definitions: column types, schemas, table options, the catalog's
// record of a table, name rules, and row validation.
//
// A row is a JSON object (nlohmann::json) whose members are the table's
// columns. Schema::validate_row() checks one against the schema and returns
// its canonical stored form: every column present (absent nullable ones as
// null), float64 values as doubles, timestamps as int64 milliseconds.
#pragma once

#include <kalam/status.h>

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace kalam::tables {

// --- Names -------------------------------------------------------------------

// The namespace that holds the catalog's own read-only tables
// (system.namespaces, system.tables). It cannot be created or dropped.
inline constexpr std::string_view kSystemNamespace = "system";

// Namespace, table and column names: 1 to 64 characters of a-z, 0-9 and _,
// not starting with a digit. `what` ("namespace", "table", "column") names
// the kind in the error: "invalid table name 'Msgs': 'M' at position 0 is
// not allowed; names are 1 to 64 characters of a-z, 0-9 and _, not starting
// with a digit".
inline constexpr size_t kMaxNameLength = 64;
Status validate_name(std::string_view what, std::string_view name);

// "app.messages" -> {"app", "messages"}; INVALID_ARGUMENT unless it is two
// valid names joined by one dot.
struct QualifiedName {
  std::string ns;
  std::string name;
  friend bool operator==(const QualifiedName& a, const QualifiedName& b) {
    return std::tie(a.ns, a.name) == std::tie(b.ns, b.name);
  }
  friend bool operator!=(const QualifiedName& a, const QualifiedName& b) {
    return !(a == b);
  }
};
StatusOr<QualifiedName> parse_qualified_name(std::string_view text);

// --- Columns and schemas -----------------------------------------------------

enum class ColumnType {
  kInt64,      // JSON integer in [-2^63, 2^63)
  kFloat64,    // any JSON number, stored as a double
  kBool,       // true / false
  kString,     // JSON string (UTF-8)
  kBytes,      // JSON string holding standard base64 (with padding)
  kTimestamp,  // int64 ms since the epoch, or an RFC 3339 string; stored as
               // int64 ms
  kJson,       // any JSON value (a JSON null is the column's null)
};

// "int64", "float64", "bool", "string", "bytes", "timestamp", "json".
std::string_view column_type_name(ColumnType type);
// The inverse; INVALID_ARGUMENT listing the types for anything else.
StatusOr<ColumnType> parse_column_type(std::string_view name);

struct Column {
  std::string name;
  ColumnType type = ColumnType::kString;
  // May hold null (and may be left out of a row). The primary key column is
  // never nullable (as in SQL: PRIMARY KEY implies NOT NULL).
  bool nullable = true;
  friend bool operator==(const Column& a, const Column& b) {
    return std::tie(a.name, a.type, a.nullable) ==
           std::tie(b.name, b.type, b.nullable);
  }
  friend bool operator!=(const Column& a, const Column& b) { return !(a == b); }
};

struct Schema {
  // In declaration order; at least one, names unique.
  std::vector<Column> columns;
  // The primary key column's name: an int64 or string column. Empty: the
  // table has none, and each put() generates a row id (monotonic, sortable).
  std::string primary_key;

  // The column named `name`, or null.
  const Column* find(std::string_view name) const;

  // Checks the schema itself: valid unique column names, at least one
  // column, a primary key that names an int64 or string column.
  // INVALID_ARGUMENT / ALREADY_EXISTS (duplicate column) naming the column.
  Status validate() const;

  // Checks `row` (a JSON object) against the schema and returns it in
  // canonical form. INVALID_ARGUMENT naming the column and what it expects
  // for: an unknown column, a value of the wrong type, a missing or null
  // non-nullable column.
  StatusOr<nlohmann::json> validate_row(const nlohmann::json& row) const;

  // {"columns": [{"name": "id", "type": "int64", "nullable": false}, ...],
  //  "primary_key": "id"}  ("primary_key" is null when there is none).
  nlohmann::json to_json() const;
  // The inverse (also accepts a missing "primary_key" and "nullable", which
  // default to none and true). Does not call validate().
  static StatusOr<Schema> from_json(const nlohmann::json& json);

  friend bool operator==(const Schema& a, const Schema& b) {
    return std::tie(a.columns, a.primary_key) ==
           std::tie(b.columns, b.primary_key);
  }
  friend bool operator!=(const Schema& a, const Schema& b) { return !(a == b); }
};

// --- Tables ------------------------------------------------------------------

enum class TableKind {
  kUser,    // rows are partitioned by user id; a user sees only their rows
  kShared,  // one set of rows for everyone
  kStream,  // append-only events with retention (TTL and/or max rows)
};
// "user", "shared", "stream".
std::string_view table_kind_name(TableKind kind);
StatusOr<TableKind> parse_table_kind(std::string_view name);

// When hot rows of a user or shared table move to cold storage (see
// Tables: the background worker acts on it; Tables::flush() flushes now).
struct FlushPolicy {
  // Flush once this many rows were written (put, update or delete) since the
  // last flush.
  std::optional<uint64_t> row_count;
  // Flush at least this often.
  std::optional<std::chrono::milliseconds> interval;
  friend bool operator==(const FlushPolicy& a, const FlushPolicy& b) {
    return std::tie(a.row_count, a.interval) ==
           std::tie(b.row_count, b.interval);
  }
  friend bool operator!=(const FlushPolicy& a, const FlushPolicy& b) {
    return !(a == b);
  }
};

struct TableOptions {
  FlushPolicy flush;
  // Retention, for stream tables only (refused for user and shared tables;
  // a stream table needs at least one): events older than `ttl`, and events
  // beyond the newest `max_rows`, expire — reads never return them, and the
  // background worker (or StreamTableStore::evict) deletes them.
  std::optional<std::chrono::milliseconds> ttl;
  std::optional<uint64_t> max_rows;

  // {"flush": {"row_count": N, "interval_ms": M}, "ttl_ms": T,
  //  "max_rows": R}, members present only when set.
  nlohmann::json to_json() const;
  static StatusOr<TableOptions> from_json(const nlohmann::json& json);
  friend bool operator==(const TableOptions& a, const TableOptions& b) {
    return std::tie(a.flush, a.ttl, a.max_rows) ==
           std::tie(b.flush, b.ttl, b.max_rows);
  }
  friend bool operator!=(const TableOptions& a, const TableOptions& b) {
    return !(a == b);
  }
};

// What create_table() is asked for.
struct TableSpec {
  std::string ns;
  std::string name;
  TableKind kind = TableKind::kShared;
  Schema schema;
  TableOptions options;
};

// The catalog's record of a table: a row of system.tables.
struct TableInfo {
  // Unique for the life of the database, never reused (the prefix of every
  // key of the table's rows). 0 for the virtual system tables.
  uint64_t id = 0;
  std::string ns;
  std::string name;
  TableKind kind = TableKind::kShared;
  Schema schema;
  TableOptions options;
  // Milliseconds since the epoch.
  int64_t created_at_ms = 0;

  // "ns.name".
  std::string qualified_name() const { return ns + "." + name; }

  // The system.tables row: {"id", "namespace", "name", "kind", "columns",
  // "primary_key", "options", "created_at"}.
  nlohmann::json to_json() const;
  // The inverse; CORRUPTION naming what is wrong when `json` is not one.
  static StatusOr<TableInfo> from_json(const nlohmann::json& json);

  friend bool operator==(const TableInfo& a, const TableInfo& b) {
    return std::tie(a.id, a.ns, a.name, a.kind, a.schema, a.options,
                    a.created_at_ms) == std::tie(b.id, b.ns, b.name, b.kind,
                                                 b.schema, b.options,
                                                 b.created_at_ms);
  }
  friend bool operator!=(const TableInfo& a, const TableInfo& b) {
    return !(a == b);
  }
};

// --- Value encodings used by rows ------------------------------------------

// Standard base64 (RFC 4648 section 4) with '=' padding.
std::string base64_encode(std::string_view bytes);
// INVALID_ARGUMENT when `text` is not canonical padded base64.
StatusOr<std::string> base64_decode(std::string_view text);

// "2024-05-01T12:30:00Z", "2024-05-01T12:30:00.123+02:00" (RFC 3339; 't',
// 'z' and a space for 'T' accepted; fractions beyond milliseconds are
// truncated) -> milliseconds since the epoch. INVALID_ARGUMENT otherwise.
StatusOr<int64_t> parse_rfc3339_ms(std::string_view text);

}  // namespace kalam::tables
