// The catalog. This file is the only code that knows the key layout of the
// `kalam.system` column family:
//
//   "m:layout"               "1": the layout version of everything here
//   "m:next_table_id"        8-byte BE: the id the next table gets (from 1)
//   "n" esc(ns)              a system.namespaces row (NamespaceInfo JSON)
//   "t" esc(ns) esc(table)   a system.tables row (TableInfo JSON)
//
// esc() is the table layer's prefix-free escape (key_codec.h), so "t" esc(ns)
// is exactly the prefix of the tables of `ns`.
#include <kalam/tables/catalog.h>
#include <kalam/tables/json_input.h>

#include <algorithm>

#include "context.h"
#include "key_codec.h"

namespace kalam::tables {

using detail::kConditionalWriteAttempts;
using detail::TablesContext;
using nlohmann::json;

namespace {

constexpr std::string_view kLayoutKey = "m:layout";
constexpr std::string_view kLayoutVersion = "1";
constexpr std::string_view kNextTableIdKey = "m:next_table_id";
constexpr char kNamespaceTag = 'n';
constexpr char kTableTag = 't';

constexpr std::string_view kNamespacesTable = "namespaces";
constexpr std::string_view kTablesTable = "tables";

const WriteOptions kDurable{.sync = true};

std::string namespace_key(std::string_view ns) {
  std::string key(1, kNamespaceTag);
  keys::append_escaped(key, ns);
  return key;
}

std::string tables_prefix(std::string_view ns) {
  std::string key(1, kTableTag);
  keys::append_escaped(key, ns);
  return key;
}

std::string table_key(std::string_view ns, std::string_view table) {
  std::string key = tables_prefix(ns);
  keys::append_escaped(key, table);
  return key;
}

std::string qualified(std::string_view ns, std::string_view table) {
  return std::string(ns) + "." + std::string(table);
}

Status reserved(std::string_view what) {
  return Status::InvalidArgument(
      std::string(what) +
      ": namespace 'system' is reserved for the catalog's "
      "own read-only tables");
}

// A stored catalog row as JSON: CORRUPTION naming the row (`what`) when it
// is not valid JSON or nests deeper than a row may.
StatusOr<json> parse_catalog_row(std::string_view text, std::string_view what) {
  StatusOr<json> j = parse_json(text);
  if (!j.ok()) {
    return Status::Corruption(std::string(what) + " is not valid JSON (" +
                              j.status().message() + ")");
  }
  return j;
}

StatusOr<std::string> dump_json(const json& j) {
  try {
    return j.dump();
  } catch (const json::exception& e) {
    return Status::InvalidArgument(std::string("cannot encode as JSON: ") +
                                   e.what());
  }
}

// The virtual descriptions of the system tables.
const TableInfo& system_namespaces_info() {
  static const TableInfo info{
      .id = 0,
      .ns = std::string(kSystemNamespace),
      .name = std::string(kNamespacesTable),
      .kind = TableKind::kShared,
      .schema = {.columns = {{"name", ColumnType::kString, false},
                             {"created_at", ColumnType::kTimestamp, false}},
                 .primary_key = "name"}};
  return info;
}

const TableInfo& system_tables_info() {
  static const TableInfo info{
      .id = 0,
      .ns = std::string(kSystemNamespace),
      .name = std::string(kTablesTable),
      .kind = TableKind::kShared,
      .schema = {.columns = {{"id", ColumnType::kInt64, false},
                             {"namespace", ColumnType::kString, false},
                             {"name", ColumnType::kString, false},
                             {"kind", ColumnType::kString, false},
                             {"columns", ColumnType::kJson, false},
                             {"primary_key", ColumnType::kString, true},
                             {"options", ColumnType::kJson, false},
                             {"created_at", ColumnType::kTimestamp, false}}}};
  return info;
}

// Reads the whole [lower, upper) range of `cf` through one iterator.
Status for_each_in_range(
    Database& db, const ColumnFamily& cf, std::string lower, std::string upper,
    const std::function<Status(std::string_view, std::string_view)>& visit) {
  IteratorOptions options;
  options.lower = std::move(lower);
  options.upper = std::move(upper);
  KALAM_ASSIGN_OR_RETURN(Iterator it, db.new_iterator(cf, options));
  for (it.seek_to_first(); it.valid(); it.next()) {
    KALAM_RETURN_IF_ERROR(visit(it.key(), it.value()));
  }
  return it.status();
}

StatusOr<TableInfo> decode_table_row(std::string_view key,
                                     std::string_view value) {
  KALAM_ASSIGN_OR_RETURN(
      json j, parse_catalog_row(
                  value, "system.tables row '" + keys::printable(key) + "'"));
  return TableInfo::from_json(j);
}

}  // namespace

// --- NamespaceInfo -----------------------------------------------------------

json NamespaceInfo::to_json() const {
  return {{"name", name}, {"created_at", created_at_ms}};
}

StatusOr<NamespaceInfo> NamespaceInfo::from_json(const json& j) {
  auto name = j.is_object() ? j.find("name") : j.end();
  auto created = j.is_object() ? j.find("created_at") : j.end();
  if (!j.is_object() || name == j.end() || !name->is_string() ||
      created == j.end() || !created->is_number_integer()) {
    return Status::Corruption(
        "malformed system.namespaces row: expected {\"name\": string, "
        "\"created_at\": integer}");
  }
  return NamespaceInfo{name->get<std::string>(), created->get<int64_t>()};
}

// --- Catalog -----------------------------------------------------------------

Catalog::Catalog(std::shared_ptr<TablesContext> context)
    : context_(std::move(context)) {}

Catalog::~Catalog() = default;

Database& Catalog::database() const { return *context_->db; }

StatusOr<std::unique_ptr<Catalog>> Catalog::open(Database& db,
                                                 const TablesOptions& options) {
  if (!db.plugin().has(KALAM_CAP_ATOMIC_BATCH)) {
    return Status::NotSupported(
        "the table layer needs atomic batches (catalog changes and row "
        "writes are all-or-nothing), and backend '" +
        db.plugin().name() + "' does not declare atomic_batch");
  }
  if (!db.plugin().has(KALAM_CAP_SNAPSHOTS)) {
    // Scans read the hot store through one iterator and then the cold
    // segments, and a flush deletes hot rows once they are cold: that is
    // only correct if the iterator sees the hot rows as of its creation,
    // which the ABI promises with snapshots alone. Without, a scan racing
    // a flush misses rows and shows rows deleted before it began.
    return Status::NotSupported(
        "the table layer needs snapshots (a scan must see the hot rows as "
        "of its start while a flush moves them to cold storage), and "
        "backend '" +
        db.plugin().name() +
        "' does not declare snapshots (KALAM_CAP_SNAPSHOTS); use a backend "
        "that does (kalam plugins lists each backend's capabilities)");
  }
  if (db.plugin().is_shared() &&
      !db.plugin().has(KALAM_CAP_CONDITIONAL_WRITE)) {
    // Other processes write the store, so the in-process locks do not
    // make update(), catalog changes and flushes correct; the conditional
    // writes that do cannot be checked without the backend.
    return Status::NotSupported(
        "the table layer needs conditional writes on a store other "
        "processes write too, and backend '" +
        db.plugin().name() +
        "' declares shared (or multi_process) without conditional_write "
        "(KALAM_CAP_CONDITIONAL_WRITE): update() and catalog changes could "
        "lose another process's writes; use a backend that declares "
        "conditional_write");
  }
  auto family = [&db](std::string_view name) -> StatusOr<ColumnFamily> {
    auto existing = db.column_family(name, /*create_if_missing=*/false);
    if (existing.ok() || !existing.status().is_not_found()) return existing;
    return db.column_family(name, /*create_if_missing=*/true);
  };
  auto context = std::make_shared<TablesContext>();
  context->db = &db;
  KALAM_ASSIGN_OR_RETURN(context->system, family(kSystemFamily));
  KALAM_ASSIGN_OR_RETURN(context->data, family(kTablesFamily));
  context->locks = detail::locks_for(db);
  context->cold = options.cold_store != nullptr
                      ? options.cold_store
                      : json_lines_cold_store(options.cold_path.empty()
                                                  ? db.path() / "cold"
                                                  : options.cold_path);
  context->max_cold_segments = options.max_cold_segments;

  std::lock_guard ddl(context->locks->ddl);
  auto layout = db.get(context->system, kLayoutKey);
  if (layout.status().is_not_found()) {
    // A new catalog: cold segments from before belong to tables it does
    // not know, and table ids start again at 1.
    KALAM_ASSIGN_OR_RETURN(bool cold_empty, context->cold->empty());
    if (!cold_empty) {
      if (db.plugin().has(KALAM_CAP_PERSISTENT)) {
        return Status::InvalidArgument(
            "the table catalog in " + db.path().string() +
            " is new, but its cold storage already holds segments of "
            "tables it does not know (their hot rows are gone); move the "
            "cold storage (by default <data dir>/cold) away first");
      }
      KALAM_RETURN_IF_ERROR(context->cold->clear());
    }
    KALAM_RETURN_IF_ERROR(
        db.put(context->system, kLayoutKey, kLayoutVersion, kDurable));
  } else if (!layout.ok()) {
    return layout.status();
  } else if (*layout != kLayoutVersion) {
    return Status::NotSupported(
        "the table catalog in " + db.path().string() + " has layout version '" +
        keys::printable(*layout) + "'; this engine reads version " +
        std::string(kLayoutVersion) + " (use a newer Kalam)");
  }
  return std::unique_ptr<Catalog>(new Catalog(std::move(context)));
}

// --- Namespaces --------------------------------------------------------------

Status Catalog::create_namespace(std::string_view ns) {
  const std::string what = "create namespace '" + std::string(ns) + "'";
  KALAM_RETURN_IF_ERROR(validate_name("namespace", ns));
  if (ns == kSystemNamespace) return reserved(what);
  Database& db = *context_->db;
  std::lock_guard ddl(context_->locks->ddl);
  const std::string key = namespace_key(ns);
  auto existing = db.get(context_->system, key);
  if (existing.ok()) {
    return Status::AlreadyExists("namespace '" + std::string(ns) +
                                 "' already exists");
  }
  if (!existing.status().is_not_found()) {
    return existing.status().with_context(what);
  }
  NamespaceInfo info{std::string(ns), detail::now_ms()};
  KALAM_ASSIGN_OR_RETURN(std::string value, dump_json(info.to_json()));
  // The ddl lock keeps this process's other catalog changes out; the
  // expectation keeps out another process sharing the store that creates
  // the same namespace between the read above and this write.
  WriteBatch batch;
  batch.put(context_->system, key, value);
  batch.expect_absent(context_->system, key);
  context_->locks->conditional_write_point("create_namespace");
  Status written = db.write(batch, kDurable);
  if (written.is_conflict()) {
    return Status::AlreadyExists("namespace '" + std::string(ns) +
                                 "' already exists (created concurrently)");
  }
  return written.with_context(what);
}

StatusOr<std::vector<TableInfo>> Catalog::tables_of(std::string_view ns) {
  std::vector<TableInfo> tables;
  const std::string prefix = tables_prefix(ns);
  KALAM_RETURN_IF_ERROR(for_each_in_range(
      *context_->db, context_->system, prefix, *keys::prefix_successor(prefix),
      [&tables](std::string_view key, std::string_view value) -> Status {
        KALAM_ASSIGN_OR_RETURN(TableInfo info, decode_table_row(key, value));
        tables.push_back(std::move(info));
        return Status::OK();
      }));
  return tables;
}

Status Catalog::drop_namespace(std::string_view ns,
                               const DropNamespaceOptions& options) {
  const std::string what = "drop namespace '" + std::string(ns) + "'";
  KALAM_RETURN_IF_ERROR(validate_name("namespace", ns));
  if (ns == kSystemNamespace) return reserved(what);
  Database& db = *context_->db;
  std::lock_guard ddl(context_->locks->ddl);
  const std::string key = namespace_key(ns);
  auto existing = db.get(context_->system, key);
  if (existing.status().is_not_found()) {
    return Status::NotFound("namespace '" + std::string(ns) +
                            "' does not exist");
  }
  KALAM_RETURN_IF_ERROR(existing.status().with_context(what));
  KALAM_ASSIGN_OR_RETURN(std::vector<TableInfo> tables, tables_of(ns));
  if (!tables.empty() && !options.cascade) {
    std::string names;
    for (const TableInfo& t : tables) {
      if (!names.empty()) names += ", ";
      names += t.name;
    }
    return Status::InvalidArgument(
        what + ": it still has " + std::to_string(tables.size()) +
        " table(s): " + names +
        "; drop them first, or drop with cascade to drop them too");
  }
  // One batch: every table's rows, every table's row, the namespace's row.
  WriteBatch batch;
  for (const TableInfo& t : tables) {
    batch.delete_range(context_->data, keys::table_prefix(t.id),
                       keys::table_end(t.id));
    batch.del(context_->system, table_key(ns, t.name));
  }
  batch.del(context_->system, key);
  {
    std::unique_lock data(context_->locks->data);
    Status written = db.write(batch, kDurable);
    ++context_->locks->catalog_generation;
    KALAM_RETURN_IF_ERROR(written.with_context(what));
    for (const TableInfo& t : tables) context_->locks->mark_dropped(t.id);
  }
  // No flush or scan of these tables touches their segments from here on
  // (see DbLocks::data): removing them races nothing.
  for (const TableInfo& t : tables) {
    KALAM_RETURN_IF_ERROR(
        context_->cold->drop_table(detail::cold_partition(t, std::nullopt))
            .with_context(what + ": remove the cold segments of " +
                          t.qualified_name()));
  }
  return Status::OK();
}

StatusOr<NamespaceInfo> Catalog::describe_namespace(std::string_view ns) {
  KALAM_RETURN_IF_ERROR(validate_name("namespace", ns));
  if (ns == kSystemNamespace) return NamespaceInfo{std::string(ns), 0};
  auto value = context_->db->get(context_->system, namespace_key(ns));
  if (value.status().is_not_found()) {
    return Status::NotFound("namespace '" + std::string(ns) +
                            "' does not exist");
  }
  KALAM_RETURN_IF_ERROR(value.status());
  KALAM_ASSIGN_OR_RETURN(
      json j, parse_catalog_row(
                  *value, "system.namespaces row '" + std::string(ns) + "'"));
  return NamespaceInfo::from_json(j);
}

StatusOr<std::vector<NamespaceInfo>> Catalog::list_namespaces() {
  std::vector<NamespaceInfo> out;
  KALAM_RETURN_IF_ERROR(for_each_in_range(
      *context_->db, context_->system, std::string(1, kNamespaceTag),
      std::string(1, static_cast<char>(kNamespaceTag + 1)),
      [&out](std::string_view key, std::string_view value) -> Status {
        KALAM_ASSIGN_OR_RETURN(
            json j, parse_catalog_row(value, "system.namespaces row '" +
                                                 keys::printable(key) + "'"));
        KALAM_ASSIGN_OR_RETURN(NamespaceInfo info, NamespaceInfo::from_json(j));
        out.push_back(std::move(info));
        return Status::OK();
      }));
  return out;
}

// --- Tables ------------------------------------------------------------------

StatusOr<TableInfo> Catalog::create_table(const TableSpec& spec) {
  const std::string what = "create table " + qualified(spec.ns, spec.name);
  // Everything that can be checked without storage is checked first: an
  // invalid spec never gets as far as a batch.
  KALAM_RETURN_IF_ERROR(validate_name("namespace", spec.ns));
  KALAM_RETURN_IF_ERROR(validate_name("table", spec.name));
  if (spec.ns == kSystemNamespace) return reserved(what);
  Status schema_ok = spec.schema.validate();
  if (!schema_ok.ok()) return schema_ok.with_context(what);
  const FlushPolicy& flush = spec.options.flush;
  if (spec.kind == TableKind::kStream) {
    if (!spec.schema.primary_key.empty()) {
      return Status::InvalidArgument(
          what +
          ": a stream table has no primary key; every event gets a "
          "generated, time-ordered id (drop primary_key '" +
          spec.schema.primary_key + "')");
    }
    if (!spec.options.ttl && !spec.options.max_rows) {
      return Status::InvalidArgument(
          what + ": a stream table needs a retention: ttl, max_rows or both");
    }
    if ((spec.options.ttl && spec.options.ttl->count() <= 0) ||
        (spec.options.max_rows && *spec.options.max_rows == 0)) {
      return Status::InvalidArgument(
          what + ": a stream table's ttl and max_rows must be positive");
    }
    if (flush.row_count || flush.interval) {
      return Status::InvalidArgument(
          what +
          ": a stream table is not flushed to cold storage (its "
          "events expire instead); drop the flush policy");
    }
  } else if (spec.options.ttl || spec.options.max_rows) {
    return Status::InvalidArgument(
        what + ": ttl and max_rows apply to stream tables only; a " +
        std::string(table_kind_name(spec.kind)) + " table keeps its rows");
  }
  if ((flush.row_count && *flush.row_count == 0) ||
      (flush.interval && flush.interval->count() <= 0)) {
    return Status::InvalidArgument(
        what + ": a flush policy's row_count and interval must be positive");
  }
  TableInfo info{.ns = spec.ns,
                 .name = spec.name,
                 .kind = spec.kind,
                 .schema = spec.schema,
                 .options = spec.options};
  for (Column& c : info.schema.columns) {
    if (c.name == info.schema.primary_key) c.nullable = false;
  }

  Database& db = *context_->db;
  std::lock_guard ddl(context_->locks->ddl);
  // Read, then write expecting what was read: the namespace still there,
  // no table of this name, the id counter unchanged. The ddl lock keeps
  // this process's other catalog changes out; the expectations keep out
  // other processes sharing the store. When one got in between, the write
  // is a CONFLICT (nothing applied) and the checks run again on what it
  // wrote: its table of the same name wins, its id is not reused.
  for (int attempt = 1;; ++attempt) {
    const std::string ns_key = namespace_key(spec.ns);
    auto ns_row = db.get(context_->system, ns_key);
    if (ns_row.status().is_not_found()) {
      return Status::NotFound(what + ": namespace '" + spec.ns +
                              "' does not exist; create it first");
    }
    KALAM_RETURN_IF_ERROR(ns_row.status().with_context(what));
    const std::string key = table_key(spec.ns, spec.name);
    auto existing = db.get(context_->system, key);
    if (existing.ok()) {
      return Status::AlreadyExists("table " + qualified(spec.ns, spec.name) +
                                   " already exists");
    }
    if (!existing.status().is_not_found()) {
      return existing.status().with_context(what);
    }
    auto counter = db.get(context_->system, kNextTableIdKey);
    uint64_t id = 1;
    if (counter.ok()) {
      std::string_view bytes = *counter;
      if (!keys::consume_u64(bytes, id) || !bytes.empty() || id == 0) {
        return Status::Corruption(what + ": the table id counter is malformed");
      }
    } else if (!counter.status().is_not_found()) {
      return counter.status().with_context(what);
    }
    if (id >= UINT64_MAX - 1) {
      return Status(Code::kNoSpace, what + ": table ids are exhausted");
    }
    info.id = id;
    info.created_at_ms = detail::now_ms();
    KALAM_ASSIGN_OR_RETURN(std::string value, dump_json(info.to_json()));
    std::string next;
    keys::append_u64(next, id + 1);
    // One batch: the table's row and the counter appear together or not at
    // all, and the table has no data yet, so nothing else needs writing.
    WriteBatch batch;
    batch.put(context_->system, key, value);
    batch.put(context_->system, kNextTableIdKey, next);
    batch.expect_value(context_->system, ns_key, *ns_row);
    batch.expect_absent(context_->system, key);
    if (counter.ok()) {
      batch.expect_value(context_->system, kNextTableIdKey, *counter);
    } else {
      batch.expect_absent(context_->system, kNextTableIdKey);
    }
    context_->locks->conditional_write_point("create_table");
    Status written = db.write(batch, kDurable);
    ++context_->locks->catalog_generation;
    if (written.is_conflict() && attempt < kConditionalWriteAttempts) continue;
    if (written.is_conflict()) {
      return Status::Conflict(
          what +
          ": the catalog was changed by another writer between "
          "reading and writing it on each of " +
          std::to_string(kConditionalWriteAttempts) +
          " attempts; nothing was applied (retry later)");
    }
    KALAM_RETURN_IF_ERROR(written.with_context(what));
    return info;
  }
}

Status Catalog::drop_table(std::string_view ns, std::string_view table) {
  const std::string what = "drop table " + qualified(ns, table);
  KALAM_RETURN_IF_ERROR(validate_name("namespace", ns));
  KALAM_RETURN_IF_ERROR(validate_name("table", table));
  if (ns == kSystemNamespace) return reserved(what);
  Database& db = *context_->db;
  std::lock_guard ddl(context_->locks->ddl);
  KALAM_ASSIGN_OR_RETURN(std::shared_ptr<const TableInfo> info,
                         resolve(ns, table));
  // The catalog row as stored now: the drop expects it unchanged, so on a
  // store shared with other processes it never removes a table of the
  // same name that another process dropped and re-created meanwhile (whose
  // rows live under another id).
  const std::string key = table_key(ns, table);
  auto stored = db.get(context_->system, key);
  if (stored.status().is_not_found()) {
    return Status::NotFound("table " + qualified(ns, table) +
                            " does not exist (dropped concurrently)");
  }
  KALAM_RETURN_IF_ERROR(stored.status().with_context(what));
  KALAM_ASSIGN_OR_RETURN(TableInfo now, decode_table_row(key, *stored));
  if (now.id != info->id) {
    // The cached record is of a table dropped and re-created by another
    // process: drop the one that exists now.
    info = std::make_shared<const TableInfo>(std::move(now));
  }
  // One batch: the table's whole key range and its catalog row.
  WriteBatch batch;
  batch.delete_range(context_->data, keys::table_prefix(info->id),
                     keys::table_end(info->id));
  batch.del(context_->system, key);
  batch.expect_value(context_->system, key, *stored);
  // No row write may be between resolving this table and writing its batch
  // while the table goes.
  {
    std::unique_lock data(context_->locks->data);
    Status written = db.write(batch, kDurable);
    ++context_->locks->catalog_generation;
    if (written.is_conflict()) {
      return Status::Conflict(what +
                              ": the table was changed by another writer "
                              "while it was being dropped; nothing was "
                              "applied (check it and drop again)");
    }
    KALAM_RETURN_IF_ERROR(written.with_context(what));
    context_->locks->mark_dropped(info->id);
  }
  // No flush or scan of the table touches its segments from here on (see
  // DbLocks::data): removing them races nothing.
  return context_->cold->drop_table(detail::cold_partition(*info, std::nullopt))
      .with_context(what + ": remove its cold segments");
}

StatusOr<std::shared_ptr<const TableInfo>> Catalog::resolve(
    std::string_view ns, std::string_view table) {
  KALAM_RETURN_IF_ERROR(validate_name("namespace", ns));
  KALAM_RETURN_IF_ERROR(validate_name("table", table));
  if (ns == kSystemNamespace) {
    if (table == kNamespacesTable) {
      return std::shared_ptr<const TableInfo>(std::shared_ptr<void>(),
                                              &system_namespaces_info());
    }
    if (table == kTablesTable) {
      return std::shared_ptr<const TableInfo>(std::shared_ptr<void>(),
                                              &system_tables_info());
    }
    return Status::NotFound("table " + qualified(ns, table) +
                            " does not exist; the system tables are "
                            "system.namespaces and system.tables");
  }
  // Read the generation before storage: a change that lands after this
  // bumps it, so whatever is cached below is never served after that.
  const uint64_t generation = context_->locks->catalog_generation.load();
  std::string name = qualified(ns, table);
  {
    std::lock_guard lock(context_->resolved_mu);
    auto it = context_->resolved.find(name);
    if (it != context_->resolved.end() && it->second.first == generation) {
      return it->second.second;
    }
  }
  Database& db = *context_->db;
  auto value = db.get(context_->system, table_key(ns, table));
  if (value.status().is_not_found()) {
    auto ns_row = db.get(context_->system, namespace_key(ns));
    if (ns_row.status().is_not_found()) {
      return Status::NotFound("table " + name +
                              " does not exist: there is no namespace '" +
                              std::string(ns) + "'");
    }
    return Status::NotFound("table " + name + " does not exist");
  }
  KALAM_RETURN_IF_ERROR(value.status());
  KALAM_ASSIGN_OR_RETURN(TableInfo parsed,
                         decode_table_row(table_key(ns, table), *value));
  auto info = std::make_shared<const TableInfo>(std::move(parsed));
  std::lock_guard lock(context_->resolved_mu);
  // Bounded: entries of tables no longer used are dropped wholesale.
  if (context_->resolved.size() >= 1024) context_->resolved.clear();
  context_->resolved[std::move(name)] = {generation, info};
  context_->catalog_rows[info->id] = std::move(*value);
  return info;
}

namespace detail {
std::string catalog_table_key(std::string_view ns, std::string_view table) {
  return table_key(ns, table);
}
}  // namespace detail

StatusOr<TableInfo> Catalog::describe_table(std::string_view ns,
                                            std::string_view table) {
  KALAM_ASSIGN_OR_RETURN(std::shared_ptr<const TableInfo> info,
                         resolve(ns, table));
  return *info;
}

StatusOr<std::vector<TableInfo>> Catalog::list_tables(std::string_view ns) {
  KALAM_RETURN_IF_ERROR(describe_namespace(ns).status());
  if (ns == kSystemNamespace) {
    return std::vector<TableInfo>{system_namespaces_info(),
                                  system_tables_info()};
  }
  return tables_of(ns);
}

// --- System tables as rows ---------------------------------------------------

StatusOr<RowCursor> Catalog::scan_system_table(std::string_view table) {
  IteratorOptions options;
  detail::RowDecoder decoder;
  if (table == kNamespacesTable) {
    options.lower = std::string(1, kNamespaceTag);
    options.upper = std::string(1, static_cast<char>(kNamespaceTag + 1));
    decoder = [](std::string_view key, std::string_view value,
                 Row& row) -> StatusOr<bool> {
      KALAM_ASSIGN_OR_RETURN(
          json j, parse_catalog_row(value, "system.namespaces row '" +
                                               keys::printable(key) + "'"));
      KALAM_ASSIGN_OR_RETURN(NamespaceInfo info, NamespaceInfo::from_json(j));
      row.row_id = info.name;
      row.data = info.to_json();
      return true;
    };
  } else if (table == kTablesTable) {
    options.lower = std::string(1, kTableTag);
    options.upper = std::string(1, static_cast<char>(kTableTag + 1));
    decoder = [](std::string_view key, std::string_view value,
                 Row& row) -> StatusOr<bool> {
      KALAM_ASSIGN_OR_RETURN(TableInfo info, decode_table_row(key, value));
      row.row_id = info.qualified_name();
      row.data = info.to_json();
      return true;
    };
  } else {
    return resolve(kSystemNamespace, table).status();
  }
  KALAM_ASSIGN_OR_RETURN(Iterator it,
                         context_->db->new_iterator(context_->system, options));
  return detail::RowCursorAccess::make(std::move(it), std::move(decoder));
}

StatusOr<RowCursor> Catalog::scan_namespaces() {
  return scan_system_table(kNamespacesTable);
}

StatusOr<RowCursor> Catalog::scan_tables() {
  return scan_system_table(kTablesTable);
}

StatusOr<Row> Catalog::get_system_row(std::string_view table,
                                      std::string_view row_id) {
  if (table == kNamespacesTable) {
    auto info = describe_namespace(row_id);
    const bool absent =
        !info.ok() && (info.status().is_not_found() ||
                       info.status().code() == Code::kInvalidArgument);
    if (absent || row_id == kSystemNamespace) {
      return Status::NotFound("system.namespaces has no row '" +
                              keys::printable(row_id) + "'");
    }
    KALAM_RETURN_IF_ERROR(info.status());
    return Row{.row_id = info->name, .data = info->to_json()};
  }
  if (table == kTablesTable) {
    auto name = parse_qualified_name(row_id);
    if (!name.ok() || name->ns == kSystemNamespace) {
      return Status::NotFound("system.tables has no row '" +
                              keys::printable(row_id) +
                              "' (row ids are namespace.table)");
    }
    auto info = resolve(name->ns, name->name);
    if (!info.ok()) {
      if (info.status().is_not_found()) {
        return Status::NotFound("system.tables has no row '" +
                                std::string(row_id) + "'");
      }
      return info.status();
    }
    return Row{.row_id = (*info)->qualified_name(), .data = (*info)->to_json()};
  }
  return resolve(kSystemNamespace, table).status();
}

}  // namespace kalam::tables
