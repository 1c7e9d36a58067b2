// The virtual tables: every `namespace.table` of the catalog as a SQLite
// virtual table over the table stores, and the catalog's system tables.
// Modelled on SQLite's ext/misc/series.c (xBestIndex reports which
// constraints it consumes, its costs and orderByConsumed) with each cursor a
// thin adapter over a RowCursor.
//
// Isolation: a cursor of a user table in a user session opens only scans of
// that user's partition (UserTableStore::iter / iter_range / get with the
// session's user id, fixed when the session was opened). Constraints on
// user_id are never consumed in a user session; SQLite evaluates them over
// rows that are all the session user's.
#include <kalam/tables/schema.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "internals.h"

namespace kalam::sql::detail {

using nlohmann::json;
using tables::ColumnType;
using tables::Row;
using tables::RowChange;
using tables::TableInfo;
using tables::TableKind;

namespace {

// idxNum bits of a plan: which arguments xFilter receives, in this order.
constexpr int kUserEq = 1;
constexpr int kKeyEq = 2;
constexpr int kLower = 4;
constexpr int kLowerExclusive = 8;
constexpr int kUpper = 16;
constexpr int kUpperExclusive = 32;
constexpr int kLimit = 64;
constexpr int kOffset = 128;

// The name of the hidden column holding every row's id (Row::row_id).
constexpr const char* kRowIdColumn = "_row_id";

const char* sql_type(ColumnType type) {
  switch (type) {
    case ColumnType::kInt64:
    case ColumnType::kBool:
    case ColumnType::kTimestamp:
      return "INTEGER";
    case ColumnType::kFloat64:
      return "REAL";
    case ColumnType::kBytes:
      return "BLOB";
    case ColumnType::kString:
    case ColumnType::kJson:
      return "TEXT";
  }
  return "TEXT";
}

std::string sql_quoted(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

void set_error(sqlite3_vtab* vtab, const std::string& message) {
  sqlite3_free(vtab->zErrMsg);
  vtab->zErrMsg = sqlite3_mprintf("%s", message.c_str());
}

// Hands a bytes column, stored as base64 text, to SQLite as a blob (an
// error for text that is not base64).
void result_base64_blob(sqlite3_context* ctx, std::string_view base64) {
  auto bytes = tables::base64_decode(base64);
  if (!bytes.ok()) {
    sqlite3_result_error(ctx, bytes.status().message().c_str(), -1);
    return;
  }
  sqlite3_result_blob(ctx, bytes->data(), static_cast<int>(bytes->size()),
                      SQLITE_TRANSIENT);
}

// Hands a JSON value of a column of `type` to SQLite.
void result_json(sqlite3_context* ctx, const json& v, ColumnType type) {
  if (v.is_null()) {
    sqlite3_result_null(ctx);
    return;
  }
  if (type == ColumnType::kJson) {
    const std::string text = v.dump();
    sqlite3_result_text(ctx, text.data(), static_cast<int>(text.size()),
                        SQLITE_TRANSIENT);
    return;
  }
  if (type == ColumnType::kBytes && v.is_string()) {
    result_base64_blob(ctx, v.get_ref<const std::string&>());
    return;
  }
  switch (v.type()) {
    case json::value_t::boolean:
      sqlite3_result_int(ctx, v.get<bool>() ? 1 : 0);
      return;
    case json::value_t::number_integer:
      sqlite3_result_int64(ctx, v.get<int64_t>());
      return;
    case json::value_t::number_unsigned: {
      const uint64_t u = v.get<uint64_t>();
      if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        sqlite3_result_int64(ctx, static_cast<int64_t>(u));
      } else {
        sqlite3_result_double(ctx, static_cast<double>(u));
      }
      return;
    }
    case json::value_t::number_float:
      sqlite3_result_double(ctx, v.get<double>());
      return;
    case json::value_t::string: {
      const std::string& s = v.get_ref<const std::string&>();
      sqlite3_result_text(ctx, s.data(), static_cast<int>(s.size()),
                          SQLITE_TRANSIENT);
      return;
    }
    default: {
      const std::string text = v.dump();
      sqlite3_result_text(ctx, text.data(), static_cast<int>(text.size()),
                          SQLITE_TRANSIENT);
      return;
    }
  }
}

std::string_view value_text(sqlite3_value* v) {
  const unsigned char* text = sqlite3_value_text(v);
  return text == nullptr
             ? std::string_view()
             : std::string_view(reinterpret_cast<const char*>(text),
                                static_cast<size_t>(sqlite3_value_bytes(v)));
}

// A SQL value written into a column of `type`, as the JSON the table
// layer's validation expects; what does not fit is passed on as it is, so
// the table layer's own error names the column and the type it wants.
StatusOr<json> to_json(sqlite3_value* v, const tables::Column& column) {
  switch (sqlite3_value_type(v)) {
    case SQLITE_NULL:
      return json(nullptr);
    case SQLITE_INTEGER: {
      const int64_t i = sqlite3_value_int64(v);
      if (column.type == ColumnType::kBool && (i == 0 || i == 1)) {
        return json(i == 1);
      }
      if (column.type == ColumnType::kFloat64) {
        return json(static_cast<double>(i));
      }
      return json(i);
    }
    case SQLITE_FLOAT:
      return json(sqlite3_value_double(v));
    case SQLITE_BLOB: {
      const void* data = sqlite3_value_blob(v);
      const std::string bytes(static_cast<const char*>(data),
                              static_cast<size_t>(sqlite3_value_bytes(v)));
      if (column.type == ColumnType::kBytes) {
        return json(tables::base64_encode(bytes));
      }
      return json(bytes);
    }
    default: {
      std::string_view text = value_text(v);
      if (column.type == ColumnType::kJson) {
        json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
        if (parsed.is_discarded()) {
          return Status::InvalidArgument(
              "column '" + column.name +
              "' is of type json, and the text given is not JSON; write a "
              "JSON text (a string value as '\"text\"')");
        }
        return parsed;
      }
      return json(std::string(text));
    }
  }
}

// --- Key bounds --------------------------------------------------------------

enum class KeyKind { kGenerated, kInt64, kString };

// A bound of the key column in row-id form: a value, no bound (the SQL value
// cannot be a key of this type: SQLite filters the rows), or an empty range.
struct Bound {
  enum { kValue, kNone, kEmpty } what = kNone;
  std::string id;
  bool exclusive = false;
};

bool is_generated_id(std::string_view text) {
  if (text.size() != 32) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// `side`: 0 equality, -1 a lower bound, +1 an upper bound.
Bound key_bound(KeyKind kind, sqlite3_value* v, int side, bool exclusive) {
  Bound b;
  b.exclusive = exclusive;
  const int type = sqlite3_value_type(v);
  if (type == SQLITE_NULL) {
    b.what = Bound::kEmpty;  // nothing compares true with NULL
    return b;
  }
  switch (kind) {
    case KeyKind::kInt64: {
      if (type == SQLITE_INTEGER) {
        b.what = Bound::kValue;
        b.id = std::to_string(sqlite3_value_int64(v));
        return b;
      }
      if (type == SQLITE_FLOAT) {
        const double d = sqlite3_value_double(v);
        if (std::isnan(d)) return {.what = Bound::kEmpty};
        if (d < -9.2e18 || d > 9.2e18) return b;  // kNone: SQLite filters
        const double whole = side < 0 ? std::ceil(d) : std::floor(d);
        if (side == 0 && whole != d) return {.what = Bound::kEmpty};
        b.what = Bound::kValue;
        b.id = std::to_string(static_cast<int64_t>(whole));
        if (whole != d) b.exclusive = false;
        return b;
      }
      if (type == SQLITE_TEXT) {
        // INTEGER affinity: a text that is an integer compares as one.
        std::string_view text = value_text(v);
        int64_t i = 0;
        auto [end, ec] =
            std::from_chars(text.data(), text.data() + text.size(), i);
        if (ec == std::errc() && end == text.data() + text.size() &&
            !text.empty()) {
          b.what = Bound::kValue;
          b.id = std::to_string(i);  // the canonical id ("007" is 7)
        }
      }
      return b;
    }
    case KeyKind::kString:
      if (type == SQLITE_BLOB) return b;
      b.what = Bound::kValue;
      b.id = std::string(value_text(v));
      return b;
    case KeyKind::kGenerated: {
      if (type != SQLITE_TEXT) return b;
      std::string_view text = value_text(v);
      if (is_generated_id(text)) {
        b.what = Bound::kValue;
        b.id = std::string(text);
      } else if (side == 0) {
        b.what = Bound::kEmpty;  // no stored id looks like this
      }
      return b;
    }
  }
  return b;
}

// Compares two canonical row ids of a table keyed `kind` as their stored
// keys compare (int64 ids numerically, the others bytewise).
int compare_ids(KeyKind kind, std::string_view a, std::string_view b) {
  if (kind == KeyKind::kInt64) {
    int64_t x = 0, y = 0;
    std::from_chars(a.data(), a.data() + a.size(), x);
    std::from_chars(b.data(), b.data() + b.size(), y);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  const int c = a.compare(b);
  return c < 0 ? -1 : c > 0 ? 1 : 0;
}

// A row of the transaction's pending writes: (user, row id).
using PendingKey = std::pair<std::string, std::string>;

// Orders pending rows as a scan hands rows out: by user (bytewise, as the
// order-preserving key codec stores them), then by key.
struct PendingLess {
  KeyKind kind = KeyKind::kGenerated;
  bool operator()(const PendingKey& a, const PendingKey& b) const {
    if (a.first != b.first) return a.first < b.first;
    return compare_ids(kind, a.second, b.second) < 0;
  }
};

// The end of the JSON value that starts at text[at] (a string, a number,
// a literal, an object or an array), or npos when it is not well-formed.
// Only what is needed to find where a value ends is checked.
size_t json_value_end(std::string_view text, size_t at) {
  const size_t n = text.size();
  if (at >= n) return std::string_view::npos;
  auto string_end = [&](size_t i) -> size_t {  // i: just after the '"'
    while (i < n) {
      if (text[i] == '\\') {
        i += 2;
      } else if (text[i] == '"') {
        return i + 1;
      } else {
        ++i;
      }
    }
    return std::string_view::npos;
  };
  const char c = text[at];
  if (c == '"') return string_end(at + 1);
  if (c == '{' || c == '[') {
    int depth = 0;
    size_t i = at;
    while (i < n) {
      const char d = text[i];
      if (d == '"') {
        i = string_end(i + 1);
        if (i == std::string_view::npos) return i;
        continue;
      }
      if (d == '{' || d == '[') ++depth;
      if (d == '}' || d == ']') {
        if (--depth == 0) return i + 1;
      }
      ++i;
    }
    return std::string_view::npos;
  }
  size_t i = at;
  while (i < n && text[i] != ',' && text[i] != '}' && text[i] != ']' &&
         text[i] != ' ' && text[i] != '\n' && text[i] != '\t' &&
         text[i] != '\r') {
    ++i;
  }
  return i == at ? std::string_view::npos : i;
}

size_t skip_space(std::string_view text, size_t i) {
  while (i < text.size() && (text[i] == ' ' || text[i] == '\n' ||
                             text[i] == '\t' || text[i] == '\r')) {
    ++i;
  }
  return i;
}

// --- The data tables ---------------------------------------------------------

struct ColumnInfo {
  enum Kind { kUser, kData, kRowId } kind = kData;
  tables::Column column;  // kData: the schema's column
};

}  // namespace

class TableVtab : public sqlite3_vtab {
 public:
  Session* session = nullptr;
  TableInfo info;
  std::vector<ColumnInfo> columns;
  int user_column = -1;  // user tables: the user_id column
  int key_column = -1;   // the primary key column, else _row_id
  int rowid_column = -1;
  KeyKind key_kind = KeyKind::kGenerated;

  // Rowids handed out by cursors (xRowid) -> (user, row id). Cleared when
  // no statement of the session runs.
  std::vector<std::pair<std::string, std::string>> handles;

  // Data columns by name (sorted): where a member of a stored row's JSON
  // text goes (the view read path).
  std::vector<std::pair<std::string, int>> by_name;

  // The transaction's buffered writes (stream appends included, each under
  // an id drawn when it was written: new_row_id()).
  std::vector<RowChange> changes;
  // Savepoint level -> the size of `changes` when it began.
  std::vector<size_t> savepoints;
  // The transaction's own rows as they are once the buffered changes are
  // applied: (user, row id) -> the row, or nullopt for a deleted row. Reads
  // of the session overlay them on what the table layer has (the
  // transaction sees its own writes); INSERT checks uniqueness against them.
  std::map<PendingKey, std::optional<json>, PendingLess> pending;

  bool user_table() const { return info.kind == TableKind::kUser; }
  bool admin() const { return session->user().is_admin(); }

  // The same row gets the same rowid (an UPDATE reads it twice).
  std::map<std::pair<std::string, std::string>, sqlite3_int64> handle_of;

  sqlite3_int64 handle(std::string user, std::string row_id) {
    auto [it, added] = handle_of.try_emplace({user, row_id}, 0);
    if (!added) return it->second;
    handles.emplace_back(std::move(user), std::move(row_id));
    it->second = static_cast<sqlite3_int64>(handles.size());
    return it->second;
  }

  // The row id a buffered change writes.
  std::string id_of(const RowChange& c) const {
    if (c.op == RowChange::Op::kPut && !info.schema.primary_key.empty()) {
      return row_id_of(c.row);
    }
    return c.row_id;
  }

  void rebuild_pending() {
    pending.clear();
    for (const RowChange& c : changes) {
      std::optional<json> row;
      if (c.op == RowChange::Op::kPut) row = c.row;
      pending[{c.user_id, id_of(c)}] = std::move(row);
    }
  }

  // The row id of a canonical row of a table with a primary key.
  std::string row_id_of(const json& row) const {
    const json& pk = row.at(info.schema.primary_key);
    return pk.is_string() ? pk.get<std::string>() : pk.dump();
  }

  // Whether (user, row id) exists: the transaction's own changes first,
  // then the table.
  StatusOr<bool> exists(const std::string& user, const std::string& row_id) {
    auto it = pending.find({user, row_id});
    if (it != pending.end()) return it->second.has_value();
    tables::Tables& t = session->tables();
    StatusOr<Row> row = user_table()
                            ? t.user().get(info.ns, info.name, user, row_id)
                            : t.shared().get(info.ns, info.name, row_id);
    if (row.ok()) return true;
    if (row.status().is_not_found()) return false;
    return row.status();
  }
};

namespace {

class TableCursor : public sqlite3_vtab_cursor {
 public:
  using Pending = decltype(TableVtab::pending);

  // The table layer's rows, read as views (no JSON parse per row).
  std::optional<tables::RowCursor> rows;
  // Whether rows->view() is a row not yet handed out (the overlay merge
  // looked at it and handed out a pending row first).
  bool base_ready = false;
  // The transaction's pending rows this scan merges in (in key order), and
  // which of them it covers: one user (nullopt: every user) and a range.
  bool overlay = false;
  Pending::const_iterator next_pending, pending_end;
  std::optional<std::string> overlay_user;
  std::optional<Bound> overlay_lower, overlay_upper;

  // The current row: a view of the table layer's row, or a DOM (a point
  // read, a pending row of the transaction).
  enum class Source { kView, kDom } source = Source::kView;
  Row dom;
  // kView: each column's member text in the row's JSON (empty data(): the
  // member is absent), split once per row when a column is first read.
  bool fields_ready = false;
  bool fields_fallback = false;  // the text did not split: `dom` holds it
  std::vector<std::string_view> fields;

  bool eof = true;
  uint64_t limit = 0;  // 0: none
  uint64_t handed = 0;

  TableVtab& vtab() { return *static_cast<TableVtab*>(pVtab); }
  std::string_view user_id() const {
    return source == Source::kView ? rows->view().user_id
                                   : std::string_view(dom.user_id);
  }
  std::string_view row_id() const {
    return source == Source::kView ? rows->view().row_id
                                   : std::string_view(dom.row_id);
  }

  // Whether pending row `key` lies in what the scan covers.
  bool covers(const PendingKey& key) const {
    if (overlay_user && key.first != *overlay_user) return false;
    const KeyKind kind = static_cast<const TableVtab*>(pVtab)->key_kind;
    if (overlay_lower && overlay_lower->what == Bound::kValue) {
      const int c = compare_ids(kind, key.second, overlay_lower->id);
      if (c < 0 || (c == 0 && overlay_lower->exclusive)) return false;
    }
    if (overlay_upper && overlay_upper->what == Bound::kValue) {
      const int c = compare_ids(kind, key.second, overlay_upper->id);
      if (c > 0 || (c == 0 && overlay_upper->exclusive)) return false;
    }
    return true;
  }
};

int fail(TableVtab* vtab, const Status& status) {
  vtab->session->internals().table_error = status;
  set_error(vtab, status.message());
  return status.code() == Code::kInvalidArgument ||
                 status.code() == Code::kAlreadyExists
             ? SQLITE_CONSTRAINT
             : SQLITE_ERROR;
}

int table_connect(sqlite3* db, void* aux, int argc, const char* const* argv,
                  sqlite3_vtab** out, char** err) {
  auto* session = static_cast<Session*>(aux);
  if (argc < 3) return SQLITE_ERROR;
  const std::string ns = argv[1];
  const std::string name = argv[2];
  auto info = session->tables().catalog().describe_table(ns, name);
  if (!info.ok()) {
    *err = sqlite3_mprintf("%s", info.status().message().c_str());
    return SQLITE_ERROR;
  }
  auto vtab = std::make_unique<TableVtab>();
  vtab->session = session;
  vtab->info = std::move(*info);
  const tables::Schema& schema = vtab->info.schema;
  std::string ddl = "CREATE TABLE x(";
  if (vtab->user_table()) {
    vtab->user_column = 0;
    vtab->columns.push_back({.kind = ColumnInfo::kUser});
    ddl += "user_id TEXT, ";
  }
  for (const tables::Column& c : schema.columns) {
    if (c.name == schema.primary_key) {
      vtab->key_column = static_cast<int>(vtab->columns.size());
      vtab->key_kind =
          c.type == ColumnType::kInt64 ? KeyKind::kInt64 : KeyKind::kString;
    }
    vtab->columns.push_back({.kind = ColumnInfo::kData, .column = c});
    ddl += sql_quoted(c.name) + " " + sql_type(c.type) + ", ";
  }
  vtab->rowid_column = static_cast<int>(vtab->columns.size());
  vtab->columns.push_back({.kind = ColumnInfo::kRowId});
  for (size_t i = 0; i < vtab->columns.size(); ++i) {
    if (vtab->columns[i].kind == ColumnInfo::kData) {
      vtab->by_name.emplace_back(vtab->columns[i].column.name,
                                 static_cast<int>(i));
    }
  }
  std::sort(vtab->by_name.begin(), vtab->by_name.end());
  ddl += std::string(kRowIdColumn) + " TEXT HIDDEN)";
  if (vtab->key_column < 0) vtab->key_column = vtab->rowid_column;
  vtab->pending = decltype(vtab->pending)(PendingLess{vtab->key_kind});
  int rc = sqlite3_declare_vtab(db, ddl.c_str());
  if (rc != SQLITE_OK) {
    *err = sqlite3_mprintf("cannot declare %s.%s as a SQL table: %s (%s)",
                           ns.c_str(), name.c_str(), sqlite3_errmsg(db),
                           ddl.c_str());
    return rc;
  }
  sqlite3_vtab_config(db, SQLITE_VTAB_CONSTRAINT_SUPPORT, 1);
  session->internals().vtabs.insert(vtab.get());
  *out = vtab.release();
  return SQLITE_OK;
}

int table_disconnect(sqlite3_vtab* base) {
  auto* vtab = static_cast<TableVtab*>(base);
  vtab->session->internals().vtabs.erase(vtab);
  sqlite3_free(vtab->zErrMsg);
  delete vtab;
  return SQLITE_OK;
}

bool is_binary(sqlite3_index_info* index, int i) {
  const char* coll = sqlite3_vtab_collation(index, i);
  return coll == nullptr || sqlite3_stricmp(coll, "BINARY") == 0;
}

int table_best_index(sqlite3_vtab* base, sqlite3_index_info* index) {
  auto* vtab = static_cast<TableVtab*>(base);
  int user_eq = -1, key_eq = -1, lower = -1, upper = -1, limit = -1,
      offset = -1;
  int filters = 0;  // constraints other than LIMIT and OFFSET
  for (int i = 0; i < index->nConstraint; ++i) {
    const auto& c = index->aConstraint[i];
    if (c.op == SQLITE_INDEX_CONSTRAINT_LIMIT) {
      if (c.usable) limit = i;
      continue;
    }
    if (c.op == SQLITE_INDEX_CONSTRAINT_OFFSET) {
      if (c.usable) offset = i;
      continue;
    }
    ++filters;
    if (!c.usable) continue;
    // Isolation: user_id is consumed only by an administrator session.
    if (c.iColumn == vtab->user_column && vtab->admin() &&
        c.op == SQLITE_INDEX_CONSTRAINT_EQ && is_binary(index, i)) {
      user_eq = i;
      continue;
    }
    if (c.iColumn != vtab->key_column) continue;
    if (vtab->key_kind == KeyKind::kString && !is_binary(index, i)) continue;
    switch (c.op) {
      case SQLITE_INDEX_CONSTRAINT_EQ:
        key_eq = i;
        break;
      case SQLITE_INDEX_CONSTRAINT_GT:
      case SQLITE_INDEX_CONSTRAINT_GE:
        if (lower < 0) lower = i;
        break;
      case SQLITE_INDEX_CONSTRAINT_LT:
      case SQLITE_INDEX_CONSTRAINT_LE:
        if (upper < 0) upper = i;
        break;
      default:
        break;
    }
  }
  // The scan is one partition in key order unless an administrator reads a
  // user table without naming the user: then it is every user's rows, by
  // (user, key), and the key does not bound it.
  const bool one_partition =
      !vtab->user_table() || !vtab->admin() || user_eq >= 0;
  const bool stream = vtab->info.kind == TableKind::kStream;
  if (!one_partition) key_eq = lower = upper = -1;
  if (stream || key_eq >= 0) lower = upper = -1;  // streams: equality only

  int plan = 0;
  int argv = 1;
  std::string describe;
  auto use = [&](int i, int bit, const std::string& text) {
    index->aConstraintUsage[i].argvIndex = argv++;
    index->aConstraintUsage[i].omit = 0;  // SQLite checks again: cheap
    plan |= bit;
    if (!describe.empty()) describe += " AND ";
    describe += text;
  };
  const std::string key_name =
      vtab->key_column == vtab->rowid_column
          ? kRowIdColumn
          : vtab->columns[vtab->key_column].column.name;
  if (user_eq >= 0) use(user_eq, kUserEq, "user_id=?");
  if (key_eq >= 0) use(key_eq, kKeyEq, key_name + "=?");
  if (lower >= 0) {
    const bool gt = index->aConstraint[lower].op == SQLITE_INDEX_CONSTRAINT_GT;
    use(lower, kLower | (gt ? kLowerExclusive : 0),
        key_name + (gt ? ">?" : ">=?"));
  }
  if (upper >= 0) {
    const bool lt = index->aConstraint[upper].op == SQLITE_INDEX_CONSTRAINT_LT;
    use(upper, kUpper | (lt ? kUpperExclusive : 0),
        key_name + (lt ? "<?" : "<=?"));
  }

  // Rows come in key order (by user first for an every-user scan).
  bool ordered = index->nOrderBy > 0;
  for (int i = 0; i < index->nOrderBy && ordered; ++i) {
    const auto& o = index->aOrderBy[i];
    int expected = -1;
    if (one_partition) {
      expected = i == 0 ? vtab->key_column : -1;
    } else {
      expected = i == 0 ? vtab->user_column : i == 1 ? vtab->key_column : -1;
    }
    if (o.desc || o.iColumn != expected) ordered = false;
  }
  if (ordered) index->orderByConsumed = 1;

  // LIMIT (plus OFFSET) bounds the rows the scan reads when every row it
  // hands out is a result row: no filter left to SQLite, no sort after it.
  // (Otherwise the scan still stops when SQLite stops asking for rows.)
  if (limit >= 0 && filters == 0 && (index->nOrderBy == 0 || ordered)) {
    index->aConstraintUsage[limit].argvIndex = argv++;
    plan |= kLimit;
    if (offset >= 0) {
      index->aConstraintUsage[offset].argvIndex = argv++;
      plan |= kOffset;
    }
  }

  std::string how;
  if (key_eq >= 0) {
    how = "point read";
    index->estimatedCost = 10;
    index->estimatedRows = 1;
    index->idxFlags |= SQLITE_INDEX_SCAN_UNIQUE;
  } else if (lower >= 0 || upper >= 0) {
    how = "key range";
    index->estimatedCost = lower >= 0 && upper >= 0 ? 500 : 5000;
    index->estimatedRows = lower >= 0 && upper >= 0 ? 100 : 1000;
  } else if (user_eq >= 0) {
    how = "one user's rows";
    index->estimatedCost = 50000;
    index->estimatedRows = 10000;
  } else {
    how = vtab->user_table() && !vtab->admin() ? "the session user's rows"
          : vtab->user_table()                 ? "every user's rows"
                                               : "full scan";
    index->estimatedCost = 1e6;
    index->estimatedRows = 100000;
  }
  if (!describe.empty()) how += " " + describe;
  if (ordered) how += " (ORDER BY consumed)";
  if (plan & kLimit) how += " (LIMIT pushed)";
  index->idxNum = plan;
  index->idxStr = sqlite3_mprintf("%s", how.c_str());
  index->needToFreeIdxStr = 1;
  return SQLITE_OK;
}

int table_open(sqlite3_vtab* base, sqlite3_vtab_cursor** out) {
  auto cursor = std::make_unique<TableCursor>();
  *out = cursor.release();
  return SQLITE_OK;
}

int table_close(sqlite3_vtab_cursor* base) {
  delete static_cast<TableCursor*>(base);
  return SQLITE_OK;
}

// Makes the cursor's current row a row of the table layer's scan or a
// pending row of the transaction, whichever comes first in key order (a
// pending row replaces the stored row with its key; a pending delete hides
// it). false at the end of both.
StatusOr<bool> next_merged(TableCursor* cursor) {
  TableVtab& vtab = cursor->vtab();
  while (true) {
    if (!cursor->base_ready && cursor->rows) {
      if (cursor->rows->next_view()) {
        cursor->base_ready = true;
      } else {
        Status s = cursor->rows->status();
        cursor->rows.reset();
        KALAM_RETURN_IF_ERROR(s);
      }
    }
    if (cursor->overlay) {
      while (cursor->next_pending != cursor->pending_end &&
             !cursor->covers(cursor->next_pending->first)) {
        ++cursor->next_pending;
      }
    }
    const bool pending_left =
        cursor->overlay && cursor->next_pending != cursor->pending_end;
    if (!cursor->base_ready && !pending_left) return false;
    int order = -1;  // < 0: the stored row first
    if (!cursor->base_ready) {
      order = 1;
    } else if (pending_left) {
      const tables::RowView& v = cursor->rows->view();
      const PendingKey& p = cursor->next_pending->first;
      const int users = v.user_id.compare(p.first);
      order =
          users != 0 ? users : compare_ids(vtab.key_kind, v.row_id, p.second);
    }
    if (order < 0) {
      cursor->source = TableCursor::Source::kView;
      cursor->base_ready = false;  // handed out: the next call moves on
      return true;
    }
    if (order == 0) cursor->base_ready = false;  // replaced or deleted
    const auto& [key, row] = *cursor->next_pending;
    ++cursor->next_pending;
    if (!row) continue;  // deleted in the transaction
    cursor->source = TableCursor::Source::kDom;
    cursor->dom.user_id = key.first;
    cursor->dom.row_id = key.second;
    cursor->dom.data = *row;
    return true;
  }
}

// Moves the cursor to its next row.
int advance(TableCursor* cursor) {
  cursor->fields_ready = false;
  if (cursor->limit != 0 && cursor->handed >= cursor->limit) {
    cursor->rows.reset();  // LIMIT reached: the scan stops here
    cursor->overlay = false;
    cursor->eof = true;
    return SQLITE_OK;
  }
  StatusOr<bool> more = true;
  if (!cursor->overlay) {
    // No pending rows to merge: the table layer's rows as they come.
    if (cursor->rows && cursor->rows->next_view()) {
      cursor->source = TableCursor::Source::kView;
    } else {
      more = false;
      if (cursor->rows) {
        Status s = cursor->rows->status();
        cursor->rows.reset();
        if (!s.ok()) more = s;
      }
    }
  } else {
    more = next_merged(cursor);
  }
  if (!more.ok()) {
    cursor->eof = true;
    return fail(&cursor->vtab(), more.status());
  }
  cursor->eof = !*more;
  if (*more) {
    ++cursor->handed;
    ++cursor->vtab().session->mutable_stats().rows_read;
  }
  return SQLITE_OK;
}

int table_filter(sqlite3_vtab_cursor* base, int plan, const char* idx_str,
                 int argc, sqlite3_value** argv) {
  auto* cursor = static_cast<TableCursor*>(base);
  TableVtab& vtab = cursor->vtab();
  Session& session = *vtab.session;
  tables::Tables& t = session.tables();
  const TableInfo& info = vtab.info;
  cursor->rows.reset();
  cursor->base_ready = false;
  cursor->overlay = false;
  cursor->fields_ready = false;
  cursor->eof = true;
  cursor->handed = 0;
  cursor->limit = 0;
  int arg = 0;
  // The partition: in a user session always the session's user.
  std::optional<std::string> user;
  if (vtab.user_table()) {
    if (!vtab.admin()) {
      user = session.user().user_id();
    } else if (plan & kUserEq) {
      sqlite3_value* v = argv[arg++];
      if (sqlite3_value_type(v) == SQLITE_NULL) return SQLITE_OK;
      user = std::string(value_text(v));
      if (user->empty() || user->size() > tables::kMaxUserIdLength) {
        return SQLITE_OK;  // no such user can have rows
      }
    }
  }
  std::optional<Bound> eq, lower, upper;
  if (plan & kKeyEq) eq = key_bound(vtab.key_kind, argv[arg++], 0, false);
  if (plan & kLower) {
    lower = key_bound(vtab.key_kind, argv[arg++], -1, plan & kLowerExclusive);
  }
  if (plan & kUpper) {
    upper = key_bound(vtab.key_kind, argv[arg++], 1, plan & kUpperExclusive);
  }
  if (plan & kLimit) {
    const int64_t n = sqlite3_value_int64(argv[arg++]);
    const int64_t skip =
        (plan & kOffset)
            ? std::max<int64_t>(0, sqlite3_value_int64(argv[arg++]))
            : 0;
    if (n == 0) return SQLITE_OK;
    // A negative LIMIT is none.
    if (n > 0)
      cursor->limit = static_cast<uint64_t>(n) + static_cast<uint64_t>(skip);
  }
  (void)argc;
  (void)idx_str;
  if ((eq && eq->what == Bound::kEmpty) ||
      (lower && lower->what == Bound::kEmpty) ||
      (upper && upper->what == Bound::kEmpty)) {
    return SQLITE_OK;
  }
  ScanStats& stats = session.mutable_stats();
  if (eq && eq->what == Bound::kValue) {
    ++stats.point_reads;
    // The transaction's own write of the row, when there is one.
    auto mine = vtab.pending.find({user.value_or(""), eq->id});
    if (mine != vtab.pending.end()) {
      if (!mine->second) return SQLITE_OK;  // deleted in the transaction
      cursor->dom = Row{.user_id = mine->first.first,
                        .row_id = mine->first.second,
                        .data = *mine->second};
    } else {
      StatusOr<Row> row = info.kind == TableKind::kUser
                              ? t.user().get(info.ns, info.name, *user, eq->id)
                          : info.kind == TableKind::kShared
                              ? t.shared().get(info.ns, info.name, eq->id)
                              : t.stream().get(info.ns, info.name, eq->id);
      if (!row.ok()) {
        if (row.status().is_not_found() ||
            row.status().code() == Code::kInvalidArgument) {
          return SQLITE_OK;  // no such row (or no id of this form)
        }
        return fail(&vtab, row.status());
      }
      cursor->dom = std::move(*row);
    }
    cursor->source = TableCursor::Source::kDom;
    cursor->eof = false;
    cursor->handed = 1;
    ++stats.rows_read;
    return SQLITE_OK;
  }
  tables::RowIdRange range;
  bool ranged = false;
  if (lower && lower->what == Bound::kValue) {
    range.lower = lower->id;
    range.lower_inclusive = !lower->exclusive;
    ranged = true;
  }
  if (upper && upper->what == Bound::kValue) {
    range.upper = upper->id;
    range.upper_inclusive = !upper->exclusive;
    ranged = true;
  }
  StatusOr<tables::RowCursor> rows = Status::Internal("no scan chosen");
  switch (info.kind) {
    case TableKind::kUser:
      if (!user) {
        rows = t.user().iter_all(info.ns, info.name);
      } else if (ranged) {
        rows = t.user().iter_range(info.ns, info.name, *user, range);
      } else {
        rows = t.user().iter(info.ns, info.name, *user);
      }
      break;
    case TableKind::kShared:
      rows = ranged ? t.shared().iter_range(info.ns, info.name, range)
                    : t.shared().iter(info.ns, info.name);
      break;
    case TableKind::kStream:
      rows = t.stream().iter(info.ns, info.name);
      break;
  }
  if (!rows.ok()) return fail(&vtab, rows.status());
  ++(ranged ? stats.range_scans : stats.full_scans);
  cursor->rows.emplace(std::move(*rows));
  if (cursor->limit != 0 && cursor->limit < 256) {
    cursor->rows->set_batch_size(cursor->limit);
  }
  if (!vtab.pending.empty()) {
    // The transaction's own writes, merged in key order.
    cursor->overlay = true;
    cursor->overlay_user = user;
    cursor->overlay_lower = lower;
    cursor->overlay_upper = upper;
    // The user's first pending row (the smallest id of the key kind).
    const std::string smallest =
        vtab.key_kind == KeyKind::kInt64
            ? std::to_string(std::numeric_limits<int64_t>::min())
            : std::string();
    cursor->next_pending = user ? vtab.pending.lower_bound({*user, smallest})
                                : vtab.pending.begin();
    cursor->pending_end = vtab.pending.end();
  }
  return advance(cursor);
}

int table_next(sqlite3_vtab_cursor* base) {
  auto* cursor = static_cast<TableCursor*>(base);
  if (!cursor->rows && !cursor->overlay) {
    cursor->eof = true;
    return SQLITE_OK;
  }
  return advance(cursor);
}

int table_eof(sqlite3_vtab_cursor* base) {
  return static_cast<TableCursor*>(base)->eof ? 1 : 0;
}

// Splits the current view's JSON object text into its members, by column
// (cursor->fields). false when the text is not what the table layer stores
// (then the caller parses it whole).
bool split_fields(TableCursor* cursor) {
  const TableVtab& vtab = cursor->vtab();
  const std::string_view text = cursor->rows->view().json;
  cursor->fields.assign(vtab.columns.size(), std::string_view());
  size_t i = skip_space(text, 0);
  if (i >= text.size() || text[i] != '{') return false;
  i = skip_space(text, i + 1);
  if (i < text.size() && text[i] == '}') return true;
  while (i < text.size()) {
    if (text[i] != '"') return false;
    const size_t key_end = text.find('"', i + 1);
    if (key_end == std::string_view::npos) return false;
    const std::string_view key = text.substr(i + 1, key_end - i - 1);
    if (key.find('\\') != std::string_view::npos) return false;  // escaped
    i = skip_space(text, key_end + 1);
    if (i >= text.size() || text[i] != ':') return false;
    i = skip_space(text, i + 1);
    const size_t end = json_value_end(text, i);
    if (end == std::string_view::npos) return false;
    auto at = std::lower_bound(
        vtab.by_name.begin(), vtab.by_name.end(), key,
        [](const std::pair<std::string, int>& c, std::string_view k) {
          return std::string_view(c.first) < k;
        });
    if (at != vtab.by_name.end() && at->first == key) {
      cursor->fields[static_cast<size_t>(at->second)] = text.substr(i, end - i);
    }
    i = skip_space(text, end);
    if (i < text.size() && text[i] == '}') return true;
    if (i >= text.size() || text[i] != ',') return false;
    i = skip_space(text, i + 1);
  }
  return false;
}

// Hands one member's JSON text of a column of `type` to SQLite without
// building a DOM; anything out of the ordinary is parsed and handed as
// result_json() does.
void result_member(sqlite3_context* ctx, std::string_view v, ColumnType type) {
  auto parsed = [&] {
    json value = json::parse(v, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) {
      sqlite3_result_error(ctx, "a stored row is not valid JSON", -1);
      return;
    }
    result_json(ctx, value, type);
  };
  if (v.data() == nullptr || v == "null") {
    sqlite3_result_null(ctx);
    return;
  }
  const char first = v.front();
  if (type == ColumnType::kJson) {
    // The stored text is the canonical dump: a member's text is its dump.
    sqlite3_result_text(ctx, v.data(), static_cast<int>(v.size()),
                        SQLITE_TRANSIENT);
    return;
  }
  if (first == '"') {
    const std::string_view inner = v.substr(1, v.size() - 2);
    if (v.size() < 2 || inner.find('\\') != std::string_view::npos) {
      parsed();  // escapes: let the parser undo them
      return;
    }
    if (type == ColumnType::kBytes) {
      result_base64_blob(ctx, inner);
      return;
    }
    sqlite3_result_text(ctx, inner.data(), static_cast<int>(inner.size()),
                        SQLITE_TRANSIENT);
    return;
  }
  if (v == "true" || v == "false") {
    sqlite3_result_int(ctx, v == "true" ? 1 : 0);
    return;
  }
  if (first == '-' || (first >= '0' && first <= '9')) {
    const char* begin = v.data();
    const char* end = v.data() + v.size();
    if (v.find_first_of(".eE") == std::string_view::npos) {
      int64_t i = 0;
      auto [at, ec] = std::from_chars(begin, end, i);
      if (ec == std::errc() && at == end) {
        sqlite3_result_int64(ctx, i);
        return;
      }
    } else {
      double d = 0;
      auto [at, ec] = std::from_chars(begin, end, d);
      if (ec == std::errc() && at == end) {
        sqlite3_result_double(ctx, d);
        return;
      }
    }
  }
  parsed();
}

int table_column(sqlite3_vtab_cursor* base, sqlite3_context* ctx, int i) {
  auto* cursor = static_cast<TableCursor*>(base);
  const ColumnInfo& column = cursor->vtab().columns[i];
  switch (column.kind) {
    case ColumnInfo::kUser: {
      const std::string_view user = cursor->user_id();
      sqlite3_result_text(ctx, user.data(), static_cast<int>(user.size()),
                          SQLITE_TRANSIENT);
      return SQLITE_OK;
    }
    case ColumnInfo::kRowId: {
      const std::string_view id = cursor->row_id();
      sqlite3_result_text(ctx, id.data(), static_cast<int>(id.size()),
                          SQLITE_TRANSIENT);
      return SQLITE_OK;
    }
    case ColumnInfo::kData:
      break;
  }
  if (cursor->source == TableCursor::Source::kView) {
    if (!cursor->fields_ready) {
      cursor->fields_ready = true;
      cursor->fields_fallback = !split_fields(cursor);
      if (cursor->fields_fallback) {
        auto data = cursor->rows->view().data();
        if (!data.ok()) {
          return fail(&cursor->vtab(), data.status());
        }
        cursor->dom.data = std::move(*data);
      }
    }
    if (!cursor->fields_fallback) {
      result_member(ctx, cursor->fields[static_cast<size_t>(i)],
                    column.column.type);
      return SQLITE_OK;
    }
  }
  const json& data = cursor->dom.data;
  auto it = data.find(column.column.name);
  if (it == data.end()) {
    sqlite3_result_null(ctx);
  } else {
    result_json(ctx, *it, column.column.type);
  }
  return SQLITE_OK;
}

int table_rowid(sqlite3_vtab_cursor* base, sqlite3_int64* rowid) {
  auto* cursor = static_cast<TableCursor*>(base);
  *rowid = cursor->vtab().handle(std::string(cursor->user_id()),
                                 std::string(cursor->row_id()));
  return SQLITE_OK;
}

// --- Writes ------------------------------------------------------------------

// The (user, row id) a rowid handed out by this session stands for.
StatusOr<std::pair<std::string, std::string>> row_of(TableVtab& vtab,
                                                     sqlite3_value* rowid) {
  const int64_t h = sqlite3_value_int64(rowid);
  if (h < 1 || static_cast<uint64_t>(h) > vtab.handles.size()) {
    return Status::InvalidArgument(
        "rowid " + std::to_string(h) + " of " + vtab.info.qualified_name() +
        " was not read by this statement; rows are addressed by the columns "
        "of their key, not by rowid");
  }
  return vtab.handles[static_cast<size_t>(h - 1)];
}

// The row a statement writes (argv[2...] of xUpdate) as the table layer's
// JSON, and the user it is for.
StatusOr<std::pair<std::string, json>> new_row(TableVtab& vtab,
                                               sqlite3_value** argv,
                                               const std::string& old_id) {
  Session& session = *vtab.session;
  std::string user;
  json row = json::object();
  for (size_t i = 0; i < vtab.columns.size(); ++i) {
    sqlite3_value* v = argv[2 + i];
    const ColumnInfo& c = vtab.columns[i];
    switch (c.kind) {
      case ColumnInfo::kUser: {
        const bool null = sqlite3_value_type(v) == SQLITE_NULL;
        if (!vtab.admin()) {
          const std::string& self = session.user().user_id();
          if (!null && value_text(v) != self) {
            return Status::InvalidArgument(
                "user_id '" + std::string(value_text(v)) +
                "': a session of user '" + self +
                "' writes only its own rows; leave user_id out (or NULL)");
          }
          user = self;
        } else {
          if (null) {
            return Status::InvalidArgument(
                vtab.info.qualified_name() +
                " is a user table: an administrator session names the user "
                "of every row it writes (user_id)");
          }
          user = std::string(value_text(v));
        }
        break;
      }
      case ColumnInfo::kRowId: {
        if (sqlite3_value_type(v) != SQLITE_NULL && value_text(v) != old_id) {
          return Status::InvalidArgument(
              std::string(kRowIdColumn) +
              " is the row's id, given by the table layer; it cannot be "
              "set");
        }
        break;
      }
      case ColumnInfo::kData: {
        KALAM_ASSIGN_OR_RETURN(json value, to_json(v, c.column));
        // Absent: a nullable column left out is null either way.
        if (!value.is_null()) row[c.column.name] = std::move(value);
        break;
      }
    }
  }
  return std::make_pair(std::move(user), std::move(row));
}

// INSERT's uniqueness: what to do when (user, id) already exists.
// Returns true to write, false to skip the row (OR IGNORE).
StatusOr<bool> check_conflict(TableVtab& vtab, sqlite3* db,
                              const std::string& user, const std::string& id) {
  KALAM_ASSIGN_OR_RETURN(bool exists, vtab.exists(user, id));
  if (!exists) return true;
  switch (sqlite3_vtab_on_conflict(db)) {
    case SQLITE_REPLACE:
      return true;
    case SQLITE_IGNORE:
      return false;
    default:
      return Status::AlreadyExists(
          "UNIQUE constraint failed: " + vtab.info.qualified_name() + "." +
          vtab.info.schema.primary_key + " (a row with key '" + id +
          "' exists" + (vtab.user_table() ? " for user '" + user + "'" : "") +
          "); use INSERT OR REPLACE to overwrite it");
  }
}

int table_update(sqlite3_vtab* base, int argc, sqlite3_value** argv,
                 sqlite3_int64* rowid_out) {
  auto* vtab = static_cast<TableVtab*>(base);
  const TableInfo& info = vtab->info;
  const bool has_pk = !info.schema.primary_key.empty();
  const bool is_insert = argc > 1 && sqlite3_value_type(argv[0]) == SQLITE_NULL;
  if (info.kind == TableKind::kStream && !is_insert) {
    return fail(vtab, Status::InvalidArgument(
                          info.qualified_name() +
                          " is a stream table: events are appended (INSERT) "
                          "and expire; they are not updated or deleted"));
  }
  auto push_delete = [&](const std::string& user, const std::string& id) {
    vtab->changes.push_back({.op = RowChange::Op::kDelete,
                             .ns = info.ns,
                             .table = info.name,
                             .user_id = user,
                             .row_id = id});
    vtab->pending[{user, id}] = std::nullopt;
  };
  // `insert`: the row must not exist when the batch is applied (a plain
  // INSERT): checked there atomically with the write (RowChange::if_absent),
  // so two sessions inserting the same key cannot both succeed.
  auto push_put = [&](const std::string& user, json row, const std::string& id,
                      bool insert) {
    // A row this transaction deleted first is known to exist in the store:
    // writing it again is a replacement, not an insert.
    const bool replaces_own = vtab->pending.count({user, id}) != 0;
    vtab->pending[{user, id}] = row;
    vtab->changes.push_back({.op = RowChange::Op::kPut,
                             .ns = info.ns,
                             .table = info.name,
                             .user_id = user,
                             .row = std::move(row),
                             .row_id = has_pk ? std::string() : id,
                             .if_absent = insert && has_pk && !replaces_own});
  };

  if (argc == 1) {  // DELETE
    auto target = row_of(*vtab, argv[0]);
    if (!target.ok()) return fail(vtab, target.status());
    push_delete(target->first, target->second);
    return SQLITE_OK;
  }
  std::string old_user, old_id;
  if (!is_insert) {
    if (sqlite3_value_int64(argv[0]) != sqlite3_value_int64(argv[1])) {
      return fail(vtab, Status::InvalidArgument("the rowid of a row of " +
                                                info.qualified_name() +
                                                " cannot be changed"));
    }
    auto target = row_of(*vtab, argv[0]);
    if (!target.ok()) return fail(vtab, target.status());
    old_user = target->first;
    old_id = target->second;
  }
  auto written = new_row(*vtab, argv, old_id);
  if (!written.ok()) return fail(vtab, written.status());
  auto& [user, row] = *written;
  const std::string what =
      std::string(is_insert ? "insert into " : "update ") +
      info.qualified_name() +
      (vtab->user_table() ? " for user '" + user + "'" : "");
  auto canonical = info.schema.validate_row(row);
  if (!canonical.ok()) return fail(vtab, canonical.status().with_context(what));
  if (vtab->user_table()) {
    if (user.empty() || user.size() > tables::kMaxUserIdLength) {
      return fail(vtab,
                  Status::InvalidArgument(
                      what + ": a user id is 1 to " +
                      std::to_string(tables::kMaxUserIdLength) + " bytes"));
    }
  }
  if (info.kind == TableKind::kStream) {
    // An append, under an id drawn now: later statements of the
    // transaction read the event by it; it is newer than every stored one.
    const std::string id = tables::new_row_id();
    *rowid_out = vtab->handle("", id);
    push_put("", std::move(*canonical), id, false);
    return SQLITE_OK;
  }
  // A table without a primary key: a new row's id is drawn now.
  const std::string id = has_pk      ? vtab->row_id_of(*canonical)
                         : is_insert ? tables::new_row_id()
                                     : old_id;
  sqlite3* conn = vtab->session->internals().db;
  if (is_insert) {
    if (has_pk) {
      auto write = check_conflict(*vtab, conn, user, id);
      if (!write.ok()) return fail(vtab, write.status().with_context(what));
      if (!*write) return SQLITE_OK;
    }
    *rowid_out = vtab->handle(user, id);
    push_put(user, std::move(*canonical), id,
             sqlite3_vtab_on_conflict(conn) != SQLITE_REPLACE);
    return SQLITE_OK;
  }
  // UPDATE: in place, or (a new key or owner) a delete and a put.
  if (user == old_user && id == old_id) {
    push_put(user, std::move(*canonical), id, false);
    return SQLITE_OK;
  }
  auto write = check_conflict(*vtab, conn, user, id);
  if (!write.ok()) return fail(vtab, write.status().with_context(what));
  push_delete(old_user, old_id);
  if (*write) {
    push_put(user, std::move(*canonical), id,
             sqlite3_vtab_on_conflict(conn) != SQLITE_REPLACE);
  }
  return SQLITE_OK;
}

int table_begin(sqlite3_vtab*) { return SQLITE_OK; }

int table_sync(sqlite3_vtab* base) {
  auto* vtab = static_cast<TableVtab*>(base);
  Status s = apply_pending(*vtab->session);
  if (!s.ok()) return fail(vtab, s);
  return SQLITE_OK;
}

void clear_pending(TableVtab* vtab) {
  vtab->changes.clear();
  vtab->savepoints.clear();
  vtab->pending.clear();
}

int table_commit(sqlite3_vtab* base) {
  clear_pending(static_cast<TableVtab*>(base));
  return SQLITE_OK;
}

int table_rollback(sqlite3_vtab* base) {
  clear_pending(static_cast<TableVtab*>(base));
  return SQLITE_OK;
}

int table_savepoint(sqlite3_vtab* base, int level) {
  auto* vtab = static_cast<TableVtab*>(base);
  const size_t now = vtab->changes.size();
  vtab->savepoints.resize(static_cast<size_t>(level) + 1, now);
  vtab->savepoints[static_cast<size_t>(level)] = now;
  return SQLITE_OK;
}

int table_release(sqlite3_vtab* base, int level) {
  auto* vtab = static_cast<TableVtab*>(base);
  if (static_cast<size_t>(level) < vtab->savepoints.size()) {
    vtab->savepoints.resize(static_cast<size_t>(level));
  }
  return SQLITE_OK;
}

int table_rollback_to(sqlite3_vtab* base, int level) {
  auto* vtab = static_cast<TableVtab*>(base);
  if (static_cast<size_t>(level) < vtab->savepoints.size()) {
    const size_t changes = vtab->savepoints[static_cast<size_t>(level)];
    vtab->changes.resize(std::min(changes, vtab->changes.size()));
    vtab->savepoints.resize(static_cast<size_t>(level) + 1);
    vtab->rebuild_pending();
  }
  return SQLITE_OK;
}

sqlite3_module table_module = {
    /* iVersion */ 2,
    /* xCreate */ table_connect,
    /* xConnect */ table_connect,
    /* xBestIndex */ table_best_index,
    /* xDisconnect */ table_disconnect,
    /* xDestroy */ table_disconnect,
    /* xOpen */ table_open,
    /* xClose */ table_close,
    /* xFilter */ table_filter,
    /* xNext */ table_next,
    /* xEof */ table_eof,
    /* xColumn */ table_column,
    /* xRowid */ table_rowid,
    /* xUpdate */ table_update,
    /* xBegin */ table_begin,
    /* xSync */ table_sync,
    /* xCommit */ table_commit,
    /* xRollback */ table_rollback,
    /* xFindFunction */ nullptr,
    /* xRename */ nullptr,
    /* xSavepoint */ table_savepoint,
    /* xRelease */ table_release,
    /* xRollbackTo */ table_rollback_to,
    /* xShadowName */ nullptr,
};

// --- The system tables -------------------------------------------------------

class SystemVtab : public sqlite3_vtab {
 public:
  Session* session = nullptr;
  std::string name;
};

class SystemCursor : public sqlite3_vtab_cursor {
 public:
  std::vector<std::vector<Value>> rows;
  size_t at = 0;
};

const char* system_ddl(std::string_view name) {
  if (name == "namespaces") {
    return "CREATE TABLE x(name TEXT, created_at INTEGER)";
  }
  if (name == "tables") {
    return "CREATE TABLE x(id INTEGER, namespace TEXT, name TEXT, kind TEXT, "
           "primary_key TEXT, columns TEXT, options TEXT, created_at INTEGER)";
  }
  if (name == "columns") {
    return "CREATE TABLE x(namespace TEXT, table_name TEXT, name TEXT, "
           "type TEXT, sql_type TEXT, nullable INTEGER, primary_key INTEGER, "
           "position INTEGER)";
  }
  return nullptr;
}

int system_connect(sqlite3* db, void* aux, int argc, const char* const* argv,
                   sqlite3_vtab** out, char** err) {
  if (argc < 3) return SQLITE_ERROR;
  const char* ddl = system_ddl(argv[2]);
  if (ddl == nullptr) {
    *err = sqlite3_mprintf("no system table '%s'", argv[2]);
    return SQLITE_ERROR;
  }
  int rc = sqlite3_declare_vtab(db, ddl);
  if (rc != SQLITE_OK) return rc;
  auto vtab = std::make_unique<SystemVtab>();
  vtab->session = static_cast<Session*>(aux);
  vtab->name = argv[2];
  *out = vtab.release();
  return SQLITE_OK;
}

int system_disconnect(sqlite3_vtab* base) {
  sqlite3_free(base->zErrMsg);
  delete static_cast<SystemVtab*>(base);
  return SQLITE_OK;
}

int system_best_index(sqlite3_vtab*, sqlite3_index_info* index) {
  index->estimatedCost = 100;
  index->estimatedRows = 100;
  return SQLITE_OK;
}

int system_open(sqlite3_vtab*, sqlite3_vtab_cursor** out) {
  *out = new SystemCursor();
  return SQLITE_OK;
}

int system_close(sqlite3_vtab_cursor* base) {
  delete static_cast<SystemCursor*>(base);
  return SQLITE_OK;
}

// The system table's rows, from the catalog (a handful: read whole).
StatusOr<std::vector<std::vector<Value>>> system_rows(Session& session,
                                                      const std::string& name) {
  tables::Catalog& catalog = session.tables().catalog();
  std::vector<std::vector<Value>> rows;
  KALAM_ASSIGN_OR_RETURN(auto namespaces, catalog.list_namespaces());
  if (name == "namespaces") {
    for (const auto& ns : namespaces) {
      rows.push_back({ns.name, ns.created_at_ms});
    }
    return rows;
  }
  for (const auto& ns : namespaces) {
    auto listed = catalog.list_tables(ns.name);
    if (!listed.ok()) {
      if (listed.status().is_not_found()) continue;  // dropped meanwhile
      return listed.status();
    }
    for (const TableInfo& t : *listed) {
      if (name == "tables") {
        rows.push_back({static_cast<int64_t>(t.id), t.ns, t.name,
                        std::string(tables::table_kind_name(t.kind)),
                        t.schema.primary_key.empty()
                            ? Value()
                            : Value(t.schema.primary_key),
                        t.schema.to_json()["columns"].dump(),
                        t.options.to_json().dump(), t.created_at_ms});
        continue;
      }
      int64_t position = 0;
      for (const tables::Column& c : t.schema.columns) {
        rows.push_back(
            {t.ns, t.name, c.name,
             std::string(tables::column_type_name(c.type)),
             std::string(sql_type(c.type)), int64_t{c.nullable ? 1 : 0},
             int64_t{c.name == t.schema.primary_key ? 1 : 0}, position++});
      }
    }
  }
  return rows;
}

int system_filter(sqlite3_vtab_cursor* base, int, const char*, int,
                  sqlite3_value**) {
  auto* cursor = static_cast<SystemCursor*>(base);
  auto* vtab = static_cast<SystemVtab*>(cursor->pVtab);
  auto rows = system_rows(*vtab->session, vtab->name);
  cursor->at = 0;
  cursor->rows.clear();
  if (!rows.ok()) {
    vtab->session->internals().table_error = rows.status();
    set_error(vtab, rows.status().message());
    return SQLITE_ERROR;
  }
  cursor->rows = std::move(*rows);
  vtab->session->mutable_stats().rows_read += cursor->rows.size();
  return SQLITE_OK;
}

int system_next(sqlite3_vtab_cursor* base) {
  ++static_cast<SystemCursor*>(base)->at;
  return SQLITE_OK;
}

int system_eof(sqlite3_vtab_cursor* base) {
  auto* cursor = static_cast<SystemCursor*>(base);
  return cursor->at >= cursor->rows.size() ? 1 : 0;
}

int system_column(sqlite3_vtab_cursor* base, sqlite3_context* ctx, int i) {
  auto* cursor = static_cast<SystemCursor*>(base);
  const Value& v = cursor->rows[cursor->at][static_cast<size_t>(i)];
  switch (type_of(v)) {
    case ValueType::kNull:
      sqlite3_result_null(ctx);
      break;
    case ValueType::kInteger:
      sqlite3_result_int64(ctx, std::get<int64_t>(v));
      break;
    case ValueType::kReal:
      sqlite3_result_double(ctx, std::get<double>(v));
      break;
    case ValueType::kText: {
      const std::string& s = std::get<std::string>(v);
      sqlite3_result_text(ctx, s.data(), static_cast<int>(s.size()),
                          SQLITE_TRANSIENT);
      break;
    }
    case ValueType::kBlob: {
      const std::string& s = std::get<Blob>(v).bytes;
      sqlite3_result_blob(ctx, s.data(), static_cast<int>(s.size()),
                          SQLITE_TRANSIENT);
      break;
    }
  }
  return SQLITE_OK;
}

int system_rowid(sqlite3_vtab_cursor* base, sqlite3_int64* rowid) {
  *rowid = static_cast<sqlite3_int64>(static_cast<SystemCursor*>(base)->at);
  return SQLITE_OK;
}

sqlite3_module system_module = {
    /* iVersion */ 1,
    /* xCreate */ system_connect,
    /* xConnect */ system_connect,
    /* xBestIndex */ system_best_index,
    /* xDisconnect */ system_disconnect,
    /* xDestroy */ system_disconnect,
    /* xOpen */ system_open,
    /* xClose */ system_close,
    /* xFilter */ system_filter,
    /* xNext */ system_next,
    /* xEof */ system_eof,
    /* xColumn */ system_column,
    /* xRowid */ system_rowid,
    /* xUpdate: read-only */ nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
};

}  // namespace

int register_modules(sqlite3* db, Session* session) {
  int rc =
      sqlite3_create_module_v2(db, "kalam", &table_module, session, nullptr);
  if (rc != SQLITE_OK) return rc;
  return sqlite3_create_module_v2(db, "kalam_system", &system_module, session,
                                  nullptr);
}

Status apply_pending(Session& session) {
  // Every table's changes (stream appends included) in one atomic batch.
  std::vector<RowChange> changes;
  for (TableVtab* vtab : session.internals().vtabs) {
    for (RowChange& c : vtab->changes) changes.push_back(std::move(c));
    vtab->changes.clear();
  }
  if (changes.empty()) return Status::OK();
  return session.tables().apply(changes).status();
}

void clear_handles(Session& session) {
  for (TableVtab* vtab : session.internals().vtabs) {
    vtab->handles.clear();
    vtab->handle_of.clear();
  }
}

}  // namespace kalam::sql::detail
