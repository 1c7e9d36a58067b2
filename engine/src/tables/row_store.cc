// Row reads and writes for user and shared tables.
#include "row_store.h"

#include <kalam/tables/user_table_store.h>

#include <algorithm>

#include "context.h"
#include "key_codec.h"

namespace kalam::tables::detail {

using nlohmann::json;

namespace {

keys::RowKeyKind key_kind(const TableInfo& info) {
  if (info.schema.primary_key.empty()) return keys::RowKeyKind::kGenerated;
  const Column* pk = info.schema.find(info.schema.primary_key);
  return pk != nullptr && pk->type == ColumnType::kInt64
             ? keys::RowKeyKind::kInt64
             : keys::RowKeyKind::kString;
}

std::string quoted_user(std::string_view user) {
  std::string shown = keys::printable(user.substr(0, 64));
  if (user.size() > 64) shown += "...";
  return "'" + shown + "'";
}

// "put into app.notes for user 'alice'", "get from app.config".
std::string describe(std::string_view op, std::string_view ns,
                     std::string_view table, Partition partition) {
  std::string out =
      std::string(op) + " " + std::string(ns) + "." + std::string(table);
  if (partition.is_user()) out += " for user " + quoted_user(*partition.user);
  return out;
}

Status check_partition(Partition partition) {
  if (!partition.is_user()) return Status::OK();
  const std::string_view user = *partition.user;
  if (user.empty()) {
    return Status::InvalidArgument(
        "the user id is empty; a user id is 1 to " +
        std::to_string(kMaxUserIdLength) +
        " bytes (an empty id is refused so that callers without a user "
        "never share one partition)");
  }
  if (user.size() > kMaxUserIdLength) {
    return Status::InvalidArgument("user id " + quoted_user(user) + " is " +
                                   std::to_string(user.size()) +
                                   " bytes; a user id is 1 to " +
                                   std::to_string(kMaxUserIdLength) + " bytes");
  }
  return Status::OK();
}

Status read_only(const TableInfo& info) {
  return Status::InvalidArgument(
      info.qualified_name() +
      " is a read-only system table; change the catalog through Catalog "
      "(create_namespace, create_table, drop_table, ...)");
}

StatusOr<json> decode_row_value(std::string_view value, std::string_view key) {
  json j = json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::Corruption("the stored row under key '" +
                              keys::printable(key) + "' is not a JSON object");
  }
  return j;
}

StatusOr<std::string> encode_row_value(const json& row) {
  try {
    return row.dump();
  } catch (const json::exception& e) {
    return Status::InvalidArgument(std::string("the row cannot be encoded: ") +
                                   e.what());
  }
}

// Locks the distinct row-lock stripes in `locks` in address order (so two
// multi-row writes never wait on each other in a cycle); unlocks on scope
// exit.
class StripeLocks {
 public:
  explicit StripeLocks(std::vector<std::mutex*> locks)
      : locks_(std::move(locks)) {
    std::sort(locks_.begin(), locks_.end());
    locks_.erase(std::unique(locks_.begin(), locks_.end()), locks_.end());
    for (std::mutex* m : locks_) m->lock();
  }
  ~StripeLocks() {
    for (auto it = locks_.rbegin(); it != locks_.rend(); ++it) (*it)->unlock();
  }
  StripeLocks(const StripeLocks&) = delete;
  StripeLocks& operator=(const StripeLocks&) = delete;

 private:
  std::vector<std::mutex*> locks_;
};

}  // namespace

StatusOr<std::shared_ptr<const TableInfo>> RowStore::table_for(
    std::string_view ns, std::string_view table, Partition partition) {
  KALAM_ASSIGN_OR_RETURN(std::shared_ptr<const TableInfo> info,
                         catalog_.resolve(ns, table));
  if (partition.is_user() && info->kind != TableKind::kUser) {
    return Status::InvalidArgument(
        info->qualified_name() + " is a " +
        std::string(table_kind_name(info->kind)) +
        " table, not a user table; use SharedTableStore (no user id)");
  }
  if (!partition.is_user() && info->kind == TableKind::kUser) {
    return Status::InvalidArgument(
        info->qualified_name() +
        " is a user table; use UserTableStore with a user id");
  }
  return info;
}

