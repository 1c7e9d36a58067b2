// Row reads and writes for user and shared tables.
#include "row_store.h"

#include <kalam/tables/json_input.h>
#include <kalam/tables/user_table_store.h>

#include <algorithm>
#include <map>

#include "context.h"
#include "hybrid_source.h"
#include "key_codec.h"

namespace kalam::tables {

struct FlushBatch::State {
  std::shared_ptr<const TableInfo> table;
  std::vector<FlushEntry> entries;
  std::vector<std::string> keys;    // the hot key of each entry
  std::vector<std::string> values;  // its value as the snapshot saw it
  std::shared_ptr<detail::DbLocks> locks;
  std::unique_lock<std::mutex> flush_lock;
  bool counted = false;  // holds one count of locks->flushing
  // DbLocks::writes_since_flush of the table when the snapshot was taken.
  uint64_t writes_at_snapshot = 0;
  bool written = false;
  FlushResult result;

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State() {
    if (counted) --locks->flushing;
  }
};

FlushBatch::FlushBatch(std::unique_ptr<State> state)
    : state_(std::move(state)) {}
FlushBatch::FlushBatch(FlushBatch&&) noexcept = default;
FlushBatch& FlushBatch::operator=(FlushBatch&&) noexcept = default;
FlushBatch::~FlushBatch() = default;

const TableInfo& FlushBatch::table() const { return *state_->table; }
const std::vector<FlushEntry>& FlushBatch::entries() const {
  return state_->entries;
}
bool FlushBatch::written() const { return state_->written; }
const FlushResult& FlushBatch::result() const { return state_->result; }

}  // namespace kalam::tables

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

// A table dropped after the call resolved it.
Status dropped_table(const TableInfo& info, const std::string& what) {
  return Status::NotFound(what + ": table " + info.qualified_name() +
                          " was dropped");
}

Status read_only(const TableInfo& info) {
  return Status::InvalidArgument(
      info.qualified_name() +
      " is a read-only system table; change the catalog through Catalog "
      "(create_namespace, create_table, drop_table, ...)");
}

// A stored hot value: the row, or nullopt for a tombstone.
StatusOr<std::optional<json>> decode_hot_value(std::string_view value,
                                               std::string_view key);