std::string RowStore::partition_prefix(const TableInfo& info,
                                       Partition partition) {
  return partition.is_user() ? keys::user_prefix(info.id, *partition.user)
                             : keys::table_prefix(info.id);
}

Status RowStore::check_key_size(const TableInfo& info, Partition partition,
                                const std::string& key,
                                std::string_view row_id) {
  const uint64_t max = catalog_.database().plugin().max_key_size();
  if (max == 0 || key.size() <= max) return Status::OK();
  return Status::InvalidArgument(
      "the key of row '" + keys::printable(row_id.substr(0, 64)) + "'" +
      (partition.is_user() ? " of user " + quoted_user(*partition.user) : "") +
      " in " + info.qualified_name() + " is " + std::to_string(key.size()) +
      " bytes encoded, and backend '" + catalog_.database().plugin().name() +
      "' allows keys of at most " + std::to_string(max) +
      " bytes; use a shorter user id or primary key");
}

StatusOr<std::string> RowStore::row_key(const TableInfo& info,
                                        Partition partition,
                                        std::string_view row_id) {
  KALAM_ASSIGN_OR_RETURN(std::string suffix,
                         keys::row_key_from_id(key_kind(info), row_id));
  std::string key = partition_prefix(info, partition) + suffix;
  KALAM_RETURN_IF_ERROR(check_key_size(info, partition, key, row_id));
  return key;
}

StatusOr<std::vector<std::string>> RowStore::put(
    std::string_view ns, std::string_view table, Partition partition,
    std::span<const json> rows, bool many, const WriteOptions& options) {
  const std::string what = describe("put into", ns, table, partition);
  KALAM_RETURN_IF_ERROR(check_partition(partition).with_context(what));
  TablesContext& ctx = context();
  std::shared_lock data(ctx.locks->data);
  auto resolved = table_for(ns, table, partition);
  if (!resolved.ok()) return resolved.status().with_context(what);
  const TableInfo& info = **resolved;
  if (info.id == 0) return read_only(info).with_context(what);
  const keys::RowKeyKind kind = key_kind(info);
  const std::string prefix = partition_prefix(info, partition);

  WriteBatch batch;
  std::vector<std::string> ids;
  std::vector<std::mutex*> stripes;
  ids.reserve(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::string row_what =
        many ? what + ": row " + std::to_string(i) : what;
    auto canonical = info.schema.validate_row(rows[i]);
    if (!canonical.ok()) return canonical.status().with_context(row_what);
    std::string row_key;
    std::string id;
    switch (kind) {
      case keys::RowKeyKind::kGenerated:
        row_key = keys::new_generated_row_key();
        break;
      case keys::RowKeyKind::kInt64:
        row_key = keys::int64_row_key(
            (*canonical)[info.schema.primary_key].get<int64_t>());
        break;
      case keys::RowKeyKind::kString:
        row_key = keys::string_row_key((*canonical)[info.schema.primary_key]
                                           .get_ref<const std::string&>());
        break;
    }
    KALAM_ASSIGN_OR_RETURN(id, keys::row_id_from_key(kind, row_key));
    std::string key = prefix + row_key;
    KALAM_RETURN_IF_ERROR(
        check_key_size(info, partition, key, id).with_context(row_what));
    auto value = encode_row_value(*canonical);
    if (!value.ok()) return value.status().with_context(row_what);
    if (kind != keys::RowKeyKind::kGenerated) {
      stripes.push_back(&ctx.locks->row_lock(key));
    }
    batch.put(ctx.data, key, *value);
    ids.push_back(std::move(id));
  }
  if (ids.empty()) return ids;
  StripeLocks locked(std::move(stripes));
  KALAM_RETURN_IF_ERROR(
      catalog_.database().write(batch, options).with_context(what));
  return ids;
}