StatusOr<json> decode_row_value(std::string_view value, std::string_view key) {
  // Bounded like every row that comes in: a stored value nested deeper
  // (written around the table layer) is damage, not a stack overflow.
  StatusOr<json> j = parse_json(value);
  if (!j.ok() || !j->is_object()) {
    return Status::Corruption("the stored row under key '" +
                              keys::printable(key) + "' is not a JSON object" +
                              (j.ok() ? "" : ": " + j.status().message()));
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
  if (info->kind == TableKind::kStream) {
    return Status::InvalidArgument(
        info->qualified_name() +
        " is a stream table; use StreamTableStore (append, scan)");
  }
  return info;
}

Status RowStore::table_still_exists(const TableInfo& info) {
  forget_resolved(context());
  auto now = catalog_.resolve(info.ns, info.name);
  if (now.ok() && (*now)->id == info.id) return Status::OK();
  if (!now.ok() && !now.status().is_not_found()) return now.status();
  return Status::NotFound("table " + info.qualified_name() +
                          " was dropped (by another process sharing the "
                          "store); nothing was written");
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
  // Error context is built only for an error: this is the insert hot path.
  auto what = [&] { return describe("put into", ns, table, partition); };
  auto row_what = [&](size_t i) {
    return many ? what() + ": row " + std::to_string(i) : what();
  };
  if (Status s = check_partition(partition); !s.ok()) {
    return s.with_context(what());
  }
  TablesContext& ctx = context();
  std::shared_lock data(ctx.locks->data);
  auto resolved = table_for(ns, table, partition);
  if (!resolved.ok()) return resolved.status().with_context(what());
  const TableInfo& info = **resolved;
  if (info.id == 0) return read_only(info).with_context(what());
  const keys::RowKeyKind kind = key_kind(info);
  const std::string prefix = partition_prefix(info, partition);

  std::vector<std::string> ids;
  std::vector<std::string> row_keys;
  std::vector<std::string> values;
  std::vector<std::mutex*> stripes;
  ids.reserve(rows.size());
  row_keys.reserve(rows.size());
  values.reserve(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    auto canonical = info.schema.validate_row(rows[i]);
    if (!canonical.ok()) return canonical.status().with_context(row_what(i));
    std::string row_key;
    std::string id;
    switch (kind) {
      case keys::RowKeyKind::kGenerated: {
        row_key = keys::new_generated_row_key();
        KALAM_ASSIGN_OR_RETURN(id, keys::row_id_from_key(kind, row_key));
        break;
      }
      case keys::RowKeyKind::kInt64: {
        const int64_t value =
            (*canonical)[info.schema.primary_key].get<int64_t>();
        row_key = keys::int64_row_key(value);
        id = std::to_string(value);
        break;
      }
      case keys::RowKeyKind::kString:
        id =
            (*canonical)[info.schema.primary_key].get_ref<const std::string&>();
        row_key = keys::string_row_key(id);
        break;
    }
    std::string key = prefix + row_key;
    if (Status s = check_key_size(info, partition, key, id); !s.ok()) {
      return s.with_context(row_what(i));
    }
    auto value = encode_row_value(*canonical);
    if (!value.ok()) return value.status().with_context(row_what(i));
    if (kind != keys::RowKeyKind::kGenerated) {
      stripes.push_back(&ctx.locks->row_lock(key));
    }
    row_keys.push_back(std::move(key));
    values.push_back(std::move(*value));
    ids.push_back(std::move(id));
  }
  if (ids.empty()) return ids;
  StripeLocks locked(std::move(stripes));
  Database& db = catalog_.database();
  // Generated ids are unique within this process by construction
  // (new_generated_row_key); another process sharing the store draws from
  // its own random sequence, so there each new key is also expected absent
  // and, on the (unlikely) collision, every id is drawn again.
  const bool shared = store_is_shared(db);
  const bool check_ids = kind == keys::RowKeyKind::kGenerated && shared;
  for (int attempt = 1;; ++attempt) {
    WriteBatch batch;
    expect_table_unchanged(ctx, info, batch);
    for (size_t i = 0; i < ids.size(); ++i) {
      if (attempt > 1 && check_ids) {
        const std::string row_key = keys::new_generated_row_key();
        KALAM_ASSIGN_OR_RETURN(ids[i], keys::row_id_from_key(kind, row_key));
        row_keys[i] = prefix + row_key;
      }
      batch.put(ctx.data, row_keys[i], values[i]);
      if (check_ids) batch.expect_absent(ctx.data, row_keys[i]);
    }
    if (shared) ctx.locks->conditional_write_point("put");
    Status s = db.write(batch, options);
    if (shared && s.is_conflict()) {
      // Another process dropped the table, or took a generated id.
      KALAM_RETURN_IF_ERROR(table_still_exists(info).with_context(what()));
      if (attempt < kConditionalWriteAttempts) continue;
    }
    if (!s.ok()) return s.with_context(what());
    break;
  }
  ctx.locks->count_writes(info.id, ids.size());
  return ids;
}

namespace {

StatusOr<std::optional<json>> decode_hot_value(std::string_view value,
                                               std::string_view key) {
  if (value == kTombstone) return std::optional<json>();
  KALAM_ASSIGN_OR_RETURN(json row, decode_row_value(value, key));
  return std::optional<json>(std::move(row));
}

std::string_view user_or_empty(Partition partition) {
  return partition.user.value_or(std::string_view());
}

}  // namespace

StatusOr<std::unique_ptr<EntryStream>> RowStore::partition_cold_stream(
    const TableInfo& info, Partition partition) {
  KALAM_ASSIGN_OR_RETURN(
      auto segments,
      context().cold->open_segments(cold_partition(info, partition.user)));
  return cold_stream(std::move(segments), partition_prefix(info, partition),
                     key_kind(info), std::string(user_or_empty(partition)));
}

StatusOr<std::optional<json>> RowStore::current_row(
    const TableInfo& info, Partition partition, const std::string& key,
    std::optional<std::string>* hot) {
  TablesContext& ctx = context();
  auto value = catalog_.database().get(ctx.data, key);
  if (value.ok()) {
    auto row = decode_hot_value(*value, key);
    if (hot != nullptr) *hot = std::move(*value);
    return row;
  }
  if (!value.status().is_not_found()) return value.status();
  if (hot != nullptr) hot->reset();
  // Not hot: the newest segment that has the row decides. Segments are in
  // row-key order, so each is read only up to the row's place.
  KALAM_ASSIGN_OR_RETURN(auto segments, ctx.cold->open_segments(cold_partition(
                                            info, partition.user)));
  const std::string row_key =
      key.substr(partition_prefix(info, partition).size());
  // Records are compared by encoded key, as the hot store compares them:
  // a caller's id may spell the key differently from the canonical id a
  // segment holds ("007" and "7", upper- and lower-case hex).
  for (auto& segment : segments) {
    ColdRecord record;
    while (segment->next(record)) {
      auto record_key = keys::row_key_from_id(key_kind(info), record.row_id);
      if (!record_key.ok()) continue;
      if (*record_key == row_key) return std::move(record.row);
      if (*record_key > row_key) break;
    }
    KALAM_RETURN_IF_ERROR(segment->status());
  }
  return std::optional<json>();
}

StatusOr<Row> RowStore::get(std::string_view ns, std::string_view table,
                            Partition partition, std::string_view row_id) {
  const std::string what = describe("get from", ns, table, partition);
  KALAM_RETURN_IF_ERROR(check_partition(partition).with_context(what));
  auto resolved = table_for(ns, table, partition);
  if (!resolved.ok()) return resolved.status().with_context(what);
  const TableInfo& info = **resolved;
  if (info.id == 0) return catalog_.get_system_row(table, row_id);
  // The table cannot be dropped (its segments removed) while the row is
  // looked up; one dropped since it was resolved is NOT_FOUND.
  std::shared_lock data(context().locks->data);
  if (context().locks->was_dropped(info.id)) return dropped_table(info, what);
  auto key = row_key(info, partition, row_id);
  if (!key.ok()) return key.status().with_context(what);
  auto row = current_row(info, partition, *key);
  if (!row.ok()) return row.status().with_context(what);
  if (!row->has_value()) {
    return Status::NotFound("no row '" + keys::printable(row_id) + "'" +
                            (partition.is_user()
                                 ? " for user " + quoted_user(*partition.user)
                                 : std::string()) +
                            " in " + info.qualified_name());
  }
  const size_t prefix_size = partition_prefix(info, partition).size();
  KALAM_ASSIGN_OR_RETURN(
      std::string id,
      keys::row_id_from_key(key_kind(info), key->substr(prefix_size)));
  return Row{.user_id = std::string(user_or_empty(partition)),
             .row_id = std::move(id),
             .data = std::move(**row)};
}

StatusOr<RowStore::LockedRow> RowStore::lock_existing_row(
    std::string_view ns, std::string_view table, Partition partition,
    std::string_view row_id, const std::string& what) {
  TablesContext& ctx = context();
  LockedRow locked;
  locked.data = std::shared_lock(ctx.locks->data);
  auto resolved = table_for(ns, table, partition);
  if (!resolved.ok()) return resolved.status().with_context(what);
  locked.info = std::move(*resolved);
  if (locked.info->id == 0) return read_only(*locked.info).with_context(what);
  auto key = row_key(*locked.info, partition, row_id);
  if (!key.ok()) return key.status().with_context(what);
  locked.key = std::move(*key);
  locked.row = std::unique_lock(ctx.locks->row_lock(locked.key));
  auto found = current_row(*locked.info, partition, locked.key, &locked.hot);
  if (!found.ok()) return found.status().with_context(what);
  if (!found->has_value()) {
    return Status::NotFound(what + ": there is no such row");
  }
  locked.current = std::move(**found);
  return locked;
}

namespace {

// The changes of an update: a JSON object, bounded in depth (checked before
// the merge copies the values, a recursive copy).
Status check_changes(const json& changes, const std::string& what) {
  if (!changes.is_object()) {
    return Status::InvalidArgument(
        what + ": the changes must be a JSON object of column -> new value");
  }
  if (Status s = check_json_depth(changes); !s.ok()) {
    return s.with_context(what + ": the changes");
  }
  return Status::OK();
}

}  // namespace

StatusOr<Row> RowStore::update(std::string_view ns, std::string_view table,
                               Partition partition, std::string_view row_id,
                               const json& changes,
                               const WriteOptions& options) {
  const std::string what = describe("update", ns, table, partition) + " row '" +
                           keys::printable(row_id) + "'";
  KALAM_RETURN_IF_ERROR(check_partition(partition).with_context(what));
  KALAM_RETURN_IF_ERROR(check_changes(changes, what));
  return update_row(ns, table, partition, row_id, &changes, nullptr, options,
                    what);
}

StatusOr<Row> RowStore::update(std::string_view ns, std::string_view table,
                               Partition partition, std::string_view row_id,
                               const RowChangesFn& changes_for,
                               const WriteOptions& options) {
  const std::string what = describe("update", ns, table, partition) + " row '" +
                           keys::printable(row_id) + "'";
  KALAM_RETURN_IF_ERROR(check_partition(partition).with_context(what));
  if (!changes_for) {
    return Status::InvalidArgument(what + ": no function for the changes");
  }
  return update_row(ns, table, partition, row_id, nullptr, &changes_for,
                    options, what);
}

StatusOr<Row> RowStore::update_row(std::string_view ns, std::string_view table,
                                   Partition partition, std::string_view row_id,
                                   const json* fixed_changes,
                                   const RowChangesFn* changes_for,
                                   const WriteOptions& options,
                                   const std::string& what) {
  TablesContext& ctx = context();
  // Read, merge, then write expecting the row as read: the row lock keeps
  // other writers of this process out, the expectation keeps out those of
  // other processes sharing the store. One that got in between makes the
  // write a CONFLICT (nothing applied), and the update starts again from
  // the row as it is now.
  for (int attempt = 1;; ++attempt) {
    KALAM_ASSIGN_OR_RETURN(
        LockedRow locked,
        lock_existing_row(ns, table, partition, row_id, what));
    const TableInfo& info = *locked.info;
    const std::string& key = locked.key;
    const json& current = locked.current;
    const json* changes = fixed_changes;
    json computed;
    if (changes_for != nullptr) {
      StatusOr<json> asked = (*changes_for)(current);
      if (!asked.ok()) return asked.status();
      computed = std::move(*asked);
      KALAM_RETURN_IF_ERROR(check_changes(computed, what));
      changes = &computed;
    }
    json merged = current;
    for (const auto& [column, new_value] : changes->items()) {
      merged[column] = new_value;
    }
    auto canonical = info.schema.validate_row(merged);
    if (!canonical.ok()) return canonical.status().with_context(what);
    const std::string& pk = info.schema.primary_key;
    if (!pk.empty() && (*canonical)[pk] != current[pk]) {
      return Status::InvalidArgument(what + ": the primary key column '" + pk +
                                     "' cannot be changed by update (from " +
                                     truncated_json(current[pk]) + " to " +
                                     truncated_json((*canonical)[pk]) +
                                     "); delete the row and put a new one");
    }
    KALAM_ASSIGN_OR_RETURN(std::string encoded, encode_row_value(*canonical));
    WriteBatch batch;
    batch.put(ctx.data, key, encoded);
    expect_table_unchanged(ctx, info, batch);
    if (locked.hot) {
      batch.expect_value(ctx.data, key, *locked.hot);
    } else {
      // The row was read from cold storage: it is current only while no
      // hot version appears.
      batch.expect_absent(ctx.data, key);
    }
    ctx.locks->conditional_write_point("update");
    Status written = catalog_.database().write(batch, options);
    if (written.is_conflict()) {
      // The row changed, or (shared store) the table was dropped: the next
      // try resolves the table from the catalog again.
      if (store_is_shared(catalog_.database())) forget_resolved(ctx);
      if (attempt < kConditionalWriteAttempts) continue;
      return Status::Conflict(
          what +
          ": the row was changed by another writer between reading "
          "and writing it on each of " +
          std::to_string(kConditionalWriteAttempts) +
          " attempts; nothing was applied (retry later)");
    }
    KALAM_RETURN_IF_ERROR(written.with_context(what));
    ctx.locks->count_writes(info.id, 1);
    const size_t prefix_size = partition_prefix(info, partition).size();
    KALAM_ASSIGN_OR_RETURN(
        std::string id,
        keys::row_id_from_key(key_kind(info), key.substr(prefix_size)));
    return Row{.user_id = std::string(user_or_empty(partition)),
               .row_id = std::move(id),
               .data = std::move(*canonical)};
  }
}

Status RowStore::del(std::string_view ns, std::string_view table,
                     Partition partition, std::string_view row_id,
                     const WriteOptions& options) {
  const std::string what = describe("delete from", ns, table, partition) +
                           " row '" + keys::printable(row_id) + "'";
  KALAM_RETURN_IF_ERROR(check_partition(partition).with_context(what));
  TablesContext& ctx = context();
  KALAM_ASSIGN_OR_RETURN(LockedRow locked,
                         lock_existing_row(ns, table, partition, row_id, what));
  const TableInfo& info = *locked.info;
  const std::string& key = locked.key;
  // A row that may be in cold storage (or about to be: a flush is running)
  // is deleted by a tombstone that hides it there; any other row simply
  // goes. flush_batch() raises `flushing` while holding every row lock, so
  // this check and the write below cannot straddle a flush's start.
  bool tombstone = ctx.locks->flushing.load() > 0;
  if (!tombstone) {
    auto cold = ctx.cold->has_segments(cold_partition(info, partition.user));
    if (!cold.ok()) return cold.status().with_context(what);
    tombstone = *cold;
  }
  for (int attempt = 1;; ++attempt) {
    WriteBatch batch;
    if (tombstone) {
      batch.put(ctx.data, key, kTombstone);
    } else {
      batch.del(ctx.data, key);
    }
    expect_table_unchanged(ctx, info, batch);
    Status s = catalog_.database().write(batch, options);
    if (s.is_conflict() && store_is_shared(catalog_.database())) {
      // The table's catalog row changed: dropped by another process, or
      // the recorded row was stale (then write again).
      KALAM_RETURN_IF_ERROR(table_still_exists(info).with_context(what));
      if (attempt < kConditionalWriteAttempts) continue;
    }
    KALAM_RETURN_IF_ERROR(s.with_context(what));
    break;
  }
  ctx.locks->count_writes(info.id, 1);
  return Status::OK();
}

StatusOr<std::vector<std::string>> RowStore::apply(
    std::span<const RowChange> changes, const WriteOptions& options) {
  TablesContext& ctx = context();
  std::shared_lock data(ctx.locks->data);
  // Pass 1, before any lock on a row: resolve, validate and encode every
  // change. Nothing is written when one fails.
  struct Prepared {
    std::shared_ptr<const TableInfo> info;
    Partition partition;
    std::string key;
    std::optional<std::string> value;  // nullopt: a delete
    bool generated = false;            // a put under a newly generated id
    bool stream = false;               // an append to a stream table
    bool if_absent = false;            // RowChange::if_absent
    // if_absent: the key's hot value as read under the row's lock (a
    // tombstone), nullopt when the key was absent; the write expects it.
    std::optional<std::string> hot;
  };
  std::vector<Prepared> prepared;
  std::vector<std::string> ids;
  std::vector<std::mutex*> stripes;
  prepared.reserve(changes.size());
  ids.reserve(changes.size());
  for (size_t i = 0; i < changes.size(); ++i) {
    const RowChange& change = changes[i];
    const bool is_put = change.op == RowChange::Op::kPut;
    auto what = [&] {
      return "change " + std::to_string(i) + " (" +
             (is_put ? "put into " : "delete from ") + change.ns + "." +
             change.table +
             (change.user_id.empty()
                  ? std::string()
                  : " for user " + quoted_user(change.user_id)) +
             ")";
    };
    auto resolved = catalog_.resolve(change.ns, change.table);
    if (!resolved.ok()) return resolved.status().with_context(what());
    Prepared p;
    if ((*resolved)->kind == TableKind::kStream) {
      // An append: the event under a generated id (StreamTableStore's key
      // layout, table_id | row key), in the same batch as the rest.
      const TableInfo& info = **resolved;
      if (!is_put) {
        return Status::InvalidArgument(
            what() + ": " + info.qualified_name() +
            " is a stream table: events are appended and expire; they are "
            "not deleted");
      }
      if (!change.user_id.empty()) {
        return Status::InvalidArgument(
            what() + ": " + info.qualified_name() +
            " is a stream table, not a user table; leave the user id empty");
      }
      auto canonical = info.schema.validate_row(change.row);
      if (!canonical.ok()) return canonical.status().with_context(what());
      std::string row_key;
      std::string id;
      if (change.row_id.empty()) {
        row_key = keys::new_generated_row_key();
        KALAM_ASSIGN_OR_RETURN(
            id, keys::row_id_from_key(keys::RowKeyKind::kGenerated, row_key));
        p.generated = true;
      } else {
        auto key =
            keys::row_key_from_id(keys::RowKeyKind::kGenerated, change.row_id);
        if (!key.ok()) return key.status().with_context(what());
        row_key = std::move(*key);
        id = change.row_id;
      }
      p.key = keys::table_prefix(info.id) + row_key;
      auto value = encode_row_value(*canonical);
      if (!value.ok()) return value.status().with_context(what());
      p.value = std::move(*value);
      p.stream = true;
      p.if_absent = change.if_absent && !p.generated;
      if (p.if_absent) stripes.push_back(&ctx.locks->row_lock(p.key));
      p.info = std::move(*resolved);
      prepared.push_back(std::move(p));
      ids.push_back(std::move(id));
      continue;
    }
    if ((*resolved)->kind == TableKind::kUser) {
      p.partition = Partition{std::string_view(change.user_id)};
      if (Status s = check_partition(p.partition); !s.ok()) {
        return s.with_context(what());
      }
    } else if (!change.user_id.empty()) {
      return Status::InvalidArgument(
          what() + ": " + (*resolved)->qualified_name() +
          " is not a user table; leave the user id empty");
    }
    auto checked = table_for(change.ns, change.table, p.partition);
    if (!checked.ok()) return checked.status().with_context(what());
    p.info = std::move(*checked);
    const TableInfo& info = *p.info;
    if (info.id == 0) return read_only(info).with_context(what());
    const keys::RowKeyKind kind = key_kind(info);
    std::string id;
    if (is_put) {
      auto canonical = info.schema.validate_row(change.row);
      if (!canonical.ok()) return canonical.status().with_context(what());
      std::string row_key;
      switch (kind) {
        case keys::RowKeyKind::kGenerated: {
          if (!change.row_id.empty()) {
            auto key = keys::row_key_from_id(kind, change.row_id);
            if (!key.ok()) return key.status().with_context(what());
            row_key = std::move(*key);
            id = change.row_id;
            break;
          }
          row_key = keys::new_generated_row_key();
          KALAM_ASSIGN_OR_RETURN(id, keys::row_id_from_key(kind, row_key));
          p.generated = true;
          break;
        }
        case keys::RowKeyKind::kInt64: {
          const int64_t value =
              (*canonical)[info.schema.primary_key].get<int64_t>();
          row_key = keys::int64_row_key(value);
          id = std::to_string(value);
          break;
        }
        case keys::RowKeyKind::kString:
          id = (*canonical)[info.schema.primary_key]
                   .get_ref<const std::string&>();
          row_key = keys::string_row_key(id);
          break;
      }
      p.key = partition_prefix(info, p.partition) + row_key;
      if (Status s = check_key_size(info, p.partition, p.key, id); !s.ok()) {
        return s.with_context(what());
      }
      auto value = encode_row_value(*canonical);
      if (!value.ok()) return value.status().with_context(what());
      p.value = std::move(*value);
      // A newly generated id exists nowhere: nothing to check.
      p.if_absent = change.if_absent && !p.generated;
    } else {
      auto key = row_key(info, p.partition, change.row_id);
      if (!key.ok()) return key.status().with_context(what());
      p.key = std::move(*key);
      id = change.row_id;
    }
    if (!is_put || kind != keys::RowKeyKind::kGenerated ||
        !change.row_id.empty()) {
      stripes.push_back(&ctx.locks->row_lock(p.key));
    }
    prepared.push_back(std::move(p));
    ids.push_back(std::move(id));
  }
  if (prepared.empty()) return ids;
  // Pass 2, under the rows' locks: a delete writes a tombstone where the
  // row may be in cold storage (see del()), decided per partition.
  StripeLocks locked(std::move(stripes));
  // Inserts (if_absent): the row must not exist, read under its lock; the
  // write expects the key's hot state as read. Read again after a CONFLICT.
  std::vector<size_t> inserts;
  for (size_t i = 0; i < prepared.size(); ++i) {
    if (prepared[i].if_absent) inserts.push_back(i);
  }
  auto check_absent = [&]() -> Status {
    for (size_t i : inserts) {
      Prepared& p = prepared[i];
      const RowChange& change = changes[i];
      std::optional<json> current;
      if (p.stream) {
        auto value = catalog_.database().get(ctx.data, p.key);
        if (!value.ok() && !value.status().is_not_found()) {
          return value.status().with_context("change " + std::to_string(i));
        }
        if (value.ok()) current = json::object();
        p.hot.reset();
      } else {
        auto row = current_row(*p.info, p.partition, p.key, &p.hot);
        if (!row.ok()) {
          return row.status().with_context("change " + std::to_string(i));
        }
        current = std::move(*row);
      }
      if (current) {
        return Status::AlreadyExists(
            "change " + std::to_string(i) + " (insert into " +
            p.info->qualified_name() +
            (change.user_id.empty()
                 ? std::string()
                 : " for user " + quoted_user(change.user_id)) +
            "): a row with id '" + keys::printable(ids[i].substr(0, 64)) +
            "' exists; nothing was applied");
      }
    }
    return Status::OK();
  };
  KALAM_RETURN_IF_ERROR(check_absent());
  const bool flushing = ctx.locks->flushing.load() > 0;
  std::map<std::pair<uint64_t, std::string>, bool> has_cold;
  std::map<uint64_t, uint64_t> counts;
  std::vector<bool> tombstones(prepared.size(), false);
  WriteBatch batch;
  for (size_t i = 0; i < prepared.size(); ++i) {
    const Prepared& p = prepared[i];
    if (!p.stream) ++counts[p.info->id];
    if (p.value) {
      batch.put(ctx.data, p.key, *p.value);
      continue;
    }
    bool tombstone = flushing;
    if (!tombstone) {
      const auto partition_key =
          std::make_pair(p.info->id, std::string(user_or_empty(p.partition)));
      auto found = has_cold.find(partition_key);
      if (found == has_cold.end()) {
        auto cold =
            ctx.cold->has_segments(cold_partition(*p.info, p.partition.user));
        if (!cold.ok()) {
          return cold.status().with_context("change " + std::to_string(i));
        }
        found = has_cold.emplace(partition_key, *cold).first;
      }
      tombstone = found->second;
    }
    tombstones[i] = tombstone;
    if (tombstone) {
      batch.put(ctx.data, p.key, kTombstone);
    } else {
      batch.del(ctx.data, p.key);
    }
  }
  // On a store shared with other processes, each generated id is also
  // expected absent (see put()), and each table's catalog row unchanged (no
  // change lands in a table another process dropped); a conflict fails the
  // whole write, and the changes are applied again (generated ids drawn
  // again), or NOT_FOUND when a table was dropped.
  Database& db = catalog_.database();
  const bool shared = store_is_shared(db);
  std::vector<size_t> generated;
  // One change of each table: whose catalog row the write expects.
  std::map<uint64_t, const TableInfo*> tables_of_changes;
  if (shared) {
    for (size_t i = 0; i < prepared.size(); ++i) {
      if (prepared[i].generated) generated.push_back(i);
      tables_of_changes.emplace(prepared[i].info->id, prepared[i].info.get());
    }
  }
  for (int attempt = 1;; ++attempt) {
    WriteBatch conditional;
    const WriteBatch* to_write = &batch;
    if (shared || !inserts.empty()) {
      if (attempt > 1) {
        for (size_t i : generated) {
          Prepared& p = prepared[i];
          const std::string row_key = keys::new_generated_row_key();
          KALAM_ASSIGN_OR_RETURN(
              ids[i],
              keys::row_id_from_key(keys::RowKeyKind::kGenerated, row_key));
          p.key = partition_prefix(*p.info, p.partition) + row_key;
        }
      }
      // Rebuilt: the keys of generated rows may have changed. Deletes are
      // as decided above.
      size_t g = 0;
      for (size_t i = 0; i < prepared.size(); ++i) {
        const Prepared& p = prepared[i];
        if (p.value) {
          conditional.put(ctx.data, p.key, *p.value);
        } else if (tombstones[i]) {
          conditional.put(ctx.data, p.key, kTombstone);
        } else {
          conditional.del(ctx.data, p.key);
        }
        if (g < generated.size() && generated[g] == i) {
          conditional.expect_absent(ctx.data, p.key);
          ++g;
        }
        if (p.if_absent) {
          if (p.hot) {
            conditional.expect_value(ctx.data, p.key, *p.hot);
          } else {
            conditional.expect_absent(ctx.data, p.key);
          }
        }
      }
      for (const auto& [id, info] : tables_of_changes) {
        expect_table_unchanged(ctx, *info, conditional);
      }
      to_write = &conditional;
    }
    if (!inserts.empty()) ctx.locks->conditional_write_point("apply insert");
    Status s = db.write(*to_write, options);
    const std::string what =
        "apply " + std::to_string(prepared.size()) + " row changes";
    if (s.is_conflict() && (shared || !inserts.empty())) {
      for (const auto& [id, info] : tables_of_changes) {
        KALAM_RETURN_IF_ERROR(table_still_exists(*info).with_context(what));
      }
      // Another process wrote one of the inserted keys meanwhile: the
      // insert fails when the row is there now, else it is tried again.
      KALAM_RETURN_IF_ERROR(check_absent());
      if (attempt < kConditionalWriteAttempts) continue;
    }
    KALAM_RETURN_IF_ERROR(s.with_context(what));
    break;
  }
  for (const auto& [table_id, n] : counts) ctx.locks->count_writes(table_id, n);
  return ids;
}

namespace {

// The entries of `inner` whose keys lie in [lower, upper) (an empty `upper`:
// no upper bound). Cold segments have no index, so the entries before
// `lower` are read and skipped; the stream ends at the first key at or past
// `upper`.
class BoundedStream : public EntryStream {
 public:
  BoundedStream(std::unique_ptr<EntryStream> inner, std::string lower,
                std::optional<std::string> upper)
      : inner_(std::move(inner)),
        lower_(std::move(lower)),
        upper_(std::move(upper)) {}
  Status advance() override {
    do {
      KALAM_RETURN_IF_ERROR(inner_->advance());
    } while (inner_->valid() && inner_->current().key < lower_);
    return Status::OK();
  }
  bool valid() const override {
    return inner_->valid() && (!upper_ || inner_->current().key < *upper_);
  }
  KeyedEntry& current() override { return inner_->current(); }

 private:
  std::unique_ptr<EntryStream> inner_;
  std::string lower_;
  std::optional<std::string> upper_;
};

}  // namespace

StatusOr<RowCursor> RowStore::iter(std::string_view ns, std::string_view table,
                                   Partition partition,
                                   const RowIdRange* range) {
  const std::string what = describe("scan", ns, table, partition);
  KALAM_RETURN_IF_ERROR(check_partition(partition).with_context(what));
  auto resolved = table_for(ns, table, partition);
  if (!resolved.ok()) return resolved.status().with_context(what);
  std::shared_ptr<const TableInfo> info = *resolved;
  if (info->id == 0) return catalog_.scan_system_table(table);
  // No drop between resolving the table and opening its segments: the scan
  // sees the table whole, or NOT_FOUND.
  std::shared_lock data(context().locks->data);
  if (context().locks->was_dropped(info->id)) return dropped_table(*info, what);

  // The hot iterator first, then the cold segments. The iterator sees the
  // hot rows as of its creation, and a flush deletes hot rows only after
  // their segment is durable, so every row the iterator misses is in a
  // segment listed after it: a flush (or compaction) racing the scan makes
  // rows appear in both inputs, which the merge reads once, never in
  // neither. (Listing the segments first lets a flush that completes in
  // between hide its rows from both.)
  //
  // One iterator whose bounds are exactly the partition's key range: a
  // user's rows, or the table's. Nothing outside it is ever read.
  //
  // A range narrows both bounds: keys are order-preserving, and no key is a
  // prefix of another, so key + 0x00 is the least key after `key`.
  std::string prefix = partition_prefix(*info, partition);
  IteratorOptions bounds;
  bounds.lower = prefix;
  bounds.upper = keys::prefix_successor(prefix);
  if (range != nullptr) {
    if (range->lower) {
      auto key = keys::row_key_from_id(key_kind(*info), *range->lower);
      if (!key.ok()) return key.status().with_context(what + " (lower bound)");
      bounds.lower = prefix + *key;
      if (!range->lower_inclusive) bounds.lower->push_back('\0');
    }
    if (range->upper) {
      auto key = keys::row_key_from_id(key_kind(*info), *range->upper);
      if (!key.ok()) return key.status().with_context(what + " (upper bound)");
      bounds.upper = prefix + *key;
      if (range->upper_inclusive) bounds.upper->push_back('\0');
    }
    // An empty range: lower == upper (every backend reads nothing there).
    if (bounds.upper && *bounds.lower > *bounds.upper) {
      bounds.upper = bounds.lower;
    }
  }
  auto it = catalog_.database().new_iterator(context().data, bounds);
  if (!it.ok()) return it.status().with_context(what);
  auto cold = partition_cold_stream(*info, partition);
  if (!cold.ok()) return cold.status().with_context(what);
  if (range != nullptr && *cold != nullptr) {
    *cold = std::make_unique<BoundedStream>(std::move(*cold), *bounds.lower,
                                            bounds.upper);
  }
  HotLayout layout{.prefix = std::move(prefix),
                   .all_users = false,
                   .user = std::string(user_or_empty(partition)),
                   .kind = key_kind(*info)};
  return RowCursorAccess::make_views(
      merged_source(std::move(*it), std::move(layout), std::move(*cold)));
}

StatusOr<RowCursor> RowStore::iter_all_users(std::string_view ns,
                                             std::string_view table) {
  const std::string what =
      "scan all users of " + std::string(ns) + "." + std::string(table);
  auto resolved = table_for(ns, table, Partition{.user = ""});
  if (!resolved.ok()) return resolved.status().with_context(what);
  std::shared_ptr<const TableInfo> info = *resolved;
  std::shared_lock data(context().locks->data);
  if (context().locks->was_dropped(info->id)) return dropped_table(*info, what);
  // The hot iterator first, then the users with segments (see iter()); each
  // user's segments are opened later still, when the scan reaches them.
  IteratorOptions bounds;
  bounds.lower = keys::table_prefix(info->id);
  bounds.upper = keys::table_end(info->id);
  auto it = catalog_.database().new_iterator(context().data, bounds);
  if (!it.ok()) return it.status().with_context(what);
  ColdStore& cold = *context().cold;
  auto users = cold.users(cold_partition(*info, std::nullopt));
  if (!users.ok()) return users.status().with_context(what);
  // Key order of users is the bytewise order of their ids (esc() preserves
  // it); std::string compares bytes as unsigned.
  std::sort(users->begin(), users->end());
  // Runs after this (temporary) RowStore is gone: captures only values.
  // A user's segments are opened holding `data` shared, so a drop that
  // came after the scan started either waits for that or has happened:
  // then the scan ends with NOT_FOUND (its segments are being removed).
  auto open_user =
      [cold = context().cold, locks = context().locks, info, what](
          const std::string& user) -> StatusOr<std::unique_ptr<EntryStream>> {
    std::shared_lock no_drop(locks->data);
    if (locks->was_dropped(info->id)) return dropped_table(*info, what);
    KALAM_ASSIGN_OR_RETURN(auto segments,
                           cold->open_segments(cold_partition(*info, user)));
    return cold_stream(std::move(segments), keys::user_prefix(info->id, user),
                       key_kind(*info), user);
  };
  HotLayout layout{.prefix = keys::table_prefix(info->id),
                   .all_users = true,
                   .kind = key_kind(*info)};
  return RowCursorAccess::make_views(
      merged_source(std::move(*it), std::move(layout),
                    users_cold_stream(std::move(*users), open_user)));
}

StatusOr<std::vector<Row>> RowStore::collect(StatusOr<RowCursor> cursor) {
  KALAM_RETURN_IF_ERROR(cursor.status());
  std::vector<Row> rows;
  while (cursor->next()) rows.push_back(std::move(cursor->row()));
  KALAM_RETURN_IF_ERROR(cursor->status());
  return rows;
}

Status RowStore::visit_all(StatusOr<RowCursor> cursor,
                           const RowVisitor& visit) {
  KALAM_RETURN_IF_ERROR(cursor.status());
  constexpr size_t kBatch = 256;
  bool stopped = false;
  auto visit_until_stop = [&](const RowView& row) {
    if (visit(row)) return true;
    stopped = true;
    return false;
  };
  while (true) {
    KALAM_ASSIGN_OR_RETURN(size_t n,
                           cursor->next_batch(kBatch, visit_until_stop));
    if (stopped || n == 0) return Status::OK();
  }
}

// --- Flush -------------------------------------------------------------------

StatusOr<FlushBatch> RowStore::flush_batch(std::string_view ns,
                                           std::string_view table,
                                           TableKind kind) {
  const std::string what =
      "flush " + std::string(ns) + "." + std::string(table);
  TablesContext& ctx = context();
  auto resolved = catalog_.resolve(ns, table);
  if (!resolved.ok()) return resolved.status().with_context(what);
  std::shared_ptr<const TableInfo> info = *resolved;
  if (info->id == 0) return read_only(*info).with_context(what);
  if (info->kind != kind) {
    return Status::InvalidArgument(
        what + ": it is a " + std::string(table_kind_name(info->kind)) +
        " table" +
        (info->kind == TableKind::kStream
             ? " (stream tables expire events instead of flushing them)"
             : "; flush it through " +
                   std::string(info->kind == TableKind::kUser
                                   ? "UserTableStore"
                                   : "SharedTableStore")));
  }
  auto state = std::make_unique<FlushBatch::State>();
  state->table = info;
  state->locks = ctx.locks;
  state->flush_lock = std::unique_lock(ctx.locks->flush);
  Database& db = catalog_.database();
  std::optional<Snapshot> snapshot;
  {
    // No row write is between checking `flushing` and writing (see del()),
    // nor between the snapshot and the write count it goes with.
    StripeLocks all(ctx.locks->all_row_locks());
    ++ctx.locks->flushing;
    state->counted = true;
    if (db.plugin().has(KALAM_CAP_SNAPSHOTS)) {
      auto taken = db.snapshot();
      if (!taken.ok()) return taken.status().with_context(what);
      snapshot = std::move(*taken);
    }
    std::lock_guard counts(ctx.locks->counts_mu);
    state->writes_at_snapshot = ctx.locks->writes_since_flush[info->id];
  }
  IteratorOptions bounds;
  bounds.lower = keys::table_prefix(info->id);
  bounds.upper = keys::table_end(info->id);
  bounds.snapshot = snapshot ? &*snapshot : nullptr;
  auto it = db.new_iterator(ctx.data, bounds);
  if (!it.ok()) return it.status().with_context(what);
  const keys::RowKeyKind kind_of_key = key_kind(*info);
  for (it->seek_to_first(); it->valid(); it->next()) {
    std::string_view rest = it->key();
    uint64_t id = 0;
    FlushEntry entry;
    if (!keys::consume_u64(rest, id) || id != info->id ||
        (info->kind == TableKind::kUser &&
         !keys::consume_escaped(rest, entry.user_id))) {
      return Status::Corruption(what + ": malformed row key '" +
                                keys::printable(it->key()) + "'");
    }
    KALAM_ASSIGN_OR_RETURN(entry.row_id,
                           keys::row_id_from_key(kind_of_key, rest));
    KALAM_ASSIGN_OR_RETURN(entry.row, decode_hot_value(it->value(), it->key()));
    state->entries.push_back(std::move(entry));
    state->keys.emplace_back(it->key());
    state->values.emplace_back(it->value());
  }
  if (!it->status().ok()) return it->status().with_context(what);
  return FlushBatch(std::move(state));
}

Status RowStore::write_cold(FlushBatch& batch) {
  FlushBatch::State& state = *batch.state_;
  if (state.written) return Status::OK();
  const TableInfo& info = *state.table;
  // Held while segments are written, with the table checked to exist: a
  // drop waits for the writing to end (and then removes what it wrote),
  // and a flush of a table dropped since its batch was read writes nothing
  // (it used to re-create the dropped table's directory, with a segment per
  // user that nothing read or deleted).
  TablesContext& ctx = context();
  std::shared_lock data(ctx.locks->data);
  auto now = catalog_.resolve(info.ns, info.name);
  if (ctx.locks->was_dropped(info.id) ||
      (!now.ok() && now.status().is_not_found()) ||
      (now.ok() && (*now)->id != info.id)) {
    return Status::NotFound("flush " + info.qualified_name() +
                            ": the table was dropped during the flush; "
                            "nothing was written to cold storage");
  }
  if (!now.ok()) {
    return now.status().with_context("flush " + info.qualified_name());
  }
  const std::vector<FlushEntry>& entries = state.entries;
  FlushResult& result = state.result;
  // Entries are in key order, so each user's rows are contiguous.
  for (size_t begin = 0; begin < entries.size();) {
    const std::string& user = entries[begin].user_id;
    std::vector<ColdRecord> records;
    size_t end = begin;
    for (; end < entries.size() && entries[end].user_id == user; ++end) {
      records.push_back({entries[end].row_id, entries[end].row});
    }
    const bool is_user = info.kind == TableKind::kUser;
    const std::optional<std::string_view> owner =
        is_user ? std::optional<std::string_view>(user) : std::nullopt;
    // For error messages only: built on failure.
    auto of_user = [&] {
      return is_user ? " of user " + quoted_user(user) : std::string();
    };
    Status s = ctx.cold->write_segment(cold_partition(info, owner), records);
    if (!s.ok()) {
      return s.with_context("flush " + info.qualified_name() +
                            ": write the cold segment" + of_user());
    }
    ++result.segments;
    for (const ColdRecord& r : records)
      ++(r.row ? result.rows : result.deletions);
    s = compact_if_needed(info, owner, result);
    if (!s.ok()) {
      return s.with_context("flush " + info.qualified_name() +
                            ": compact the cold segments" + of_user());
    }
    begin = end;
  }
  state.written = true;
  return Status::OK();
}

Status RowStore::compact_if_needed(const TableInfo& info,
                                   std::optional<std::string_view> user,
                                   FlushResult& result) {
  TablesContext& ctx = context();
  if (ctx.max_cold_segments == 0) return Status::OK();
  const ColdPartition partition = cold_partition(info, user);
  KALAM_ASSIGN_OR_RETURN(size_t count, ctx.cold->segment_count(partition));
  if (count <= ctx.max_cold_segments) return Status::OK();
  // The partition's rows as a read sees them: newest segment wins, and
  // deletions go (nothing older than the merged segment is left for them to
  // hide). The hot store still wins over the result, as over any segment.
  KALAM_ASSIGN_OR_RETURN(auto segments, ctx.cold->open_segments(partition));
  auto merged = cold_stream(std::move(segments), "", key_kind(info),
                            std::string(user.value_or("")));
  std::vector<ColdRecord> live;
  for (;;) {
    KALAM_RETURN_IF_ERROR(merged->advance());
    if (!merged->valid()) break;
    KeyedEntry& entry = merged->current();
    if (entry.deleted) continue;
    live.push_back({std::move(entry.row.row_id), std::move(entry.row.data)});
  }
  KALAM_RETURN_IF_ERROR(ctx.cold->replace_segments(partition, live));
  ++result.compacted;
  return Status::OK();
}

StatusOr<FlushResult> RowStore::delete_flushed(FlushBatch& batch) {
  FlushBatch::State& state = *batch.state_;
  const TableInfo& info = *state.table;
  const std::string what = "flush " + info.qualified_name() +
                           ": delete the flushed rows from the hot store";
  if (!state.written) {
    return Status::InvalidArgument(
        what +
        ": write_cold() has not written the batch's segments, and "
        "deleting the rows now would lose them");
  }
  TablesContext& ctx = context();
  std::shared_lock data(ctx.locks->data);
  auto now = catalog_.resolve(info.ns, info.name);
  if (!now.ok() || (*now)->id != info.id) {
    return Status::NotFound(what + ": the table was dropped during the flush");
  }
  // Every row write of this process waits while the keys are compared and
  // deleted, so a key is deleted only if it still holds exactly what was
  // flushed. Each delete also expects that value, which keeps the promise
  // against writers of other processes sharing the store: a key one of
  // them changed after the comparison fails its expectation, and stays.
  StripeLocks all(ctx.locks->all_row_locks());
  Database& db = catalog_.database();
  FlushResult& result = state.result;
  // Deletes go in batches that fit the store's per-write limits (each
  // delete with its expectation). A batch need not be atomic with the
  // others: every key deleted is in a durable segment already, and a key
  // left hot by a failure is read once and moved again by the next flush.
  const WriteLimits& limits = db.write_limits();
  size_t per_write = 1024;
  if (limits.max_ops != 0)
    per_write = std::min<uint64_t>(per_write, limits.max_ops);
  if (limits.max_expectations != 0) {
    per_write = std::min<uint64_t>(per_write, limits.max_expectations);
  }
  uint64_t removed = 0;
  uint64_t kept = 0;
  // Writes the deletes of `candidates` (indexes into state.keys). On a
  // CONFLICT (another process changed one of the keys after it was
  // compared) the candidates are compared again, the changed ones kept,
  // and the rest written again; after kConditionalWriteAttempts rounds
  // the remaining keys simply stay hot (always safe: a hot row wins).
  auto write_deletes = [&](std::vector<size_t> candidates) -> Status {
    for (int attempt = 1; !candidates.empty(); ++attempt) {
      if (attempt > kConditionalWriteAttempts) {
        kept += candidates.size();
        return Status::OK();
      }
      if (attempt > 1) {
        std::vector<std::string_view> again;
        for (size_t i : candidates) again.emplace_back(state.keys[i]);
        auto current = db.multi_get(ctx.data, again);
        if (!current.ok()) return current.status();
        std::vector<size_t> still;
        for (size_t j = 0; j < candidates.size(); ++j) {
          const std::optional<std::string>& value = (*current)[j];
          if (value && *value == state.values[candidates[j]]) {
            still.push_back(candidates[j]);
          } else {
            ++kept;
          }
        }
        candidates = std::move(still);
        if (candidates.empty()) return Status::OK();
      }
      WriteBatch deletes;
      for (size_t i : candidates) {
        deletes.del(ctx.data, state.keys[i]);
        deletes.expect_value(ctx.data, state.keys[i], state.values[i]);
      }
      ctx.locks->conditional_write_point("delete_flushed");
      // Not synced: if a crash loses the deletes, the rows are hot again
      // and still read once (the next flush moves them again).
      Status s = db.write(deletes);
      if (s.ok()) {
        removed += candidates.size();
        return Status::OK();
      }
      if (!s.is_conflict()) return s;
    }
    return Status::OK();
  };
  std::vector<size_t> candidates;
  uint64_t candidate_bytes = 0;
  auto flush_candidates = [&]() -> Status {
    Status s = write_deletes(std::move(candidates));
    candidates.clear();
    candidate_bytes = 0;
    return s;
  };
  for (size_t begin = 0; begin < state.keys.size(); begin += 1024) {
    const size_t end = std::min(state.keys.size(), begin + 1024);
    std::vector<std::string_view> chunk(state.keys.begin() + begin,
                                        state.keys.begin() + end);
    auto current = db.multi_get(ctx.data, chunk);
    if (!current.ok()) {
      return current.status().with_context(what);
    }
    for (size_t i = begin; i < end; ++i) {
      const std::optional<std::string>& value = (*current)[i - begin];
      if (!value || *value != state.values[i]) {
        ++kept;
        continue;
      }
      // A delete and its expectation: the key twice and the value.
      const uint64_t bytes = 2 * state.keys[i].size() + state.values[i].size();
      if (!candidates.empty() &&
          (candidates.size() >= per_write ||
           (limits.max_bytes != 0 &&
            candidate_bytes + bytes > limits.max_bytes))) {
        if (Status s = flush_candidates(); !s.ok()) {
          result.removed = removed;
          result.kept = kept;
          return s.with_context(what);
        }
      }
      candidates.push_back(i);
      candidate_bytes += bytes;
    }
  }
  if (Status s = flush_candidates(); !s.ok()) {
    result.removed = removed;
    result.kept = kept;
    return s.with_context(what);
  }
  result.removed = removed;
  result.kept = kept;
  {
    // What is left to count is every write since the snapshot: to the kept
    // keys, and to keys the batch never saw (it used to be the kept keys
    // only, so a row-count policy missed the new rows written meanwhile).
    std::lock_guard lock(ctx.locks->counts_mu);
    uint64_t& count = ctx.locks->writes_since_flush[info.id];
    count = count >= state.writes_at_snapshot ? count - state.writes_at_snapshot
                                              : result.kept;
  }
  return result;
}

StatusOr<FlushResult> RowStore::flush(std::string_view ns,
                                      std::string_view table, TableKind kind) {
  KALAM_ASSIGN_OR_RETURN(FlushBatch batch, flush_batch(ns, table, kind));
  KALAM_RETURN_IF_ERROR(write_cold(batch));
  return delete_flushed(batch);
}

}  // namespace kalam::tables::detail