StatusOr<Row> RowStore::get(std::string_view ns, std::string_view table,
                            Partition partition, std::string_view row_id) {
  const std::string what = describe("get from", ns, table, partition);
  KALAM_RETURN_IF_ERROR(check_partition(partition).with_context(what));
  auto resolved = table_for(ns, table, partition);
  if (!resolved.ok()) return resolved.status().with_context(what);
  const TableInfo& info = **resolved;
  if (info.id == 0) return catalog_.get_system_row(table, row_id);
  auto key = row_key(info, partition, row_id);
  if (!key.ok()) return key.status().with_context(what);
  auto value = catalog_.database().get(context().data, *key);
  if (value.status().is_not_found()) {
    return Status::NotFound("no row '" + keys::printable(row_id) + "'" +
                            (partition.is_user()
                                 ? " for user " + quoted_user(*partition.user)
                                 : std::string()) +
                            " in " + info.qualified_name());
  }
  KALAM_RETURN_IF_ERROR(value.status().with_context(what));
  KALAM_ASSIGN_OR_RETURN(json data, decode_row_value(*value, *key));
  const size_t prefix_size = partition_prefix(info, partition).size();
  KALAM_ASSIGN_OR_RETURN(
      std::string id,
      keys::row_id_from_key(key_kind(info), key->substr(prefix_size)));
  return Row{.user_id = std::string(partition.user.value_or("")),
             .row_id = std::move(id),
             .data = std::move(data)};
}

StatusOr<Row> RowStore::update(std::string_view ns, std::string_view table,
                               Partition partition, std::string_view row_id,
                               const json& changes,
                               const WriteOptions& options) {
  const std::string what = describe("update", ns, table, partition) + " row '" +
                           keys::printable(row_id) + "'";
  KALAM_RETURN_IF_ERROR(check_partition(partition).with_context(what));
  if (!changes.is_object()) {
    return Status::InvalidArgument(
        what + ": the changes must be a JSON object of column -> new value");
  }
  TablesContext& ctx = context();
  std::shared_lock data(ctx.locks->data);
  auto resolved = table_for(ns, table, partition);
  if (!resolved.ok()) return resolved.status().with_context(what);
  const TableInfo& info = **resolved;
  if (info.id == 0) return read_only(info).with_context(what);
  auto key = row_key(info, partition, row_id);
  if (!key.ok()) return key.status().with_context(what);

  std::lock_guard row_lock(ctx.locks->row_lock(*key));
  Database& db = catalog_.database();
  auto value = db.get(ctx.data, *key);
  if (value.status().is_not_found()) {
    return Status::NotFound(what + ": there is no such row");
  }
  KALAM_RETURN_IF_ERROR(value.status().with_context(what));
  KALAM_ASSIGN_OR_RETURN(json current, decode_row_value(*value, *key));
  json merged = current;
  for (const auto& [column, new_value] : changes.items()) {
    merged[column] = new_value;
  }
  auto canonical = info.schema.validate_row(merged);
  if (!canonical.ok()) return canonical.status().with_context(what);
  const std::string& pk = info.schema.primary_key;
  if (!pk.empty() && (*canonical)[pk] != current[pk]) {
    return Status::InvalidArgument(
        what + ": the primary key column '" + pk +
        "' cannot be changed by update (from " + current[pk].dump() + " to " +
        (*canonical)[pk].dump(-1, ' ', false, json::error_handler_t::replace) +
        "); delete the row and put a new one");
  }
  KALAM_ASSIGN_OR_RETURN(std::string encoded, encode_row_value(*canonical));
  WriteBatch batch;
  batch.put(ctx.data, *key, encoded);
  KALAM_RETURN_IF_ERROR(db.write(batch, options).with_context(what));
  const size_t prefix_size = partition_prefix(info, partition).size();
  KALAM_ASSIGN_OR_RETURN(
      std::string id,
      keys::row_id_from_key(key_kind(info), key->substr(prefix_size)));
  return Row{.user_id = std::string(partition.user.value_or("")),
             .row_id = std::move(id),
             .data = std::move(*canonical)};
}

Status RowStore::del(std::string_view ns, std::string_view table,
                     Partition partition, std::string_view row_id,
                     const WriteOptions& options) {
  const std::string what = describe("delete from", ns, table, partition) +
                           " row '" + keys::printable(row_id) + "'";
  KALAM_RETURN_IF_ERROR(check_partition(partition).with_context(what));
  TablesContext& ctx = context();
  std::shared_lock data(ctx.locks->data);
  auto resolved = table_for(ns, table, partition);
  if (!resolved.ok()) return resolved.status().with_context(what);
  const TableInfo& info = **resolved;
  if (info.id == 0) return read_only(info).with_context(what);
  auto key = row_key(info, partition, row_id);
  if (!key.ok()) return key.status().with_context(what);

  std::lock_guard row_lock(ctx.locks->row_lock(*key));
  Database& db = catalog_.database();
  Status exists = db.get_with(ctx.data, *key, [](std::string_view) {});
  if (exists.is_not_found()) {
    return Status::NotFound(what + ": there is no such row");
  }
  KALAM_RETURN_IF_ERROR(exists.with_context(what));
  WriteBatch batch;
  batch.del(ctx.data, *key);
  return db.write(batch, options).with_context(what);
}

StatusOr<RowCursor> RowStore::iter(std::string_view ns, std::string_view table,
                                   Partition partition) {
  const std::string what = describe("scan", ns, table, partition);
  KALAM_RETURN_IF_ERROR(check_partition(partition).with_context(what));
  auto resolved = table_for(ns, table, partition);
  if (!resolved.ok()) return resolved.status().with_context(what);
  std::shared_ptr<const TableInfo> info = *resolved;
  if (info->id == 0) return catalog_.scan_system_table(table);

  // One iterator whose bounds are exactly the partition's key range: a
  // user's rows, or the table's. Nothing outside it is ever read.
  std::string prefix = partition_prefix(*info, partition);
  IteratorOptions bounds;
  bounds.lower = prefix;
  bounds.upper = keys::prefix_successor(prefix);
  auto it = catalog_.database().new_iterator(context().data, bounds);
  if (!it.ok()) return it.status().with_context(what);
  const keys::RowKeyKind kind = key_kind(*info);
  std::string user(partition.user.value_or(""));
  auto decoder = [prefix = std::move(prefix), kind, user = std::move(user)](
                     std::string_view key, std::string_view value,
                     Row& row) -> Status {
    // Bounds are the backend's job; this check makes "no call returns
    // another user's row" hold even with a backend that gets them wrong.
    if (!key.starts_with(prefix)) {
      return Status::Corruption("the backend's iterator returned key '" +
                                keys::printable(key) +
                                "', outside the bounds of the scan");
    }
    KALAM_ASSIGN_OR_RETURN(
        row.row_id, keys::row_id_from_key(kind, key.substr(prefix.size())));
    KALAM_ASSIGN_OR_RETURN(row.data, decode_row_value(value, key));
    row.user_id = user;
    return Status::OK();
  };
  return RowCursorAccess::make(std::move(*it), std::move(decoder));
}

StatusOr<RowCursor> RowStore::iter_all_users(std::string_view ns,
                                             std::string_view table) {
  const std::string what =
      "scan all users of " + std::string(ns) + "." + std::string(table);
  auto resolved = table_for(ns, table, Partition{.user = ""});
  if (!resolved.ok()) return resolved.status().with_context(what);
  std::shared_ptr<const TableInfo> info = *resolved;
  IteratorOptions bounds;
  bounds.lower = keys::table_prefix(info->id);
  bounds.upper = keys::table_end(info->id);
  auto it = catalog_.database().new_iterator(context().data, bounds);
  if (!it.ok()) return it.status().with_context(what);
  const keys::RowKeyKind kind = key_kind(*info);
  const uint64_t table_id = info->id;
  auto decoder = [kind, table_id](std::string_view key, std::string_view value,
                                  Row& row) -> Status {
    std::string_view rest = key;
    uint64_t id = 0;
    if (!keys::consume_u64(rest, id) || id != table_id ||
        !keys::consume_escaped(rest, row.user_id)) {
      return Status::Corruption("malformed user-table key '" +
                                keys::printable(key) + "'");
    }
    KALAM_ASSIGN_OR_RETURN(row.row_id, keys::row_id_from_key(kind, rest));
    KALAM_ASSIGN_OR_RETURN(row.data, decode_row_value(value, key));
    return Status::OK();
  };
  return RowCursorAccess::make(std::move(*it), std::move(decoder));
}

StatusOr<std::vector<Row>> RowStore::collect(StatusOr<RowCursor> cursor) {
  KALAM_RETURN_IF_ERROR(cursor.status());
  std::vector<Row> rows;
  while (cursor->next()) rows.push_back(std::move(cursor->row()));
  KALAM_RETURN_IF_ERROR(cursor->status());
  return rows;
}

}  // namespace kalam::tables::detail
